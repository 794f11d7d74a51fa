// Which options forkpool bench accepts, asked of its parser: its own, and those of forkpool
// run's that still mean something in a sweep. The manual page and the completion are checked
// against this.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "cli/bench_options.h"
#include "cli/run_options.h"

namespace forkpool::cli {

// Each forkpool run option is tried on bench's parser with a job after it; bench refuses the
// others with "has no meaning in forkpool bench" (any other refusal is returned in `errors`).
inline std::vector<OptionName> bench_accepted_options(std::vector<std::string>* errors = nullptr) {
  std::vector<OptionName> accepted = bench_option_names();
  for (const OptionName& o : run_option_names()) {
    // A name bench has for an option of its own (--csv) reaches forkpool run's parser only
    // after "--": bench's is the one accepted here.
    if (std::any_of(accepted.begin(), accepted.end(),
                    [&](const OptionName& own) { return own.name == o.name; }))
      continue;
    std::vector<std::string> words{o.name};
    // A value the option accepts: a number for most, a mode for --trim.
    if (o.takes_value)
      words.push_back(o.name == "--trim" ? "lr" : o.name == "--parens" ? "{==}" : "1");
    words.insert(words.end(), {"true", ":::", "a"});
    try {
      parse_bench_options(words);
      accepted.push_back(o);
    } catch (const UsageError& e) {
      const std::string what = e.what();
      if (errors && what.find("has no meaning in forkpool bench") == std::string::npos) {
        errors->push_back(o.name + ": " + what);
      }
    }
  }
  return accepted;
}

}  // namespace forkpool::cli
