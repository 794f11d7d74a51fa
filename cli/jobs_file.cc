// -j FILE: GNU parallel's user_requested_processes() on a file's text, and its
// changed_procs_file() check.
#include "cli/jobs_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "cli/option_values.h"
#include "cli/run_options.h"

namespace forkpool::cli {

std::optional<std::string> read_value_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool names_regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool names_jobs_file(const std::string& spec) {
  try {
    check_jobs("-j", spec);
    return false;  // N, N%, +N or -N: a value, even if a file of that name exists
  } catch (const UsageError&) {
  }
  return names_regular_file(spec);
}

namespace {

unsigned slots_in(const std::string& path, std::string text, unsigned cpus) {
  if (!text.empty() && text.back() == '\n') text.pop_back();
  const std::string_view v = text;
  const bool valid =
      !v.empty() && (((v[0] == '+' || v[0] == '-') && is_digits(v.substr(1))) ||
                     (v.back() == '%' && is_decimal(v.substr(0, v.size() - 1))) || is_digits(v));
  if (!valid)
    throw UsageError("-j " + path + ": the file holds '" + text.substr(0, 40) +
                     "', not N, N%, +N or -N");
  return resolve_jobs(text, cpus);
}

}  // namespace

unsigned read_jobs_file(const std::string& path, unsigned cpus) {
  const std::optional<std::string> text = read_value_file(path);
  if (!text) throw UsageError("-j " + path + ": cannot read it: " + std::strerror(errno));
  return slots_in(path, *text, cpus);
}

JobsFile::JobsFile(std::string path, unsigned cpus)
    : path_(std::move(path)), cpus_(cpus), text_(read_value_file(path_)) {
  if (!text_) throw UsageError("-j " + path_ + ": cannot read it: " + std::strerror(errno));
  slots_ = slots_in(path_, *text_, cpus_);
}

std::optional<unsigned> JobsFile::changed(std::string& problem) {
  std::optional<std::string> text = read_value_file(path_);
  if (text == text_) return std::nullopt;
  text_ = std::move(text);
  if (text_ && text_->empty()) return std::nullopt;  // being written (`echo 4 > FILE`)
  try {
    if (!text_) throw UsageError("-j " + path_ + ": cannot read it: " + std::strerror(errno));
    const unsigned slots = slots_in(path_, *text_, cpus_);
    if (slots == slots_) return std::nullopt;
    slots_ = slots;
    return slots;
  } catch (const UsageError& e) {
    problem = std::string(e.what()) + "; still running " + std::to_string(slots_) + " at a time";
    return std::nullopt;
  }
}

}  // namespace forkpool::cli
