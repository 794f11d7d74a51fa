// Perl's Text::ParseWords::shellwords(), which GNU parallel splits $PARALLEL and its profile
// lines with.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace forkpool::cli {

// The words of `line`: split on whitespace; "..." with every \x unescaped, '...' kept as
// written (a \' inside does not end it), \x unescaped outside quotes. Unbalanced quotes or a
// trailing lone backslash give no words at all, as shellwords() returns an empty list.
std::vector<std::string> perl_shellwords(std::string_view line);

}  // namespace forkpool::cli
