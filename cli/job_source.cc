// Reading jobs: GNU parallel 20221122's MultifileQueue (sources crossed, the last varying
// fastest; :::+ linked sources paired and cut to the shortest), RecordColQueue (--colsep)
// and CommandLine::populate() (-n, -N, -m, -X) — lazily, one record at a time.
// Under 600 lines: the readers, the source groups and the job assembly share the
// one lazy pipeline (JobSource::Impl) and are read together; splitting the readers out is
// the next step if it grows.
#include "cli/job_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <random>
#include <utility>

#include "cli/csv_fields.h"
#include "cli/job_internal.h"
#include "cli/replacement_strings.h"

namespace forkpool::cli {
namespace {

// One input source, read record by record, and restartable for crossing.
class RecordReader {
 public:
  virtual ~RecordReader() = default;
  virtual std::optional<std::string> next() = 0;
  // Whether rewind() works: false for a pipe, which cannot be read again.
  virtual bool rewindable() const = 0;
  // Back to the first record.
  virtual void rewind() = 0;
};

// ::: values. GNU parallel writes them to a file, one per record separator, and reads them
// back: a value with a newline (or a NUL under -0) becomes several records.
class ValuesReader final : public RecordReader {
 public:
  ValuesReader(const std::vector<std::string>& values, char separator) {
    for (const std::string& value : values) {
      std::size_t start = 0;
      for (std::size_t sep; (sep = value.find(separator, start)) != std::string::npos;
           start = sep + 1) {
        records_.push_back(value.substr(start, sep - start));
      }
      records_.push_back(value.substr(start));
    }
  }
  std::optional<std::string> next() override {
    if (index_ == records_.size()) return std::nullopt;
    return records_[index_++];
  }
  bool rewindable() const override { return true; }
  void rewind() override { index_ = 0; }

 private:
  std::vector<std::string> records_;
  std::size_t index_ = 0;
};

// :::: FILE, -a FILE, or stdin ("-"), read in blocks and split on the record separator.
class FileReader final : public RecordReader {
 public:
  // `skip_header`: the first record is a --header read already (cli/input_header.h); it is
  // skipped, after every rewind too.
  FileReader(const std::string& path, char separator, bool skip_header = false)
      : path_(path),
        separator_(separator),
        skip_header_(skip_header),
        header_pending_(skip_header) {
    if (path == "-") {
      fd_ = STDIN_FILENO;
      owned_ = false;
    } else {
      fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd_ < 0) throw UsageError("cannot open '" + path + "': " + std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fd_, &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        close_fd();
        throw UsageError("cannot open '" + path + "': " + std::strerror(EISDIR));
      }
      if (S_ISREG(st.st_mode)) {
        start_offset_ = ::lseek(fd_, 0, SEEK_CUR);
        seekable_ = start_offset_ >= 0;
      }
    }
  }
  ~FileReader() override { close_fd(); }
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  std::optional<std::string> next() override {
    if (std::exchange(header_pending_, false)) next_record();
    return next_record();
  }

  std::optional<std::string> next_record() {
    for (;;) {
      std::size_t sep = buffer_.find(separator_, begin_);
      if (sep != std::string::npos) {
        std::string record = buffer_.substr(begin_, sep - begin_);
        begin_ = sep + 1;
        return record;
      }
      if (eof_) {
        if (begin_ == buffer_.size()) return std::nullopt;
        std::string record = buffer_.substr(begin_);  // a last record without separator
        begin_ = buffer_.size();
        return record;
      }
      fill();
    }
  }

  bool rewindable() const override { return seekable_; }
  void rewind() override {
    if (::lseek(fd_, start_offset_, SEEK_SET) < 0) {
      throw UsageError("cannot read '" + path_ + "' again: " + std::strerror(errno));
    }
    buffer_.clear();
    begin_ = 0;
    eof_ = false;
    header_pending_ = skip_header_;
  }

 private:
  void fill() {
    // Drop what was consumed, so the buffer holds at most one record plus one block.
    buffer_.erase(0, begin_);
    begin_ = 0;
    char block[65536];
    for (;;) {
      ssize_t n = ::read(fd_, block, sizeof block);
      if (n > 0) {
        buffer_.append(block, static_cast<std::size_t>(n));
        return;
      }
      if (n == 0) {
        eof_ = true;
        return;
      }
      if (errno != EINTR) throw UsageError("cannot read '" + path_ + "': " + std::strerror(errno));
    }
  }
  void close_fd() {
    if (owned_ && fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  std::string path_;
  char separator_;
  bool skip_header_;
  bool header_pending_;
  int fd_ = -1;
  bool owned_ = true;
  bool seekable_ = false;
  off_t start_offset_ = 0;
  std::string buffer_;
  std::size_t begin_ = 0;
  bool eof_ = false;
};

// How GNU parallel's read_arg_from_fh() turns the records of an input source (a file, or the
// file it writes ::: values to) into arguments.
struct ArgumentRules {
  char separator = '\n';
  // -E: a record equal to it ends the source (Perl's truth: "" and "0" are none at all).
  std::string end_of_file;
  bool skip_blank = false;  // -r: an argument made only of whitespace is skipped
  // -L without --pipe: an argument that ends in whitespace goes on with the next record.
  bool continue_lines = false;
  // --csv: a record with an odd number of '"' opens (or closes) a quoted field, so the
  // argument goes on, separator included, up to the record that closes it.
  bool csv = false;
};

// read_arg_from_fh() over a source's records, in its order: a --csv half record is joined
// first, then -E is checked on the record itself, then the continued part is prepended, then
// -r skips blank arguments, then -L continues one that ends in whitespace.
class ArgumentReader final : public RecordReader {
 public:
  ArgumentReader(std::unique_ptr<RecordReader> inner, const ArgumentRules& rules)
      : inner_(std::move(inner)), rules_(rules) {}

  std::optional<std::string> next() override {
    std::optional<std::string> prepend;
    bool half_record = false;
    for (;;) {
      std::optional<std::string> record = ended_ ? std::nullopt : inner_->next();
      if (!record) return prepend;
      if (rules_.csv && std::count(record->begin(), record->end(), '"') % 2 == 1)
        half_record = !half_record;
      if (half_record) {
        prepend = prepend.value_or("") + *record + rules_.separator;
        continue;
      }
      if (is_end_of_file(*record)) {
        ended_ = true;  // GNU parallel closes the source here
        return prepend;
      }
      if (prepend) record = *std::exchange(prepend, std::nullopt) + *record;
      if (rules_.skip_blank && std::all_of(record->begin(), record->end(), internal::is_perl_space))
        continue;
      if (rules_.continue_lines && !record->empty() && internal::is_perl_space(record->back())) {
        prepend = std::move(record);
        continue;
      }
      return record;
    }
  }
  bool rewindable() const override { return inner_->rewindable(); }
  void rewind() override {
    inner_->rewind();
    ended_ = false;
  }

 private:
  bool is_end_of_file(const std::string& record) const {
    return !rules_.end_of_file.empty() && rules_.end_of_file != "0" && record == rules_.end_of_file;
  }

  std::unique_ptr<RecordReader> inner_;
  const ArgumentRules& rules_;
  bool ended_ = false;
};

// A source as MultifileQueue sees it: a source without any record, next to others that have
// some, reads as a single empty value.
struct Source {
  std::unique_ptr<RecordReader> reader;
  std::optional<std::string> peeked;  // the first record, read to tell empty sources apart
  bool empty = false;
  bool empty_given = false;  // this pass already gave the "" of an empty source

  std::optional<std::string> next() {
    if (empty) {
      if (empty_given) return std::nullopt;
      empty_given = true;
      return std::string();
    }
    if (peeked) {
      std::optional<std::string> r = std::move(peeked);
      peeked.reset();
      return r;
    }
    return reader->next();
  }
  void rewind() {
    empty_given = false;
    peeked.reset();
    if (!empty) reader->rewind();
  }
};

// Sources linked with :::+ / ::::+: read side by side, ending with the shortest. A group
// after the first is read once per value of the groups before it, so it is re-read from the
// start (files, values) or, for a pipe, kept from its first pass.
class SourceGroup {
 public:
  // `wrap` (--link): the group lasts as long as its longest source, the shorter ones
  // starting again from their first value, as GNU parallel's --link does.
  SourceGroup(std::vector<Source*> sources, bool wrap)
      : sources_(std::move(sources)), wrap_(wrap), ended_(sources_.size(), false) {}

  std::optional<std::vector<std::string>> next() {
    if (replaying_) {
      if (replay_index_ == cache_.size()) return std::nullopt;
      return cache_[replay_index_++];
    }
    std::vector<std::string> tuple;
    for (std::size_t i = 0; i < sources_.size(); ++i) {
      std::optional<std::string> v = sources_[i]->next();
      if (!v && wrap_) v = wrap_around(i);
      if (!v) return std::nullopt;
      tuple.push_back(std::move(*v));
    }
    if (caching_) cache_.push_back(tuple);
    return tuple;
  }

  // Called before the first pass of a group that will be re-read.
  void prepare_for_repeats() {
    bool rewindable = std::all_of(sources_.begin(), sources_.end(),
                                  [](Source* s) { return s->empty || s->reader->rewindable(); });
    caching_ = !rewindable;
  }

  void restart() {
    if (caching_) {
      replaying_ = true;
      replay_index_ = 0;
      return;
    }
    for (Source* s : sources_) s->rewind();
    std::fill(ended_.begin(), ended_.end(), false);
  }

 private:
  // Source i ran out: nothing if every source has, else its first value again.
  std::optional<std::string> wrap_around(std::size_t i) {
    ended_[i] = true;
    if (std::all_of(ended_.begin(), ended_.end(), [](bool e) { return e; })) return std::nullopt;
    Source* s = sources_[i];
    if (!s->empty && !s->reader->rewindable())
      throw UsageError("--link cannot start a source read from a pipe again");
    s->rewind();
    return s->next();
  }

  std::vector<Source*> sources_;
  bool wrap_ = false;
  std::vector<bool> ended_;
  bool caching_ = false;
  bool replaying_ = false;
  std::vector<std::vector<std::string>> cache_;
  std::size_t replay_index_ = 0;
};

}  // namespace

struct JobSource::Impl {
  explicit Impl(const RunOptions& options)
      : opts(options),
        separator(options.delimiter        ? *options.delimiter
                  : options.null_separated ? '\0'
                                           : '\n'),
        rpl(options),
        command(merge_expression_words(options.command, parens_of(options)), true, rpl,
                expressions),
        length(command, render_mode(options, command), internal::trim_of(options),
               options.args_per_job.no_args),
        max_args(options.args_per_job.max_args),
        slots(options.job_slots != 0 ? options.job_slots
                                     : resolve_jobs(options.jobs, available_cpus())) {
    if (options.csv) {
      csv.emplace(*options.colsep);
    } else if (options.colsep) {
      splitter.emplace(*options.colsep);
    }
    std::vector<InputSource> given = options.sources;
    if (given.empty()) {
      InputSource in;
      in.kind = InputSource::Kind::kFile;
      in.path = "-";
      given.push_back(in);
    }
    rules = ArgumentRules{.separator = separator,
                          .end_of_file = options.end_of_file,
                          .skip_blank = options.skip_blank,
                          .continue_lines = options.continue_lines,
                          .csv = options.csv};
    for (const InputSource& in : given) {
      auto source = std::make_unique<Source>();
      std::unique_ptr<RecordReader> records;
      if (in.kind == InputSource::Kind::kFile) {
        records = std::make_unique<FileReader>(in.path, separator, in.skip_header);
      } else {
        records = std::make_unique<ValuesReader>(in.values, separator);
      }
      source->reader = std::make_unique<ArgumentReader>(std::move(records), rules);
      if (in.linked && !sources.empty()) {
        group_members.back().push_back(source.get());
      } else {
        group_members.push_back({source.get()});
      }
      sources.push_back(std::move(source));
    }
  }

  static internal::RenderMode render_mode(const RunOptions& o,
                                          const internal::CompiledTemplate& t) {
    internal::RenderMode mode;
    mode.quote_words = o.quote;
    mode.quote_values = !o.quote && !t.replacement_leads();
    mode.csh = o.csh_quoting;
    mode.context = o.args_per_job.context;
    return mode;
  }

  // The first call: tell empty sources apart, and start every group.
  void start() {
    started = true;
    bool all_empty = true;
    for (auto& s : sources) {
      s->peeked = s->reader->next();
      if (s->peeked) all_empty = false;
    }
    if (all_empty) {
      exhausted = true;
      return;
    }
    for (auto& s : sources) s->empty = !s->peeked.has_value();
    for (auto& members : group_members) groups.emplace_back(members, opts.link);
    for (std::size_t g = 1; g < groups.size(); ++g) groups[g].prepare_for_repeats();
    for (auto& group : groups) {
      std::optional<std::vector<std::string>> tuple = group.next();
      if (!tuple) {
        exhausted = true;  // linked sources of which one has nothing left: no combination
        return;
      }
      current.push_back(std::move(*tuple));
    }
    first_combination = true;
  }

  // The next combination of the sources' values, the last group varying fastest.
  std::optional<std::vector<std::string>> next_combination() {
    if (!started) start();
    if (exhausted) return std::nullopt;
    if (first_combination) {
      first_combination = false;
      return flatten();
    }
    for (std::size_t g = groups.size(); g-- > 0;) {
      std::optional<std::vector<std::string>> tuple = groups[g].next();
      if (!tuple) continue;
      current[g] = std::move(*tuple);
      for (std::size_t h = g + 1; h < groups.size(); ++h) {
        groups[h].restart();
        current[h] = *groups[h].next();
      }
      return flatten();
    }
    exhausted = true;
    return std::nullopt;
  }

  std::vector<std::string> flatten() const {
    std::vector<std::string> values;
    for (const auto& tuple : current) values.insert(values.end(), tuple.begin(), tuple.end());
    return values;
  }

  // One record: the values, with a stray NUL made visible (GNU parallel warns and writes \0),
  // each split into columns under --colsep.
  std::optional<std::vector<std::string>> read_record() {
    std::optional<std::vector<std::string>> values = next_combination();
    if (!values) return std::nullopt;
    for (std::string& v : *values) {
      std::size_t nul = v.find('\0');
      if (nul != std::string::npos && nul > 0) {
        std::string escaped;
        for (char c : v) {
          if (c == '\0') {
            escaped += "\\0";
          } else {
            escaped += c;
          }
        }
        v = std::move(escaped);
      }
    }
    if (!splitter && !csv) return values;
    std::vector<std::string> columns;
    for (const std::string& v : *values) {
      if (v.empty()) {
        columns.emplace_back();
        continue;
      }
      std::vector<std::string> parts = csv ? csv->split(v) : splitter->split(v);
      columns.insert(columns.end(), std::make_move_iterator(parts.begin()),
                     std::make_move_iterator(parts.end()));
    }
    return columns;
  }

  // The record queue with GNU parallel's unget, and --shuf, which must read everything first.
  std::optional<std::vector<std::string>> get() {
    if (opts.shuffle && !shuffled) {
      shuffled = true;
      while (auto r = read_record()) pending.push_back(std::move(*r));
      std::random_device seed;
      std::mt19937_64 rng(seed());
      std::shuffle(pending.begin(), pending.end(), rng);
    }
    if (!pending.empty()) {
      std::vector<std::string> r = std::move(pending.front());
      pending.pop_front();
      return r;
    }
    return read_record();
  }
  bool queue_empty() {
    if (!pending.empty()) return false;
    if (opts.shuffle && shuffled) return true;
    std::optional<std::vector<std::string>> r = get();
    if (!r) return true;
    pending.push_front(std::move(*r));
    return false;
  }

  std::optional<JobInput> next_job() {
    JobInput job;
    job.seq = next_seq;
    job.no_args = opts.args_per_job.no_args;
    // GNU parallel measures every command line; that is only needed near the limit, so the
    // exact measure starts when a cheap bound reaches it.
    bool exact = false;
    std::size_t bytes = 0;
    std::size_t columns = 0;
    while (!queue_empty()) {
      job.args.push_back(*get());
      for (const std::string& v : job.args.back()) bytes += v.size();
      columns += job.args.back().size();
      if (exact) {
        length.push(job.args.back(), job.seq);
      } else if (length.upper_bound(job.args.size(), job.args.front().size(), bytes, columns) >=
                 opts.max_line_length) {
        exact = true;
        length.reset();
        for (const std::vector<std::string>& record : job.args) length.push(record, job.seq);
      }
      std::size_t len = exact ? length.total(job.args.size(), job.args.front().size()) : 0;
      if (exact && len >= opts.max_line_length) {
        if (job.args.size() > 1) {
          pending.push_front(std::move(job.args.back()));
          job.args.pop_back();
          break;
        }
        std::string shown;
        for (const std::string& v : job.args.front()) shown += (shown.empty() ? "" : " ") + v;
        if (shown.size() > 50) shown = shown.substr(0, 50) + "...";
        throw UsageError("command line too long (" + std::to_string(len) +
                         " >= " + std::to_string(opts.max_line_length) + ") at input " +
                         std::to_string(records_taken + 1) + ": " + shown);
      }
      if (max_args != 0 && job.args.size() >= max_args) break;
    }
    // -m / -X at end of input: spread the last arguments evenly over the job slots, and keep
    // that count for the jobs that follow (GNU parallel's populate()).
    if (opts.args_per_job.fill_line && !spread && queue_empty()) {
      spread = true;
      if (job.args.size() > 1) {
        max_args = (job.args.size() + slots - 1) / slots;
        while (job.args.size() > max_args) {
          pending.push_front(std::move(job.args.back()));
          job.args.pop_back();
        }
      }
    }
    if (job.args.empty()) return std::nullopt;
    records_taken += job.args.size();
    ++next_seq;
    return job;
  }

  const RunOptions opts;
  const char separator;
  ArgumentRules rules;  // before the sources, whose readers refer to it
  // The command as its length is measured (an expression's value counts as its argument's).
  ReplacementStrings rpl;
  std::vector<std::string> expressions;
  internal::CompiledTemplate command;
  internal::CompiledTemplate::Length length;
  std::optional<internal::ColumnSplitter> splitter;
  std::optional<CsvFields> csv;  // --csv: instead of the --colsep splitter
  std::vector<std::unique_ptr<Source>> sources;
  std::vector<std::vector<Source*>> group_members;
  std::vector<SourceGroup> groups;
  std::vector<std::vector<std::string>> current;  // the current tuple of each group
  bool started = false;
  bool exhausted = false;
  bool first_combination = false;
  std::deque<std::vector<std::string>> pending;  // records read ahead or given back
  bool shuffled = false;
  std::size_t max_args;
  unsigned slots;
  bool spread = false;
  std::uint64_t next_seq = 1;
  std::uint64_t records_taken = 0;
};

JobSource::JobSource(const RunOptions& options) : impl_(std::make_unique<Impl>(options)) {}
JobSource::~JobSource() = default;
std::optional<JobInput> JobSource::next() { return impl_->next_job(); }

}  // namespace forkpool::cli
