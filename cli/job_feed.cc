#include "cli/job_feed.h"

#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <utility>

#include "cli/job_log.h"
#include "cli/pipe_options.h"

namespace forkpool::cli {

JobFeed::JobFeed(const RunOptions& options) : options_(options), source_(options) {
  if (options_.resume || options_.resume_failed) {
    if (options_.joblog.empty() || options_.joblog == "-")
      throw UsageError(std::string(options_.resume ? "--resume" : "--resume-failed") +
                       " needs --joblog FILE");
    resume_ = read_job_log(options_.joblog);
  }
}

void JobFeed::preload(unsigned slots, bool read_all) {
  check_pipe_input(options_);
  if (options_.pipe.on()) {
    pipe_ = std::make_unique<PipeJobs>(options_, slots);  // blocks, not arguments
  } else if (read_all || options_.bar || options_.eta || options_.shuffle ||
             options_.halt.percent) {
    // These need the number of jobs, as in GNU parallel: read all input first.
    while (auto job = source_.next()) preloaded_.push_back(std::move(*job));
    total_jobs_ = preloaded_.size();
    all_read_ = true;
  } else if (input_is_at_hand()) {
    while (preloaded_.size() < slots) {
      std::optional<JobInput> job = source_.next();
      if (!job) {
        all_read_ = true;
        break;
      }
      preloaded_.push_back(std::move(*job));
    }
  }
}

unsigned JobFeed::workers_needed(unsigned slots) const {
  if (!all_read_) return slots;
  return static_cast<unsigned>(std::min<std::size_t>(slots, preloaded_.size()));
}

// True if every input source is a list of values or a regular file: reading from it never
// waits for someone else to write.
bool JobFeed::input_is_at_hand() const {
  if (options_.sources.empty()) return false;  // stdin
  for (const InputSource& source : options_.sources) {
    if (source.kind == InputSource::Kind::kValues) continue;
    struct stat st {};
    if (source.path == "-" || ::stat(source.path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      return false;
  }
  return true;
}

std::optional<JobInput> JobFeed::read_one() {
  if (pipe_) return pipe_->next_job();
  if (!preloaded_.empty()) {
    JobInput job = std::move(preloaded_.front());
    preloaded_.pop_front();
    return job;
  }
  if (all_read_) return std::nullopt;
  return source_.next();
}

std::optional<JobInput> JobFeed::next() {
  if (peeked_) return std::exchange(peeked_, std::nullopt);
  for (;;) {
    std::optional<JobInput> job = read_one();
    if (!job) return job;
    auto it = resume_.find(job->seq);
    if (it != resume_.end() && (options_.resume || it->second)) continue;
    return job;
  }
}

bool JobFeed::has_next() {
  if (!peeked_) peeked_ = next();
  return peeked_.has_value();
}

}  // namespace forkpool::cli
