#include "cli/pipe_input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "cli/run_options.h"

namespace forkpool::cli {
namespace {

io::Fd open_input(const std::string& path) {
  if (path == "-") return io::Fd::duplicate(STDIN_FILENO, 3);
  io::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw UsageError("cannot open '" + path + "': " + std::strerror(errno));
  return fd;
}

std::vector<std::string> input_paths(const RunOptions& options) {
  std::vector<std::string> paths;
  for (const InputSource& source : options.sources) paths.push_back(source.path);
  if (paths.empty()) paths.emplace_back("-");
  return paths;
}

}  // namespace

PipeInput::PipeInput(const RunOptions& options, unsigned slots) {
  const SplitRules rules = SplitRules::from(options.pipe);
  const std::vector<std::string> paths = input_paths(options);
  if (options.pipe.mode != PipeOptions::Mode::kPipePart) {
    // Every file is opened now (errors before any job), read in order as one stream.
    for (const std::string& path : paths) open_input(path);
    paths_.assign(paths.rbegin(), paths.rend());
    splitter_ = std::make_unique<BlockSplitter>(rules);
    open_next_stream();
    if (paths.size() == 1 && use_ranges(rules)) splitter_.reset();
    return;
  }
  std::vector<std::pair<io::Fd, std::uint64_t>> files;
  std::uint64_t total = 0;
  for (const std::string& path : paths) {
    if (path == "-")
      throw UsageError("--pipepart only works on seekable files, not stdin: give -a FILE");
    io::Fd fd = open_input(path);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
      throw UsageError("--pipepart only works on seekable files, not streams or pipes: '" + path +
                       "' is not a regular file");
    std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
    if (S_ISBLK(st.st_mode)) {
      const off_t end = ::lseek(fd.get(), 0, SEEK_END);
      size = end > 0 ? static_cast<std::uint64_t>(end) : 0;
    }
    total += size;
    files.emplace_back(std::move(fd), size);
  }
  const std::uint64_t block = part_block_size(options.pipe, total, slots);
  for (auto& [fd, size] : files) parts_.emplace_back(std::move(fd), size, block, rules);
}

PipeInput::~PipeInput() = default;

// One regular file, cut by literal separators: its blocks are ranges, spliced to the jobs
// from the page cache like --pipepart's, never read into memory.
bool PipeInput::use_ranges(const SplitRules& rules) {
  if (stream_waits_ || stream_fd_ < 0 || !StreamRanges::handles(rules)) return false;
  struct stat st {};
  if (::fstat(stream_fd_, &st) != 0 || !S_ISREG(st.st_mode)) return false;
  const off_t start = ::lseek(stream_fd_, 0, SEEK_CUR);  // stdin may be partly read already
  if (start < 0 || start > st.st_size) return false;
  ranges_ = std::make_unique<StreamRanges>(stream_fd_, static_cast<std::uint64_t>(start),
                                           static_cast<std::uint64_t>(st.st_size), rules);
  header_ = std::make_shared<const std::string>();
  return true;
}

std::optional<PipeBlock> PipeInput::next_range() {
  std::optional<FileRange> range = ranges_->next();
  if (!range) {
    finished_ = true;
    return std::nullopt;
  }
  PipeBlock block;
  block.header = header_;
  block.file = stream_fd_;
  block.range = *range;
  return block;
}

void PipeInput::open_next_stream() {
  stream_.reset();
  stream_fd_ = -1;
  if (paths_.empty()) return;
  const std::string path = paths_.back();
  paths_.pop_back();
  if (path == "-") {
    // Read in place, not through a duplicate: nothing else reads stdin meanwhile.
    stream_fd_ = STDIN_FILENO;
  } else {
    stream_ = open_input(path);
    stream_fd_ = stream_.get();
  }
  struct stat st {};
  stream_waits_ = ::fstat(stream_fd_, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode);
}

int PipeInput::wait_fd() const {
  if (!splitter_ || finished_ || !stream_waits_) return -1;
  return stream_fd_;
}

bool PipeInput::done() const { return finished_; }

std::optional<PipeBlock> PipeInput::next() {
  if (finished_) return std::nullopt;
  if (ranges_) return next_range();
  if (!splitter_) return next_part();
  auto take = [&]() -> std::optional<PipeBlock> {
    std::optional<std::string> data = splitter_->next_block();
    if (!data) return std::nullopt;
    if (!header_ || *header_ != splitter_->header())
      header_ = std::make_shared<const std::string>(splitter_->header());
    PipeBlock block;
    block.header = header_;
    block.data = std::move(*data);
    return block;
  };
  if (auto block = take()) return block;
  if (stream_fd_ < 0) {
    finished_ = true;
    return std::nullopt;
  }
  std::span<char> area = splitter_->write_area();
  const ssize_t n = ::read(stream_fd_, area.data(), area.size());
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) return std::nullopt;
    throw std::system_error(errno, std::generic_category(), "cannot read the input");
  }
  if (n == 0) {
    open_next_stream();
    if (stream_fd_ < 0) splitter_->finish();
  } else {
    splitter_->commit(static_cast<std::size_t>(n));
  }
  std::optional<PipeBlock> block = take();
  if (!block && stream_fd_ < 0) finished_ = true;
  return block;
}

std::optional<PipeBlock> PipeInput::next_part() {
  while (!parts_.empty()) {
    PartRanges& part = parts_.front();
    if (std::optional<FileRange> range = part.next()) {
      if (!part_header_ || *part_header_ != part.header())
        part_header_ = std::make_shared<const std::string>(part.header());
      PipeBlock block;
      block.header = part_header_;
      block.file = part.fd();
      block.range = *range;
      return block;
    }
    // Its descriptor stays open for the blocks still being fed: moved to the back, done.
    finished_parts_.push_back(std::move(part));
    parts_.pop_front();
  }
  finished_ = true;
  return std::nullopt;
}

}  // namespace forkpool::cli
