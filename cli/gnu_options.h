// The options of GNU parallel 20221122, the reference forkpool run follows.
#pragma once

#include <span>
#include <string_view>

namespace forkpool::cli {

// Getopt::Long specs, one per option: "keep-order|keeporder|k", "jobs|j=s", "replace|i:s".
std::span<const std::string_view> gnu_option_specs();

}  // namespace forkpool::cli
