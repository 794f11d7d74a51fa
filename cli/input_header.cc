#include "cli/input_header.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "cli/job_internal.h"
#include "cli/replacement_strings.h"

namespace forkpool::cli {
namespace {

char record_separator(const RunOptions& o) {
  if (o.delimiter) return *o.delimiter;
  return o.null_separated ? '\0' : '\n';
}

// The first record of a file source. A regular file is read here and again by the job
// source, which skips the header (InputSource::skip_header is set); stdin and pipes are read
// one byte at a time, so that the job source goes on right after the header.
std::string read_header(InputSource& source, char separator) {
  const bool from_stdin = source.path == "-";
  const int fd = from_stdin ? STDIN_FILENO : ::open(source.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw UsageError("cannot open '" + source.path + "': " + std::strerror(errno));
  struct stat st {};
  // stdin is shared with the job source whatever it is: read only the header from it.
  const bool regular = !from_stdin && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw UsageError("cannot open '" + source.path + "': " + std::strerror(EISDIR));
  }
  std::string header;
  char block[4096];
  for (;;) {
    const ssize_t n = ::read(fd, block, regular ? sizeof block : 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      if (!from_stdin) ::close(fd);
      throw UsageError("cannot read '" + source.path + "': " + std::strerror(error));
    }
    const std::string_view got(block, static_cast<std::size_t>(n));
    const std::size_t end = got.find(separator);
    header.append(got.substr(0, end));
    if (n == 0 || end != std::string_view::npos) break;
  }
  if (!from_stdin) ::close(fd);
  source.skip_header = regular;
  return header;
}

// The first record of ::: values, taken out of them.
std::string take_header(InputSource& source, char separator) {
  if (source.values.empty()) return "";
  std::string& first = source.values.front();
  const std::size_t end = first.find(separator);
  std::string header = first.substr(0, end);
  if (end == std::string::npos) {
    source.values.erase(source.values.begin());
  } else {
    first.erase(0, end + 1);
  }
  return header;
}

// GNU parallel's s:\{NAME(|/|//|\.|/\.)\}:\{ID$1\}:g, with NAME taken literally.
void rename_column(std::string& text, const std::string& name, const std::string& id,
                   const Parens& parens) {
  static const char* const kSuffixes[] = {"}", "/}", "//}", ".}", "/.}"};
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    bool replaced = false;
    if (text.compare(i, name.size() + 1, "{" + name) == 0) {
      for (const char* suffix : kSuffixes) {
        const std::string tail(suffix);
        if (text.compare(i + 1 + name.size(), tail.size(), tail) == 0) {
          out += "{" + id + tail;
          i += 1 + name.size() + tail.size();
          replaced = true;
          break;
        }
      }
    }
    // {= NAME ... =}: the expression's first word names the column.
    if (!replaced && text.compare(i, parens.left.size(), parens.left) == 0) {
      std::size_t at = i + parens.left.size();
      while (at < text.size() && text[at] == ' ') ++at;
      if (text.compare(at, name.size(), name) == 0 &&
          text.find(parens.right, at) != std::string::npos) {
        out += parens.left + id;
        i = at + name.size();
        replaced = true;
      }
    }
    if (!replaced) out += text[i++];
  }
  text = std::move(out);
}

}  // namespace

RunOptions with_input_headers(RunOptions options) {
  if (!options.pipe.header || options.pipe.on()) return options;
  if (!options.colsep) {
    // GNU parallel settles --trim's default (lr under --colsep) before --header supplies the
    // tab: values split on it are not trimmed.
    options.colsep = "\t";
    if (!options.trim) options.trim = "n";
  }
  const Parens parens = parens_of(options);
  auto rename = [&](const std::string& name, int id) {
    const std::string number = std::to_string(id);
    for (std::string& word : options.command) rename_column(word, name, number, parens);
    if (options.tagstring) rename_column(*options.tagstring, name, number, parens);
    if (!options.results.empty()) rename_column(options.results, name, number, parens);
  };
  std::vector<std::optional<std::string>>& names = options.column_names;
  auto name_column = [&](int id, const std::string& name) {
    if (names.size() < static_cast<std::size_t>(id)) names.resize(id);
    names[id - 1] = name;
  };
  // The sources as given: stdin read for want of any is not named after "-".
  const std::vector<InputSource> given = options.sources;
  if (*options.pipe.header != "0") {
    const char separator = record_separator(options);
    if (options.sources.empty()) {
      InputSource in;
      in.kind = InputSource::Kind::kFile;
      in.path = "-";
      options.sources.push_back(in);
    }
    const internal::ColumnSplitter splitter(*options.colsep);
    int id = 1;
    for (InputSource& source : options.sources) {
      std::string header = source.kind == InputSource::Kind::kValues
                               ? take_header(source, separator)
                               : read_header(source, separator);
      if (!header.empty() && header.back() == '\r') header.pop_back();
      std::vector<std::string> columns = splitter.split(header);
      // Perl's split without a limit drops the empty fields at the end.
      while (!columns.empty() && columns.back().empty()) columns.pop_back();
      for (const std::string& name : columns) {
        const int number = id++;
        name_column(number, name);
        if (!name.empty()) rename(name, number);
      }
    }
  }
  // Then, even with --header 0, the file sources (-a, ::::) are named after their files,
  // numbered among themselves -- so that `--header 0 echo {f2} {f1} :::: f1 f2` works, and
  // a file's name replaces that of whichever column has its number.
  int id = 1;
  for (const InputSource& source : given) {
    if (source.kind != InputSource::Kind::kFile) continue;
    const int number = id++;
    rename(source.path, number);
    name_column(number, source.path);
  }
  return options;
}

}  // namespace forkpool::cli
