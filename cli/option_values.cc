#include "cli/option_values.h"

#include <signal.h>
#include <string.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <vector>

#include "cli/jobs_file.h"
#include "cli/pipe_options.h"
#include "forkpool/exec.h"
#include "orchestrator/cpu_count.h"

namespace forkpool::cli {

bool is_digits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// "12" or "12.5": GNU parallel's /^\d+(\.\d+)?$/.
bool is_decimal(std::string_view s) {
  std::size_t dot = s.find('.');
  if (dot == std::string_view::npos) return is_digits(s);
  return is_digits(s.substr(0, dot)) && is_digits(s.substr(dot + 1));
}

[[noreturn]] void bad_value(std::string_view option, std::string_view value, std::string_view why) {
  throw UsageError("invalid value '" + std::string(value) + "' for " + std::string(option) + ": " +
                   std::string(why));
}

// A decimal number already checked for its syntax; inf when it overflows, 0 when it underflows
// (std::stod throws std::out_of_range for both).
double to_double(std::string_view text) { return std::strtod(std::string(text).c_str(), nullptr); }

// A count as -n / -N / -s / --retries take it: digits, optionally followed by one of GNU
// parallel's multipliers (k = 1000, K = 1024, M = 1024^2, G = 1024^3, m = 10^6, g = 10^9).
std::size_t parse_count(std::string_view option, std::string_view value) {
  std::string_view digits = value;
  std::size_t multiplier = 1;
  if (!value.empty() && !std::isdigit(static_cast<unsigned char>(value.back()))) {
    switch (value.back()) {
      case 'k':
        multiplier = 1000;
        break;
      case 'K':
        multiplier = 1024;
        break;
      case 'm':
        multiplier = 1000 * 1000;
        break;
      case 'M':
        multiplier = 1024 * 1024;
        break;
      case 'g':
        multiplier = 1000 * 1000 * 1000;
        break;
      case 'G':
        multiplier = 1024 * 1024 * 1024;
        break;
      default:
        bad_value(option, value, "expected a non-negative whole number");
    }
    digits.remove_suffix(1);
  }
  if (!is_digits(digits) || digits.size() > 12) {
    bad_value(option, value, "expected a non-negative whole number");
  }
  const std::size_t count = std::stoull(std::string(digits));
  if (count > std::numeric_limits<std::size_t>::max() / multiplier) {
    bad_value(option, value, "the number is too large");
  }
  return count * multiplier;
}

// --halt: GNU parallel's parse_halt(), including the numeric shorthands and "N%".
HaltPolicy parse_halt(const std::string& value) {
  std::string spec = value;
  if (spec == "0") spec = "never";
  if (spec == "1") spec = "soon,fail=1";
  if (spec == "2") spec = "now,fail=1";
  if (spec == "-1") spec = "soon,success=1";
  if (spec == "-2") spec = "now,success=1";
  if (spec.size() > 1 && spec.back() == '%' &&
      is_digits(std::string_view(spec).substr(0, spec.size() - 1))) {
    spec = "soon,fail=" + spec;
  }
  // GNU parallel splits on both separators: when, condition, threshold.
  std::vector<std::string> parts(1);
  for (char c : spec) {
    if (c == ',' || c == '=') {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  HaltPolicy halt;
  const std::string& when = parts[0];
  if (when == "never") return halt;
  if (when == "soon") {
    halt.when = HaltPolicy::When::kSoon;
  } else if (when == "now") {
    halt.when = HaltPolicy::When::kNow;
  } else {
    bad_value("--halt", value, "expected never, soon or now (e.g. now,fail=1)");
  }
  const std::string why = parts.size() > 1 ? parts[1] : "";
  if (why == "fail") {
    halt.condition = HaltPolicy::Condition::kFail;
  } else if (why == "success") {
    halt.condition = HaltPolicy::Condition::kSuccess;
  } else if (why == "done") {
    halt.condition = HaltPolicy::Condition::kDone;
  } else {
    bad_value("--halt", value, "'" + when + "' must be followed by ,fail ,success or ,done");
  }
  std::string_view threshold = parts.size() > 2 ? std::string_view(parts[2]) : std::string_view();
  if (!threshold.empty() && threshold.back() == '%') {
    threshold.remove_suffix(1);
    halt.percent = true;
  }
  if (!is_digits(threshold) || threshold.size() > 12) {
    bad_value("--halt", value, "expected =N or =N% after " + when + "," + why);
  }
  halt.threshold = to_double(threshold);
  return halt;
}

// --timeout: GNU parallel's /^\d+(\.\d+)?%?$|^(\d+(\.\d+)?[dhms])+$/i.
TimeoutSpec parse_timeout(const std::string& value) {
  TimeoutSpec timeout;
  std::string_view number = value;
  if (!number.empty() && number.back() == '%') {
    number.remove_suffix(1);
    if (!is_decimal(number)) bad_value("--timeout", value, "expected seconds or a percentage");
    timeout.percent = true;
    timeout.value = to_double(number);
    if (!std::isfinite(timeout.value)) bad_value("--timeout", value, "the number is too large");
    return timeout;
  }
  std::optional<double> seconds = parse_duration(value);
  if (!seconds) bad_value("--timeout", value, "expected seconds or a percentage");
  timeout.value = *seconds;
  return timeout;
}

// -j: the forms resolve_jobs() accepts besides a file (cli/jobs_file.h).
void check_jobs(std::string_view option, const std::string& value) {
  std::string_view v = value;
  if (!v.empty() && (v[0] == '+' || v[0] == '-')) {
    if (is_digits(v.substr(1))) return;
  } else if (!v.empty() && v.back() == '%') {
    if (is_decimal(v.substr(0, v.size() - 1))) return;
  } else if (is_digits(v)) {
    return;
  }
  bad_value(option, value, "expected N, N%, +N, -N or a file holding one");
}

int parse_nice(const std::string& value) {
  std::string_view digits = value;
  const bool negative = !digits.empty() && digits[0] == '-';
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) digits.remove_prefix(1);
  if (!is_digits(digits)) bad_value("--nice", value, "expected a whole number (e.g. 10)");
  // The kernel takes -20..19; anything past that is clamped there, as by setpriority(2).
  const double n = std::min(to_double(digits), 100.0);
  return static_cast<int>(negative ? -n : n);
}

namespace {

// A signal as Perl's kill() takes it: TERM, SIGTERM (any case) or a number.
std::optional<int> signal_number(std::string_view text) {
  if (is_digits(text)) {
    if (text.size() > 3) return std::nullopt;
    const int n = std::stoi(std::string(text));
    if (n >= 1 && n < NSIG) return n;
    return std::nullopt;
  }
  std::string name(text);
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name.rfind("SIG", 0) == 0) name.erase(0, 3);
  for (int n = 1; n < NSIG; ++n) {
    const char* abbrev = ::sigabbrev_np(n);
    if (abbrev != nullptr && name == abbrev) return n;
  }
  return std::nullopt;
}

}  // namespace

std::vector<int> parse_termseq(const std::string& value) {
  std::vector<std::string_view> parts;
  const std::string_view v = value;
  for (std::size_t start = 0; start <= v.size();) {
    const std::size_t comma = std::min(v.find(',', start), v.size());
    parts.push_back(v.substr(start, comma - start));
    start = comma + 1;
  }
  const char* const form = "expected SIGNAL,MS,SIGNAL,MS... (e.g. TERM,200,TERM,100,KILL,25)";
  if (v.empty() || (parts.size() + 1) / 2 > kMaxStopSteps) bad_value("--termseq", value, form);
  std::vector<int> sequence;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i % 2 == 0) {
      const std::optional<int> signal = signal_number(parts[i]);
      if (!signal) bad_value("--termseq", value, "unknown signal '" + std::string(parts[i]) + "'");
      sequence.push_back(*signal);
      continue;
    }
    if (!is_decimal(parts[i]) || parts[i].size() > 9)
      bad_value("--termseq", value, "expected milliseconds after each signal");
    sequence.push_back(static_cast<int>(std::lround(to_double(parts[i]))));
  }
  return sequence;
}

double parse_memfree(const std::string& value) {
  if (value == "0") return 0;
  const double size = parse_block_size("--memfree", value);
  if (size < 0) bad_value("--memfree", value, "expected a size such as 1G, 512M or 100k");
  return size;
}

void check_load(const std::string& value) {
  std::string_view v = value;
  if (!v.empty() && (v[0] == '+' || v[0] == '-') && is_digits(v.substr(1))) return;
  if (v.size() > 1 && v.back() == '%' && is_digits(v.substr(0, v.size() - 1))) return;
  if (is_decimal(v)) return;
  bad_value("--load", value, "expected N, N.N, N%, +N or -N");
}

// Expands \t \n \r \NNN (octal) and \N in --tagstring, as GNU parallel's unquote_printf().
std::string unquote_printf(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '\\' || i + 1 == text.size()) {
      out += c;
      continue;
    }
    char next = text[i + 1];
    if (next == 't' || next == 'n' || next == 'r') {
      out += next == 't' ? '\t' : next == 'n' ? '\n' : '\r';
      ++i;
      continue;
    }
    std::size_t digits = 0;
    while (digits < 3 && i + 1 + digits < text.size() && text[i + 1 + digits] >= '0' &&
           text[i + 1 + digits] <= '7') {
      ++digits;
    }
    if (digits == 3 || digits == 1) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, digits), nullptr, 8));
      i += digits;
      continue;
    }
    out += c;
  }
  return out;
}

std::optional<double> parse_duration(const std::string& text) {
  if (is_decimal(text)) {
    const double seconds = to_double(text);
    if (!std::isfinite(seconds)) return std::nullopt;
    return seconds;
  }
  // One or more NUMBER UNIT pairs, summed: GNU parallel's multiply_time_units().
  double total = 0;
  std::size_t i = 0;
  if (text.empty()) return std::nullopt;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    std::string number = text.substr(start, i - start);
    if (!is_decimal(number) || i == text.size()) return std::nullopt;
    double unit = 0;
    switch (std::tolower(static_cast<unsigned char>(text[i]))) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return std::nullopt;
    }
    total += to_double(number) * unit;
    ++i;
  }
  if (!std::isfinite(total)) return std::nullopt;
  return total;
}

unsigned resolve_jobs(const std::string& spec, unsigned cpus) {
  constexpr unsigned kMaxSlots = 250;  // "-j 0": as many as possible, within reason
  if (names_jobs_file(spec)) return read_jobs_file(spec, cpus);
  check_jobs("-j", spec);
  cpus = std::max(cpus, 1u);
  double slots = 0;
  if (spec[0] == '+') {
    slots = cpus + to_double(spec.substr(1));
  } else if (spec[0] == '-') {
    // GNU parallel stops with "Cannot run any jobs" when this is 0 or less; run one instead.
    slots = static_cast<double>(cpus) - to_double(spec.substr(1));
  } else if (spec.back() == '%') {
    // Rounded up, as GNU parallel does: 51% of 2 CPUs is 2 slots, 50% is 1.
    slots = std::ceil(cpus * to_double(spec.substr(0, spec.size() - 1)) / 100);
  } else {
    if (spec.size() > 9) return kMaxSlots;
    slots = to_double(spec);
    if (slots == 0) return kMaxSlots;
  }
  if (slots < 1) return 1;
  if (slots > kMaxSlots) return kMaxSlots;
  return static_cast<unsigned>(slots);
}

unsigned available_cpus() { return orchestrator::usable_cpus(); }
}  // namespace forkpool::cli
