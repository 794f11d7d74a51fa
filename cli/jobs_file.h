// -j FILE (-P FILE, --jobs FILE): the number of job slots read from a file, and read again when
// the file changes during the run, as GNU parallel 20221122 does.
#pragma once

#include <optional>
#include <string>

namespace forkpool::cli {

// The whole text of the file `path` (a -j FILE's or a --load FILE's value); nullopt if it
// cannot be read.
std::optional<std::string> read_value_file(const std::string& path);

// Whether `path` names a regular file: a -j or --load value that is no number may name one.
bool names_regular_file(const std::string& path);

// Whether `spec`, a -j value, names a file to read the slot count from: GNU parallel takes it
// as one when it is none of N, N%, +N and -N and a regular file of that name exists.
bool names_jobs_file(const std::string& spec);

// The slot count in the file `path`: its whole text is one -j value (N, N%, +N or -N; a final
// newline allowed, as Perl's `$` allows one), resolved against `cpus` as resolve_jobs() does.
// Throws UsageError naming the file if it cannot be read or does not hold such a value.
unsigned read_jobs_file(const std::string& path, unsigned cpus);

// A -j FILE being watched: changed() reads the file again and tells what changed. (GNU parallel
// looks at the file's mtime, at most once a second; reading the few bytes each time also sees
// two changes within one tick of the file system's clock.)
class JobsFile {
 public:
  // Throws UsageError, as read_jobs_file().
  JobsFile(std::string path, unsigned cpus);

  unsigned slots() const { return slots_; }

  // The new slot count if the file holds another valid value now; nullopt if not. A file that
  // went bad (unreadable, half-written, another kind of value) keeps the last count: `problem`
  // then says why, once for each new text.
  std::optional<unsigned> changed(std::string& problem);

 private:
  std::string path_;
  unsigned cpus_;
  unsigned slots_ = 1;
  std::optional<std::string> text_;  // as last read; nullopt when it could not be read
};

}  // namespace forkpool::cli
