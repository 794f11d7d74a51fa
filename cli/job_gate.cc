#include "cli/job_gate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <utility>
#include <vector>

#include "cli/jobs_file.h"
#include "cli/option_values.h"
#include "cli/pipe_options.h"
#include "cli/resource_probe.h"

namespace forkpool::cli {
namespace {

// --load's value, as GNU parallel's compute_max_loadavg() reads it (already checked by
// check_load()).
double max_load(const std::string& spec, unsigned cpus) {
  const std::string_view v = spec;
  double load = 0;
  if (v[0] == '+') {
    load = cpus + to_double(v.substr(1));
  } else if (v[0] == '-') {
    load = cpus - to_double(v.substr(1));
  } else if (v.back() == '%') {
    load = cpus * to_double(v.substr(0, v.size() - 1)) / 100;
  } else {
    load = to_double(v);
  }
  return std::max(load, 0.01);
}

// A byte count the way people read it: 1.5G, 512M, 100k.
std::string human_bytes(double bytes) {
  const char* units[] = {"", "k", "M", "G", "T", "P"};
  int unit = 0;
  while (bytes >= 1024 && unit < 5) {
    bytes /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%s", bytes, units[unit]);
  return text;
}

std::vector<std::string> words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// A --load file's text, its final newline (which Perl's `$` allows) taken off; nullopt if it
// cannot be read.
std::optional<std::string> load_file_text(const std::string& path) {
  std::optional<std::string> text = read_value_file(path);
  if (text && !text->empty() && text->back() == '\n') text->pop_back();
  return text;
}

}  // namespace

bool names_load_file(const std::string& spec) {
  try {
    check_load(spec);
    return false;
  } catch (const UsageError&) {
  }
  return names_regular_file(spec);
}

JobGate::JobGate(const ResourceLimits& limits, unsigned cpus, std::string shell)
    : active_(limits.any()),
      memfree_(limits.memfree),
      cpus_(std::max(cpus, 1u)),
      shell_(std::move(shell)) {
  if (names_load_file(limits.load)) {
    load_file_ = limits.load;
    const std::optional<std::string> text = load_file_text(load_file_);
    if (!text) throw UsageError("--load " + load_file_ + ": cannot read it");
    try {
      check_load(*text);
    } catch (const UsageError&) {
      throw UsageError("--load " + load_file_ + ": the file holds '" + text->substr(0, 40) +
                       "', not N, N.N, N%, +N or -N");
    }
    load_text_ = *text;
    max_load_ = max_load(load_text_, cpus_);
  } else if (!limits.load.empty()) {
    max_load_ = max_load(limits.load, cpus_);
  }
  if (limits.limit.empty()) return;
  const std::vector<std::string> w = words(limits.limit);
  const std::string& name = w.empty() ? limits.limit : w[0];
  if (name == "io") {
    if (w.size() != 2 || !is_decimal(w[1]))
      bad_value("--limit", limits.limit, "expected 'io N' (the most %util a disk may show)");
    limit_io_ = to_double(w[1]);
    return;
  }
  if (name != "mem" && name != "load") {
    limit_ = limits.limit;
    return;
  }
  const std::string form =
      name == "mem" ? "expected 'mem SIZE' (e.g. mem 1G)" : "expected 'load N'";
  if (w.size() != 2) bad_value("--limit", limits.limit, form);
  try {
    if (name == "mem") {
      limit_mem_ = parse_memfree(w[1]);
    } else {
      check_load(w[1]);
      limit_load_ = max_load(w[1], std::max(cpus, 1u));
    }
  } catch (const UsageError&) {
    bad_value("--limit", limits.limit, form);
  }
}

// --load FILE: the value the file holds now; one that is unreadable or not a --load value
// (being written, say) leaves the last.
void JobGate::follow_load_file() {
  const std::optional<std::string> text = load_file_text(load_file_);
  if (!text || *text == load_text_) return;
  try {
    check_load(*text);
  } catch (const UsageError&) {
    return;
  }
  load_text_ = *text;
  max_load_ = max_load(load_text_, cpus_);
}

// GNU parallel's "io" script runs `iostat -x 1 2` in the background and waits while the
// busiest device's %util in its second report is above the limit, or while there is no report
// yet. Here the same figure comes from /proc/diskstats, read at most once a second: no
// process, and the first answer after a second, as there.
JobGate::Answer JobGate::io_rule(double max_util) {
  using Clock = std::chrono::steady_clock;
  const auto now = Clock::now();
  if (!disks_ || now - disks_->first >= std::chrono::seconds(1)) {
    DiskTicks ticks = disk_ticks();
    if (disks_) {
      const double elapsed = std::chrono::duration<double, std::milli>(now - disks_->first).count();
      disk_util_ = busiest_disk_percent(disks_->second, ticks, elapsed);
    }
    disks_.emplace(now, std::move(ticks));
  }
  if (!disk_util_) {
    reason_ = "--limit io: measuring the disks' use";
    return Answer::kWait;
  }
  if (max_util < *disk_util_) {
    std::ostringstream why;
    why << "a disk is " << *disk_util_ << "% busy, the --limit io is " << max_util;
    reason_ = why.str();
    return Answer::kWait;
  }
  return Answer::kStart;
}

JobGate::Answer JobGate::check() {
  if (!load_file_.empty()) follow_load_file();
  Answer answer = Answer::kStart;
  auto worst = [&answer](Answer a) {
    if (a == Answer::kStopYoungest || answer == Answer::kStart) answer = a;
  };
  if (memfree_ > 0) worst(memory_rule(memfree_));
  if (answer != Answer::kStopYoungest && max_load_) worst(load_rule(*max_load_, true));
  if (answer != Answer::kStopYoungest && limit_mem_) worst(memory_rule(*limit_mem_));
  if (answer != Answer::kStopYoungest && limit_load_) worst(load_rule(*limit_load_, false));
  if (answer != Answer::kStopYoungest && limit_io_) worst(io_rule(*limit_io_));
  if (answer != Answer::kStopYoungest && !limit_.empty()) worst(limit_rule());
  const bool waiting = answer != Answer::kStart;
  began_waiting_ = waiting && !waiting_;
  waiting_ = waiting;
  return answer;
}

JobGate::Answer JobGate::memory_rule(double size) {
  const double free = memory_free();
  if (free >= size) return Answer::kStart;
  reason_ = "less than " + human_bytes(size) + " of memory free (" + human_bytes(free) + ")";
  return free < size / 2 ? Answer::kStopYoungest : Answer::kWait;
}

// --load waits at MAX busy threads; --limit's "load N" only above N, as GNU parallel's script.
JobGate::Answer JobGate::load_rule(double max, bool equal_is_too_high) {
  const double busy = busy_threads();
  if (busy < max || (!equal_is_too_high && busy == max)) return Answer::kStart;
  std::ostringstream why;
  why << busy << " threads running, the load limit is " << max;
  reason_ = why.str();
  return Answer::kWait;
}

JobGate::Answer JobGate::limit_rule() {
  const int status = run_limit_command(shell_, limit_);
  if (status == 0) return Answer::kStart;
  reason_ = "--limit command exited with " + std::to_string(status);
  return status == 2 ? Answer::kStopYoungest : Answer::kWait;
}

std::chrono::milliseconds JobGate::next_check_in() {
  const std::chrono::milliseconds now = interval_;
  interval_ = std::min(interval_ + interval_ / 2, kLongestInterval);
  return now;
}

}  // namespace forkpool::cli
