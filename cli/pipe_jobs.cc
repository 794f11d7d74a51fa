#include "cli/pipe_jobs.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "cli/job_internal.h"
#include "cli/pipe_feed.h"
#include "cli/pipe_input.h"
#include "forkpool/task_input.h"
#include "io/epoll.h"
#include "io/private_dir.h"
#include "io/syscalls.h"

namespace forkpool::cli {
namespace {

using BlockPtr = std::shared_ptr<const PipeBlock>;

// Writes a block (header and body) to a new file: --cat. Throws std::system_error.
void write_file(const std::string& path, const PipeBlock& block) {
  io::Fd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!out) throw std::system_error(errno, std::generic_category(), "cannot write " + path);
  iovec header{const_cast<char*>(block.header->data()), block.header->size()};
  if (!io::write_all(out.get(), std::span(&header, 1), std::nullopt))
    throw std::system_error(EIO, std::generic_category(), "cannot write " + path);
  if (block.file < 0) {
    iovec body{const_cast<char*>(block.data.data()), block.data.size()};
    if (!io::write_all(out.get(), std::span(&body, 1), std::nullopt))
      throw std::system_error(EIO, std::generic_category(), "cannot write " + path);
    return;
  }
  loff_t from = block.range.offset;
  for (std::size_t left = block.range.length; left > 0;) {
    const ssize_t n = ::copy_file_range(block.file, &from, out.get(), nullptr, left, 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      throw std::system_error(n == 0 ? EIO : errno, std::generic_category(),
                              "cannot write " + path);
    }
    left -= static_cast<std::size_t>(n);
  }
}

// A block whole, header and body, as a job's request carries it (--pipe on other hosts);
// without the header when `with_header` is false (--round-robin's later blocks). A
// --pipepart range is read now: it is only as large as a block. Throws std::system_error.
std::string block_bytes(const PipeBlock& block, bool with_header = true) {
  std::string bytes = with_header ? *block.header : std::string();
  const std::size_t header = bytes.size();
  if (block.file < 0) return bytes + block.data;
  bytes.resize(header + block.body_size());
  read_exactly(block.file, bytes.data() + header, block.body_size(),
               static_cast<std::uint64_t>(block.range.offset), "pread");
  return bytes;
}

// --round-robin on other hosts: a job that takes blocks through the pool (TaskInput), as the
// feeding thread sees it.
struct RemoteJob {
  Future<ExecResult> future;
  // Until its worker says it took the last block (the first: its request's): it gets no
  // other, so neither side holds more than one block of it.
  bool waiting = true;
  bool closed = false;  // its input has ended, or it cannot take any more
};

}  // namespace

struct PipeJobs::Impl {
  Impl(const RunOptions& run_options, unsigned job_slots)
      : options(run_options.pipe),
        slots(job_slots),
        keep_for_retries(run_options.retries > 1),
        input(run_options, job_slots) {}

  void feed_loop();
  bool sync_with_runner();
  bool wants_input();
  void step_without_waiting();
  void produce();
  void deal();
  void write_to(PipeFeed& feed);
  void finish_round_robin();
  // --round-robin on other hosts.
  void sync_remote(std::vector<std::pair<std::uint64_t, RemoteJob>>& added,
                   std::vector<TaskInput::Key>& taken, std::vector<std::uint64_t>& gone);
  void deal_remote();
  void finish_remote();
  bool send_remote(RemoteJob& job, std::span<const char> bytes, bool end);
  void report_error(const std::string& what);

  const PipeOptions options;
  const unsigned slots;
  const bool keep_for_retries;           // --retries: a failed job is fed its block again
  io::PrivateDir dir{"forkpool-pipe-"};  // the named pipes and --cat files of the run
  io::EventFd wake;

  std::mutex mutex;
  std::condition_variable block_ready;
  // Guarded by `mutex`:
  std::deque<BlockPtr> ready;  // read, for jobs not started yet
  bool input_done = false;
  std::optional<std::string> error;
  bool stop = false;
  bool interrupted = false;
  std::vector<std::pair<std::uint64_t, std::unique_ptr<PipeFeed>>> incoming;
  std::vector<std::uint64_t> ended;  // feed keys
  unsigned started = 0;
  // --round-robin on other hosts: jobs submitted, acknowledgements heard, jobs ended.
  std::vector<std::pair<std::uint64_t, RemoteJob>> remote_incoming;
  std::vector<TaskInput::Key> remote_taken;
  std::vector<std::uint64_t> remote_ended;  // job seqs

  // The pool that streams --round-robin's blocks to other hosts, until forget_pool(). Held
  // by the feeding thread while it sends, so that the pool outlives every send.
  std::mutex pool_mutex;
  Pool* pool = nullptr;

  // The runner's thread only:
  std::map<std::uint64_t, BlockPtr> blocks;        // by job seq, until released
  std::map<std::uint64_t, std::uint64_t> feed_of;  // job seq -> its current feed's key
  std::map<std::uint64_t, std::uint64_t> sizes;    // job seq -> its block's size, for --joblog
  std::uint64_t next_seq = 0, next_key = 0;

  // The feeding thread only:
  PipeInput input;
  std::map<std::uint64_t, std::unique_ptr<PipeFeed>> feeds;  // by key
  bool dealing = false;  // --round-robin, every slot has its job
  BlockPtr to_deal;      // --round-robin: read, waiting for an idle job
  std::uint64_t last_dealt = 0;
  bool all_read = false;
  std::map<std::uint64_t, RemoteJob> remote;  // by job seq
  std::set<TaskInput::Key> taken_early;       // heard before their job was known here

  std::thread thread;  // last: started once everything above exists
};

// ---- The runner's side -----------------------------------------------------------------------

PipeJobs::PipeJobs(const RunOptions& options, unsigned slots)
    : impl_(std::make_unique<Impl>(options, slots)) {
  // The thread takes no signal: it starts before the runner blocks SIGINT/SIGTERM/SIGHUP for
  // its own signal thread, and a signal delivered here would end the process unhandled.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  impl_->thread = std::thread([impl = impl_.get()] { impl->feed_loop(); });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

PipeJobs::~PipeJobs() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stop = true;
  }
  impl_->wake.signal();
  impl_->thread.join();
}

std::optional<JobInput> PipeJobs::next_job() {
  BlockPtr block;
  {
    std::unique_lock lock(impl_->mutex);
    if (impl_->options.round_robin && impl_->started >= impl_->slots) return std::nullopt;
    impl_->block_ready.wait(lock, [&] {
      return !impl_->ready.empty() || impl_->input_done || impl_->error || impl_->interrupted;
    });
    if (impl_->interrupted) return std::nullopt;
    if (impl_->error) throw UsageError(*impl_->error);
    if (impl_->ready.empty()) return std::nullopt;
    block = std::move(impl_->ready.front());
    impl_->ready.pop_front();
    ++impl_->started;
  }
  impl_->wake.signal();  // read ahead the next one
  JobInput job;
  job.seq = ++impl_->next_seq;
  impl_->sizes.emplace(job.seq, block->size());
  impl_->blocks.emplace(job.seq, std::move(block));
  if (impl_->options.cat || impl_->options.fifo) {
    // GNU parallel's {} is the shell's $PARALLEL_TMP, unquoted, which names the job's file:
    // {/}, {= =} and --tagstring see those 13 characters, and so does the joblog.
    job.args.push_back({"$PARALLEL_TMP"});
  } else if (impl_->options.mode == PipeOptions::Mode::kPipePart) {
    // --pipepart gives each job GNU parallel's -n 0 argument.
    job.args.push_back({std::string()});
    job.no_args = true;
  }
  // --pipe: no argument at all, which GNU parallel renders as one empty one ({} is '').
  return job;
}

void PipeJobs::interrupt() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->interrupted = true;
    impl_->block_ready.notify_all();
  }
  impl_->wake.signal();  // the feeding thread starts dealing to the jobs that run
}

namespace {

// --cat, --fifo: the command reads its file through $PARALLEL_TMP, as GNU parallel's does.
// On this machine that is the job's environment; on another host the command sets it, and
// the worker replaces `name` there by its own file's path (ExecRequest::stdin_name).
void name_parallel_tmp(const std::string& name, bool in_request, ExecRequest& request) {
  if (!in_request) {
    request.env.push_back("PARALLEL_TMP=" + name);
    return;
  }
  request.command =
      "PARALLEL_TMP=" + internal::shell_quote(name) + "; export PARALLEL_TMP; " + request.command;
  request.argv.clear();  // the shell runs it, to expand $PARALLEL_TMP
}

}  // namespace

void PipeJobs::attach(std::uint64_t seq, ExecRequest& request) {
  const BlockPtr& block = impl_->blocks.at(seq);
  const std::string name = impl_->dir.file(std::to_string(seq));
  if (impl_->options.cat || impl_->options.fifo)
    name_parallel_tmp(name, impl_->options.in_request, request);
  if (impl_->options.in_request) {
    request.stdin_bytes = block_bytes(*block);
    if (impl_->options.cat || impl_->options.fifo) request.stdin_name = name;
    request.stdin_fifo = impl_->options.fifo;
    // --round-robin: the job's stdin stays open for the blocks dealt to it (submitted()).
    request.stdin_streamed = impl_->options.round_robin;
    // Without a retry to come the request holds the only copy the run needs: the parent then
    // holds a block per job only until its request is sent.
    if (!impl_->keep_for_retries) impl_->blocks.erase(seq);
    return;
  }
  if (impl_->options.cat) {
    if (::access(name.c_str(), F_OK) != 0) write_file(name, *block);
    return;
  }
  // A new pipe for each attempt: a retry must not share the one its predecessor left.
  const std::uint64_t key = ++impl_->next_key;
  // Large pipes for a few slots only: past the user's pipe quota (pipe-user-pages-soft,
  // 64 MiB by default) Linux gives every new pipe of the user, the pool's too, a single page.
  constexpr unsigned kLargePipeSlots = 16;
  auto feed = std::make_unique<PipeFeed>(
      impl_->options.fifo ? name : impl_->dir.file("in-" + std::to_string(key)),
      impl_->slots <= kLargePipeSlots);
  feed->push(block, true);
  if (!impl_->options.round_robin) feed->close_when_written();
  if (impl_->options.fifo) {
    feed->hold_until_drained();
  } else {
    request.stdin_path = feed->path();
  }
  impl_->feed_of[seq] = key;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->incoming.emplace_back(key, std::move(feed));
  }
  impl_->wake.signal();
}

void PipeJobs::submitted(std::uint64_t seq, Pool& pool, const Future<ExecResult>& future) {
  if (!impl_->options.in_request || !impl_->options.round_robin) return;
  {
    std::lock_guard lock(impl_->pool_mutex);
    if (impl_->pool != &pool) {
      impl_->pool = &pool;
      // In the pool's collector thread, under its lock: only a note and a wake-up.
      TaskInput::on_taken(pool, [impl = impl_.get()](TaskInput::Key key) {
        {
          std::lock_guard lock(impl->mutex);
          impl->remote_taken.push_back(key);
        }
        impl->wake.signal();
      });
    }
  }
  {
    std::lock_guard lock(impl_->mutex);
    impl_->remote_incoming.emplace_back(seq, RemoteJob{future});
  }
  impl_->wake.signal();
}

void PipeJobs::forget_pool() {
  std::lock_guard lock(impl_->pool_mutex);
  if (impl_->pool != nullptr) TaskInput::on_taken(*impl_->pool, {});
  impl_->pool = nullptr;
}

void PipeJobs::job_ended(std::uint64_t seq) {
  if (impl_->options.in_request && impl_->options.round_robin) {
    {
      std::lock_guard lock(impl_->mutex);
      impl_->remote_ended.push_back(seq);
    }
    impl_->wake.signal();
    return;
  }
  auto it = impl_->feed_of.find(seq);
  if (it == impl_->feed_of.end()) return;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->ended.push_back(it->second);
  }
  impl_->feed_of.erase(it);
  impl_->wake.signal();
}

std::uint64_t PipeJobs::bytes_sent(std::uint64_t seq) const {
  auto it = impl_->sizes.find(seq);
  return it == impl_->sizes.end() ? 0 : it->second;
}

void PipeJobs::release(std::uint64_t seq) {
  impl_->blocks.erase(seq);
  impl_->sizes.erase(seq);
  if (impl_->options.cat) ::unlink(impl_->dir.file(std::to_string(seq)).c_str());
}

// ---- The feeding thread ----------------------------------------------------------------------

// Takes the runner's news: new pipes to feed, ended jobs. Returns false when told to stop.
bool PipeJobs::Impl::sync_with_runner() {
  std::vector<std::pair<std::uint64_t, std::unique_ptr<PipeFeed>>> added;
  std::vector<std::uint64_t> gone;
  std::vector<std::pair<std::uint64_t, RemoteJob>> remote_added;
  std::vector<TaskInput::Key> taken;
  std::vector<std::uint64_t> remote_gone;
  {
    std::lock_guard lock(mutex);
    if (stop) return false;
    added.swap(incoming);
    gone.swap(ended);
    remote_added.swap(remote_incoming);
    taken.swap(remote_taken);
    remote_gone.swap(remote_ended);
    // Dealing starts once every slot has its job, or once no more jobs will start (the input
    // ran out first, or the runner stopped taking jobs): the running ones then get the rest.
    dealing =
        options.round_robin && (started >= slots || interrupted || (input_done && ready.empty()));
    if (dealing && !to_deal && !ready.empty()) {
      to_deal = std::move(ready.front());
      ready.pop_front();
    }
  }
  sync_remote(remote_added, taken, remote_gone);
  // Added before the ended ones go: a job may end before its pipe was ever fed.
  for (auto& [key, feed] : added) feeds.emplace(key, std::move(feed));
  for (std::uint64_t key : gone) feeds.erase(key);  // closes its pipe; the job is gone
  for (auto& [key, unused] : added) {
    if (auto it = feeds.find(key); it != feeds.end()) write_to(*it->second);
  }
  return true;
}

void PipeJobs::Impl::write_to(PipeFeed& feed) {
  try {
    if (feed.write_some()) feed.close_if_done();
  } catch (const std::system_error& e) {
    feed.abandon();
    report_error(e.what());
  }
}

// Reported like a read error: the jobs already running finish, nothing new starts.
void PipeJobs::Impl::report_error(const std::string& what) {
  std::lock_guard lock(mutex);
  if (!error) error = what;
  block_ready.notify_all();
}

// One step of reading: a block for the next job, or for --round-robin's next idle job.
void PipeJobs::Impl::produce() {
  std::optional<PipeBlock> block;
  try {
    block = input.next();
  } catch (const std::exception& e) {
    std::lock_guard lock(mutex);
    error = e.what();
    all_read = input_done = true;
    block_ready.notify_all();
    return;
  }
  if (block) {
    auto shared = std::make_shared<const PipeBlock>(std::move(*block));
    if (dealing) {
      to_deal = std::move(shared);
      return;
    }
    std::lock_guard lock(mutex);
    ready.push_back(std::move(shared));
    block_ready.notify_all();
  } else if (input.done()) {
    std::lock_guard lock(mutex);
    all_read = input_done = true;
    // No more jobs will start: --round-robin deals the rest to the ones that did (and then
    // closes their pipes), however few they are.
    dealing = options.round_robin && (started >= slots || interrupted || ready.empty());
    block_ready.notify_all();
  }
}

// --round-robin: the waiting block goes to the next job, in turn, whose pipe has taken all
// it was given.
void PipeJobs::Impl::deal() {
  if (options.in_request) {
    deal_remote();
    return;
  }
  if (!to_deal || feeds.empty()) return;
  auto it = feeds.upper_bound(last_dealt);
  for (std::size_t n = 0; n < feeds.size(); ++n, ++it) {
    if (it == feeds.end()) it = feeds.begin();
    PipeFeed& feed = *it->second;
    if (feed.pending() || feed.fd() < 0) continue;
    feed.push(std::move(to_deal), false);
    last_dealt = it->first;
    write_to(feed);
    return;
  }
}

void PipeJobs::Impl::finish_round_robin() {
  if (options.in_request) finish_remote();
  for (auto& [key, feed] : feeds) {
    feed->close_when_written();
    feed->close_if_done();
  }
}

// --round-robin on other hosts: the runner's news. An acknowledgement may come before its
// job's submission is seen here (the worker can be that quick): it waits in taken_early.
void PipeJobs::Impl::sync_remote(std::vector<std::pair<std::uint64_t, RemoteJob>>& added,
                                 std::vector<TaskInput::Key>& taken,
                                 std::vector<std::uint64_t>& gone) {
  for (auto& [seq, job] : added) {
    if (taken_early.erase(TaskInput::key(job.future)) != 0) job.waiting = false;
    remote.emplace(seq, std::move(job));
  }
  for (TaskInput::Key key : taken) {
    auto it = std::find_if(remote.begin(), remote.end(), [&](const auto& entry) {
      return TaskInput::key(entry.second.future) == key;
    });
    if (it == remote.end()) {
      taken_early.insert(key);
    } else {
      it->second.waiting = false;
    }
  }
  for (std::uint64_t seq : gone) {
    auto it = remote.find(seq);
    if (it == remote.end()) continue;
    taken_early.erase(TaskInput::key(it->second.future));
    remote.erase(it);
  }
}

// The waiting block goes to the next job, in turn, that has taken all it was given.
void PipeJobs::Impl::deal_remote() {
  if (!to_deal || remote.empty()) return;
  auto it = remote.upper_bound(last_dealt);
  for (std::size_t n = 0, count = remote.size(); n < count && to_deal; ++n, ++it) {
    if (it == remote.end()) it = remote.begin();
    RemoteJob& job = it->second;
    if (job.waiting || job.closed) continue;
    last_dealt = it->first;
    std::string bytes;
    try {
      bytes = block_bytes(*to_deal, false);
    } catch (const std::system_error& e) {
      to_deal.reset();
      report_error(e.what());
      return;
    }
    // A job whose task is not running any more (its worker died) is skipped: the block goes
    // to the next.
    if (send_remote(job, bytes, false)) to_deal.reset();
  }
}

// The input has run out: each job's stdin ends once it has taken its last block.
void PipeJobs::Impl::finish_remote() {
  for (auto& [seq, job] : remote) {
    if (!job.waiting && !job.closed) send_remote(job, {}, true);
  }
}

bool PipeJobs::Impl::send_remote(RemoteJob& job, std::span<const char> bytes, bool end) {
  std::lock_guard lock(pool_mutex);
  const bool sent = pool != nullptr && TaskInput::send(*pool, job.future, bytes, end);
  job.waiting = sent && !end;
  job.closed = !sent || end;
  return sent;
}

// Whether the reading side should read now: a job is waiting for its block (one is read
// ahead), or --round-robin has no block in hand for the next idle job.
bool PipeJobs::Impl::wants_input() {
  std::lock_guard lock(mutex);
  return !all_read && (dealing ? !to_deal : ready.empty());
}

// Deals and reads what can be dealt and read without waiting for a descriptor.
void PipeJobs::Impl::step_without_waiting() {
  for (;;) {
    bool progress = false;
    if (dealing && to_deal) {
      deal();
      progress = !to_deal;
    }
    if (wants_input() && input.wait_fd() < 0) {
      produce();  // a file: reading does not wait long
      progress = true;
    }
    if (!progress) break;
  }
  if (dealing && all_read && !to_deal) finish_round_robin();
}

void PipeJobs::Impl::feed_loop() {
  io::block_sigpipe_in_this_thread();
  std::vector<pollfd> fds;
  std::vector<PipeFeed*> polled;
  while (sync_with_runner()) {
    step_without_waiting();
    fds.assign(1, {wake.fd().get(), POLLIN, 0});
    polled.assign(1, nullptr);
    if (wants_input() && input.wait_fd() >= 0) {
      fds.push_back({input.wait_fd(), POLLIN, 0});
      polled.push_back(nullptr);
    }
    bool draining = false;
    for (auto& [key, feed] : feeds) {
      if (feed->pending()) {
        fds.push_back({feed->fd(), POLLOUT, 0});
        polled.push_back(feed.get());
      } else if (feed->waiting_for_drain() && !feed->close_if_done()) {
        draining = true;  // --fifo: no event says that the job has read it all
      }
    }
    const int n = ::poll(fds.data(), fds.size(), draining ? 5 : -1);
    if (n <= 0) continue;  // EINTR, or a --fifo pipe to look at again
    if (fds[0].revents != 0) wake.clear();
    for (std::size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      if (polled[i] == nullptr) {
        produce();
      } else {
        write_to(*polled[i]);
      }
    }
  }
}

}  // namespace forkpool::cli
