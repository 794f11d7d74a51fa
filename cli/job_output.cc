// Job output on its way out: --tag prefixes, writes to stdout and stderr, spooled files.
#include "cli/job_output.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <span>
#include <system_error>
#include <vector>

#include "io/syscalls.h"

namespace forkpool::cli {

void LinePrefixer::append(std::string_view text, std::string& out) {
  if (color_.on()) {
    append_colored(text, out);
    return;
  }
  if (prefix_.empty()) {
    out.append(text);
    return;
  }
  std::size_t start = 0;
  while (start < text.size()) {
    if (at_line_start_) out.append(prefix_);
    const std::size_t end = text.find_first_of("\n\r", start);
    const std::size_t stop = end == std::string_view::npos ? text.size() : end + 1;
    out.append(text.substr(start, stop - start));
    at_line_start_ = end != std::string_view::npos;
    start = stop;
  }
}

void LinePrefixer::append_colored(std::string_view text, std::string& out) {
  for (const char c : text) {
    if (at_line_start_) {
      out.append(color_.start).append(prefix_);
      at_line_start_ = false;
    }
    if (c == '\n') {
      out.append(color_.reset).push_back('\n');
      at_line_start_ = true;
    } else if (c == '\r') {
      out.append(color_.reset).append("\r").append(color_.start).append(prefix_);
    } else {
      out.push_back(c);
    }
  }
}

void LinePrefixer::finish(std::string& out) {
  if (!color_.on() || at_line_start_) return;
  out.append(color_.reset).push_back('\n');
  at_line_start_ = true;
}

void append_colored_lines(std::string_view lines, const std::string& prefix, const LineColor& color,
                          std::string& out) {
  if (lines.ends_with('\n')) lines.remove_suffix(1);  // Perl's chomp
  out.append(color.start).append(prefix);
  for (const char c : lines) {
    if (c == '\n' || c == '\r') {
      out.append(color.reset).push_back(c);
      out.append(color.start).append(prefix);
    } else {
      out.push_back(c);
    }
  }
  out.append(color.reset).push_back('\n');
}

namespace {

void write_to_fd(int fd, std::string_view data, bool guard_sigpipe) {
  if (data.empty()) return;
  iovec iov{const_cast<char*>(data.data()), data.size()};
  io::write_all(fd, std::span(&iov, 1), std::nullopt, guard_sigpipe);
}

}  // namespace

void write_stdout(std::string_view data) {
  if (data.empty()) return;
  iovec iov{const_cast<char*>(data.data()), data.size()};
  if (!io::write_all(STDOUT_FILENO, std::span(&iov, 1), std::nullopt)) throw StdoutClosed();
}

void write_log_file(int fd, std::string_view data) {
  if (fd == STDOUT_FILENO) {
    write_stdout(data);
    return;
  }
  if (data.empty()) return;
  iovec iov{const_cast<char*>(data.data()), data.size()};
  io::write_all(fd, std::span(&iov, 1), std::nullopt);
}

void write_stderr(std::string_view data) noexcept {
  try {
    write_to_fd(STDERR_FILENO, data, /*guard_sigpipe=*/true);
  } catch (const std::exception&) {
    // ENOSPC, EBADF, EIO...: the message is lost, the run goes on.
  }
}

void write_job_output(int fd, std::string_view data) {
  if (fd == STDOUT_FILENO) {
    write_stdout(data);
  } else {
    write_stderr(data);
  }
}

JobStream JobStream::spooled(const std::string& path, std::size_t size) {
  JobStream s;
  s.file_ = io::Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!s.file_) throw std::system_error(errno, std::generic_category(), "open " + path);
  ::unlink(path.c_str());
  s.size_ = size;
  return s;
}

template <typename Sink>
void JobStream::for_each_chunk(Sink sink) const {
  if (!file_) {
    for (std::size_t at = 0; at < bytes_.size(); at += std::size_t{1} << 20)
      sink(std::string_view(bytes_).substr(at, std::size_t{1} << 20));
    return;
  }
  if (::lseek(file_.get(), 0, SEEK_SET) < 0)
    throw std::system_error(errno, std::generic_category(), "lseek");
  std::vector<char> chunk(std::size_t{1} << 20);
  for (;;) {
    const std::size_t n = io::read_once(file_.get(), chunk, std::nullopt).value_or(0);
    if (n == 0) return;
    sink(std::string_view(chunk.data(), n));
  }
}

void JobStream::write_to(int fd, const std::string& prefix, std::uint64_t from,
                         const LineColor& color) const {
  LinePrefixer prefixer(prefix, color);
  std::string prefixed;
  auto write = [fd](std::string_view out) { write_job_output(fd, out); };
  for_each_chunk([&](std::string_view chunk) {
    const std::size_t skip = std::min<std::uint64_t>(from, chunk.size());
    from -= skip;
    std::string_view out = chunk.substr(skip);
    if (out.empty()) return;
    if (!prefix.empty() || color.on()) {
      prefixed.clear();
      prefixer.append(out, prefixed);
      out = prefixed;
    }
    write(out);
  });
  prefixed.clear();
  prefixer.finish(prefixed);
  if (!prefixed.empty()) write(prefixed);
}

void JobStream::write_line_buffered_to(int fd, const std::string& prefix, std::uint64_t from,
                                       const LineColor& color) const {
  auto write = [fd](std::string_view out) { write_job_output(fd, out); };
  // As GNU parallel reads what is left in one read: the lines up to the last '\n' (or, in
  // output without one, up to the last '\r') tagged and coloured; after them, untagged, what
  // ends in a '\r' (only without a colour: GNU parallel prints that as it reads it); the rest
  // after the tag alone, uncoloured. Found first, so that a line of any length streams
  // through in chunks.
  // What was printed before `from` ended with a '\n' (and may be gone from a spool file).
  std::uint64_t last_newline = from, last_return = 0, at = 0;  // offsets past them; 0: none
  for_each_chunk([&](std::string_view chunk) {
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      if (at + i < from) continue;
      if (chunk[i] == '\n') last_newline = at + i + 1;
      if (chunk[i] == '\r') last_return = at + i + 1;
    }
    at += chunk.size();
  });
  std::uint64_t cut = last_newline != 0 ? last_newline : last_return;
  if (cut <= from) cut = 0;  // printed already: nothing more to tag
  const std::uint64_t raw_end =
      color.on() ? std::max(cut, from) : std::max({cut, from, last_return});
  std::string out;
  at = 0;
  for_each_chunk([&](std::string_view chunk) {
    out.clear();
    for (std::size_t i = 0; i < chunk.size(); ++i) {
      const std::uint64_t offset = at + i;
      if (offset < from) continue;
      const char c = chunk[i];
      if (offset == from && cut != 0) out.append(color.start).append(prefix);
      if (offset + 1 == cut && color.on()) {
        // The last line's end: chomp drops a '\n'; a '\r' stays, and gets a line of its own.
        if (c == '\r') out.append(color.reset).append("\r").append(color.start).append(prefix);
        out.append(color.reset).push_back('\n');
      } else if (offset + 1 < cut && (c == '\n' || c == '\r')) {
        out.append(color.reset).push_back(c);
        out.append(color.start).append(prefix);
      } else {
        if (offset == raw_end) out.append(prefix);  // the rest: the tag alone
        out.push_back(c);
      }
    }
    at += chunk.size();
    write(out);
  });
}

bool JobStream::copy_to(int out) const {
  bool ok = true;
  for_each_chunk([&](std::string_view chunk) {
    if (!ok || chunk.empty()) return;
    iovec iov{const_cast<char*>(chunk.data()), chunk.size()};
    try {
      ok = io::write_all(out, std::span(&iov, 1), std::nullopt);
      if (!ok) errno = EPIPE;
    } catch (const std::system_error& e) {
      errno = e.code().value();
      ok = false;
    }
  });
  return ok;
}

void JobStream::read_chunks(const std::function<void(std::string_view)>& sink) const {
  for_each_chunk(sink);
}

std::string JobStream::head(std::size_t max) const {
  std::string text;
  for_each_chunk([&](std::string_view chunk) {
    if (text.size() < max) text.append(chunk.substr(0, max - text.size()));
  });
  return text;
}

}  // namespace forkpool::cli
