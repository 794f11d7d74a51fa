// The value parsers behind `forkpool run`'s options: counts with GNU parallel's multipliers,
// --halt, --timeout, -j, --tagstring's escapes. Each throws UsageError naming the option and
// the value.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "cli/run_options.h"

namespace forkpool::cli {

bool is_digits(std::string_view s);
// "12" or "12.5": GNU parallel's /^\d+(\.\d+)?$/.
bool is_decimal(std::string_view s);
// Throws UsageError("invalid value 'VALUE' for OPTION: WHY").
[[noreturn]] void bad_value(std::string_view option, std::string_view value, std::string_view why);
// A decimal number already checked for its syntax; inf when it overflows, 0 when it underflows.
double to_double(std::string_view text);
// A count as -n / -N / -s / --retries take it: digits, optionally followed by one of GNU
// parallel's multipliers (k = 1000, K = 1024, M = 1024^2, G = 1024^3, m = 10^6, g = 10^9).
std::size_t parse_count(std::string_view option, std::string_view value);
// --halt: GNU parallel's parse_halt(), including the numeric shorthands and "N%".
HaltPolicy parse_halt(const std::string& value);
// --timeout: GNU parallel's /^\d+(\.\d+)?%?$|^(\d+(\.\d+)?[dhms])+$/i.
TimeoutSpec parse_timeout(const std::string& value);
// -j: the forms resolve_jobs() accepts.
void check_jobs(std::string_view option, const std::string& value);
// --nice: a whole number, signed (GNU parallel's Getopt "nice=i").
int parse_nice(const std::string& value);
// --termseq: SIGNAL,MS,SIGNAL,MS... (names with or without SIG, or numbers), as a flat list
// of signal numbers and milliseconds; a missing last grace is 0.
std::vector<int> parse_termseq(const std::string& value);
// --memfree: a size as --block takes it (1G, 512M, 100k...); 0 turns the rule off.
double parse_memfree(const std::string& value);
// --load: N, N.N, N%, +N or -N (GNU parallel's forms; a file holding one: cli/job_gate.h).
void check_load(const std::string& value);
// Expands \t \n \r \NNN (octal) and \N in --tagstring, as GNU parallel's unquote_printf().
std::string unquote_printf(const std::string& text);

}  // namespace forkpool::cli
