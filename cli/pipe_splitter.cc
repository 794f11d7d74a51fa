#include "cli/pipe_splitter.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>

#include "cli/pipe_record_matcher.h"

namespace forkpool::cli {
namespace {

constexpr std::size_t kMaxBlock = (std::size_t{1} << 31) - 1;  // GNU parallel's 2G-1
constexpr std::size_t kNone = static_cast<std::size_t>(-1);

// Perl's index(): the first `needle` at or after `from` (clamped to the end), or kNone.
std::size_t perl_index(std::string_view text, std::string_view needle, std::size_t from) {
  from = std::min(from, text.size());
  const std::size_t at = text.find(needle, from);
  return at == std::string_view::npos ? kNone : at;
}

// Perl's rindex() for one character: the last `c` at or before `from` (a negative `from`
// counts as 0, as in Perl), or -1.
long long perl_rindex(std::string_view text, char c, long long from) {
  if (text.empty()) return -1;
  from = std::clamp<long long>(from, 0, static_cast<long long>(text.size()) - 1);
  for (long long i = from; i >= 0; --i) {
    if (text[static_cast<std::size_t>(i)] == c) return i;
  }
  return -1;
}

// A user's regexp as GNU parallel embeds it: never in /x mode, and alternatives kept inside.
std::string group(const std::string& regexp) { return "(?:(?-x:" + regexp + "))"; }

}  // namespace

struct BlockSplitter::Ready {
  std::deque<std::string> blocks;
  std::size_t bytes = 0;
};

std::string unescape_separator(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char next = i + 1 < text.size() ? text[i + 1] : '\0';
    if (text[i] != '\\' || std::strchr("0rnt'\"\\", next) == nullptr || next == '\0') {
      out += text[i];
      continue;
    }
    switch (next) {
      case '0':
        out += '\0';
        break;
      case 'r':
        out += '\r';
        break;
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      default:
        out += next;
    }
    ++i;
  }
  return out;
}

SplitRules SplitRules::from(const PipeOptions& options) {
  SplitRules rules;
  if (options.block && *options.block > 0)
    rules.block_size = std::min(static_cast<std::size_t>(*options.block), kMaxBlock);
  rules.regexp = options.regexp;
  // GNU parallel's recstartrecend(): one given, the other is empty; neither, recend is \n.
  rules.recstart = options.recstart.value_or("");
  rules.recend = options.recend.value_or(options.recstart ? "" : "\n");
  if (options.regexp && options.recend && !options.recstart && options.recend->empty())
    rules.recend = "(?s:.)";
  if (!options.regexp) {
    rules.recstart = unescape_separator(rules.recstart);
    rules.recend = unescape_separator(rules.recend);
  }
  rules.records_per_job = options.records_per_job;
  rules.lines_per_record = options.lines_per_record;
  rules.csv = options.csv;
  if (options.header) {
    std::string header = *options.header;
    if (header == ":") header = "(.*\n)";
    if (!header.empty() && std::all_of(header.begin(), header.end(), ::isdigit)) {
      std::string lines;
      for (unsigned long n = std::stoul(header.substr(0, 6)); n > 0; --n) lines += "(.*\n)";
      header = lines;
    }
    rules.header = header;
  }
  return rules;
}

BlockSplitter::BlockSplitter(SplitRules rules)
    : rules_(std::move(rules)), ready_(std::make_unique<Ready>()) {
  rules_.block_size = std::clamp<std::size_t>(rules_.block_size, 1, kMaxBlock);
  if (rules_.header) {
    header_matcher_ = std::make_unique<RecordMatcher>("^(" + *rules_.header + ")", 0, "--header");
    header_pending_ = true;
  }
  if (!rules_.regexp) {
    recend_recstart_ = rules_.recend + rules_.recstart;
    return;
  }
  const std::string rs = group(rules_.recstart), re = group(rules_.recend);
  const std::uint32_t mox = PCRE2_MULTILINE | PCRE2_EXTENDED;
  last_cut_ = std::make_unique<RecordMatcher>("^((?s:.)*" + re + ")" + rs + "(?s:.)*?$", mox,
                                              "--recstart/--recend");
  const std::string n = std::to_string(std::max<std::size_t>(rules_.records_per_job, 1) *
                                       std::max<std::size_t>(rules_.lines_per_record, 1));
  n_records_ = std::make_unique<RecordMatcher>(
      "(?s:^)((?:" + rs + "(?:(?!" + re + rs + ")(?s:.))*?" + re + "){" + n + "})(?=" + rs + ")",
      mox, "--recstart/--recend");
  garbage_ = std::make_unique<RecordMatcher>(
      "(?s:^)((?:(?:(?!" + re + rs + ")(?s:.))*?" + re + "))(?=" + rs + ")", mox,
      "--recstart/--recend");
}

BlockSplitter::~BlockSplitter() = default;

std::string_view BlockSplitter::pending() const {
  return std::string_view(buffer_.data() + begin_, size_ - begin_);
}

std::size_t BlockSplitter::bytes_held() const { return size_ - begin_ + ready_->bytes; }

std::span<char> BlockSplitter::write_area() {
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, size_ - begin_);
    size_ -= begin_;
    begin_ = 0;
  }
  const std::size_t block = rules_.block_size;
  // While looking for the header GNU parallel reads a block at a time and looks after each
  // read; then it reads up to the next multiple of the block size before it cuts.
  const std::size_t target = header_pending_ ? size_ + block : size_ + (block - size_ % block);
  if (buffer_.size() < target) buffer_.resize(target);
  return std::span<char>(buffer_.data() + size_, target - size_);
}

void BlockSplitter::commit(std::size_t n) {
  size_ += n;
  if (header_pending_) {
    find_header(false);
    return;
  }
  if ((size_ - begin_) % rules_.block_size == 0) cut(false);
}

void BlockSplitter::append(std::string_view bytes) {
  while (!bytes.empty()) {
    std::span<char> area = write_area();
    const std::size_t n = std::min(area.size(), bytes.size());
    std::memcpy(area.data(), bytes.data(), n);
    bytes.remove_prefix(n);
    commit(n);
  }
}

void BlockSplitter::finish() {
  if (finished_) return;
  finished_ = true;
  if (header_pending_) find_header(true);
  cut(true);
  if (size_ > begin_) emit(size_ - begin_);
  buffer_ = std::string();
  size_ = begin_ = 0;
}

std::optional<std::string> BlockSplitter::next_block() {
  if (ready_->blocks.empty()) return std::nullopt;
  std::string block = std::move(ready_->blocks.front());
  ready_->blocks.pop_front();
  ready_->bytes -= block.size();
  return block;
}

bool BlockSplitter::find_header(bool at_end) {
  if (auto m = header_matcher_->search(pending(), 0, 1)) {
    header_.assign(pending().substr(0, m->second - m->first));
    begin_ += m->second - m->first;
    header_pending_ = false;
    return true;
  }
  if (at_end) header_pending_ = false;  // no header: every byte is data
  return false;
}

void BlockSplitter::emit(std::size_t length) {
  if (length == 0) return;
  std::string block;
  if (begin_ == 0 && length * 2 >= size_) {
    // Most of the buffer: it becomes the block, and the few bytes after it move out.
    std::string rest(buffer_.data() + length, size_ - length);
    buffer_.resize(length);
    block = std::move(buffer_);
    buffer_ = std::move(rest);
    size_ = buffer_.size();
  } else {
    block.assign(pending().substr(0, length));
    begin_ += length;
  }
  ready_->bytes += block.size();
  ready_->blocks.push_back(std::move(block));
}

void BlockSplitter::cut(bool at_end) {
  bool written = false;
  if (rules_.lines_per_record != 0 && rules_.records_per_job == 0) {
    written = pass_n_lines();
  } else if (rules_.csv) {
    written = pass_csv();
  } else if (rules_.regexp) {
    written = rules_.records_per_job != 0 ? pass_n_regexps() : (!at_end && pass_regexp());
  } else {
    written = rules_.records_per_job != 0 ? pass_n_fixed() : (!at_end && pass_fixed());
  }
  if (!written && !at_end) {
    // A record longer than the block: read more before cutting, as GNU parallel does.
    const double grown = std::ceil(static_cast<double>(rules_.block_size) * 1.3 + 1);
    rules_.block_size = std::min(static_cast<std::size_t>(grown), kMaxBlock);
  }
}

// The last recend+recstart in the buffer ends the block.
bool BlockSplitter::pass_fixed() {
  const std::string_view text = pending();
  const std::size_t at = text.rfind(recend_recstart_);
  if (at == std::string_view::npos) return false;
  const std::size_t end = at + rules_.recend.size();
  emit(end);
  return end > 0;
}

// Blocks of exactly N records (N*L with -L), as long as the buffer holds that many; the
// search for the first separator starts at the second byte, as GNU parallel's nindex().
bool BlockSplitter::pass_n_fixed() {
  const std::size_t n = rules_.records_per_job * std::max<std::size_t>(rules_.lines_per_record, 1);
  bool written = false;
  for (;;) {
    const std::string_view text = pending();
    if (text.empty()) break;
    std::size_t at = 0;
    for (std::size_t k = 0; k < n && at != kNone; ++k)
      at = perl_index(text, recend_recstart_, at + 1);
    if (at == kNone) break;
    emit(std::min(at + rules_.recend.size(), text.size()));
    written = true;
  }
  return written;
}

// -L N alone: up to the last newline that completes a group of N lines.
bool BlockSplitter::pass_n_lines() {
  const std::string_view text = pending();
  std::size_t lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  long long at = perl_rindex(text, '\n', static_cast<long long>(text.size()));
  while (lines % rules_.lines_per_record != 0) {
    --lines;
    at = perl_rindex(text, '\n', at - 1);
  }
  const std::size_t end = static_cast<std::size_t>(at + 1);
  emit(end);
  return end > 0;
}

// --csv: up to the last newline with an even number of '"' before it (outside a quoted
// field, if the buffer starts a record), as GNU parallel's pass_csv_record().
bool BlockSplitter::pass_csv() {
  const std::string_view text = pending();
  std::size_t end = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '"') quoted = !quoted;
    if (text[i] == '\n' && !quoted) end = i + 1;
  }
  emit(end);
  return end > 0;
}

bool BlockSplitter::pass_regexp() {
  const auto m = last_cut_->search(pending(), 0, 1);
  if (!m || m->second == m->first) return false;
  emit(m->second - m->first);
  return true;
}

bool BlockSplitter::pass_n_regexps() {
  bool written = false;
  if (!garbage_checked_) {
    garbage_checked_ = true;
    const RecordMatcher starts(std::string("^") + group(rules_.recstart), 0, "--recstart");
    if (!starts.search(pending())) {
      // Bytes before the first record start: GNU parallel passes them as a record of their own.
      const auto m = garbage_->search(pending(), 0, 1);
      if (m && m->second > m->first) {
        emit(m->second - m->first);
        written = true;
      }
    }
  }
  for (auto m = n_records_->search(pending(), 0, 1); m && m->second > m->first;
       m = n_records_->search(pending(), 0, 1)) {
    emit(m->second - m->first);
    written = true;
  }
  return written;
}

}  // namespace forkpool::cli
