// The guard process behind JobGuard (workers/job_guard.h).
#include "workers/job_guard.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <new>

namespace forkpool::workers {
namespace {

// The process groups of the running jobs, in memory this process shares with its guard (a
// MAP_SHARED page mapped before the guard is forked): a slot holds a group's number while its
// job runs, 0 when free. The worker writes it with no system call and the guard reads it only
// once the worker is gone, so a job costs the guard nothing: before, each job's start and end
// were a message through the pipe, and each woke the guard (two context switches a message).
constexpr std::size_t kGroupSlots = 64;  // jobs one process runs at once
struct GroupTable {
  std::array<std::atomic<std::int32_t>, kGroupSlots> slots;
};
static_assert(std::atomic<std::int32_t>::is_always_lock_free, "shared between processes");

// "FORKPOOL_JOB_GUARD=<token>", unique to this process's guard: every job it runs carries it in
// its environment, and so does everything the job starts, unless it clears its environment.
char g_marker[64];

// Whether /proc/<pid>/environ has the entry `marker` (NUL-separated entries, read in pieces).
// Async-signal-safe: open, read and close only.
bool carries_marker(const char* pid, const char* marker, std::size_t length) {
  char path[64] = "/proc/";
  std::size_t at = 6;
  for (const char* c = pid; *c != '\0' && at + 9 < sizeof path; ++c) path[at++] = *c;
  for (const char* c = "/environ"; *c != '\0'; ++c) path[at++] = *c;
  path[at] = '\0';
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buffer[4096];
  std::size_t matched = 0;  // bytes of `marker` matched at the start of this entry
  bool alive = true;        // false once this entry differs from `marker`
  bool found = false;
  ssize_t n;
  while (!found && (n = ::read(fd, buffer, sizeof buffer)) > 0) {
    for (ssize_t i = 0; i < n && !found; ++i) {
      if (buffer[i] == '\0') {
        found = alive && matched == length;
        matched = 0;
        alive = true;
      } else if (alive && matched < length && buffer[i] == marker[matched]) {
        ++matched;
      } else {
        alive = false;
      }
    }
  }
  ::close(fd);
  return found;
}

// SIGKILLs every process whose environment carries `marker`: what a job started before the
// guard heard of its group (the spawn races the message), and what left the job's group.
// Repeats while it finds any, since a process found may have forked meanwhile.
void kill_marked(const char* marker) {
  std::size_t length = 0;
  while (marker[length] != '\0') ++length;
  for (int pass = 0; pass < 16; ++pass) {
    const int proc = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (proc < 0) return;
    bool killed = false;
    char entries[8192];
    long n;
    while ((n = ::syscall(SYS_getdents64, proc, entries, sizeof entries)) > 0) {
      for (long off = 0; off < n;) {
        const char* record = entries + off;
        const auto reclen = *reinterpret_cast<const unsigned short*>(record + 16);
        const char* name = record + 19;  // struct linux_dirent64: ino, off, reclen, type, name
        off += reclen;
        if (name[0] < '1' || name[0] > '9') continue;
        pid_t pid = 0;
        for (const char* c = name; *c >= '0' && *c <= '9'; ++c) pid = pid * 10 + (*c - '0');
        if (pid == ::getpid() || !carries_marker(name, marker, length)) continue;
        ::kill(pid, SIGKILL);
        killed = true;
      }
    }
    ::close(proc);
    if (!killed) return;
  }
}

// The guard's whole life. It runs in a child forked from a possibly multi-threaded process,
// so from here on only async-signal-safe calls: read, kill, close_range, sigaction, _exit.
[[noreturn]] void guard_main(int read_fd, const GroupTable* table) {
  // Hold nothing but the pipe: a kept copy of the worker's protocol pipe or of a job's output
  // pipe would hide their EOF from whoever waits for it.
  const bool below =
      read_fd == 0 || ::syscall(SYS_close_range, 0u, static_cast<unsigned>(read_fd - 1), 0u) == 0;
  const bool above = ::syscall(SYS_close_range, static_cast<unsigned>(read_fd + 1), ~0u, 0u) == 0;
  if (!below || !above) {
    // A kernel before 5.9: one close(2) per possible descriptor, once per worker.
    rlimit limit{};
    const int most = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < (1u << 20)
                         ? static_cast<int>(limit.rlim_cur)
                         : 1 << 16;
    for (int fd = 0; fd < most; ++fd)
      if (fd != read_fd) ::close(fd);
  }
  // A terminal's Ctrl-C or a group-wide TERM is for the worker, which stops its job itself;
  // the guard must outlive the worker to do its part, so it ends only by EOF (or SIGKILL).
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2})
    ::sigaction(s, &ignore, nullptr);
  // Nothing is ever written to the pipe: it only ends, when the worker is gone.
  for (;;) {
    char byte;
    const ssize_t n = ::read(read_fd, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
  }
  if (table != nullptr) {
    for (const auto& slot : table->slots) {
      const pid_t pgid = slot.load(std::memory_order_acquire);
      if (pgid > 0) ::kill(-pgid, SIGKILL);
    }
  }
  kill_marked(g_marker);
  ::_exit(0);
}

// Forks the guard as a grandchild that init adopts, sharing `table` with it (null: the marker
// scan alone); returns the write end of the pipe whose EOF tells it this process is gone, or -1.
int start_guard(const GroupTable* table) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
  const pid_t middle = ::fork();
  if (middle == 0) {
    // Between fork and exit: async-signal-safe calls only.
    ::close(fds[1]);
    if (::fork() == 0) guard_main(fds[0], table);
    ::_exit(0);
  }
  ::close(fds[0]);
  if (middle < 0) {
    ::close(fds[1]);
    return -1;
  }
  int status = 0;
  while (::waitpid(middle, &status, 0) < 0 && errno == EINTR) {
  }
  return fds[1];
}

}  // namespace

JobGuard& JobGuard::of_this_process() {
  // One guard per process: a forked child (a worker forked from a process that ran jobs) has
  // a copy of this object but not the guard's attention, so it starts its own, with a table of
  // its own (the inherited one is the parent's guard's, and is left alone). The copied write
  // end is not closed: in a forked worker that descriptor number may already be reused.
  static JobGuard guard;
  // The process whose guard `guard` is, and the one one of whose threads is starting it. Two
  // threads' first jobs may come at once: one starts the guard, the other waits for it. Not a
  // mutex: a fork while a thread of the parent held one would leave it held in the child.
  static std::atomic<pid_t> owner{0};
  static std::atomic<pid_t> starting{0};
  const pid_t self = ::getpid();
  while (owner.load(std::memory_order_acquire) != self) {
    pid_t seen = starting.load(std::memory_order_acquire);
    if (seen == self) {
      ::sched_yield();  // another thread of this process is starting it
      continue;
    }
    if (!starting.compare_exchange_weak(seen, self, std::memory_order_acq_rel)) continue;
    guard.start(self);
    owner.store(self, std::memory_order_release);
  }
  return guard;
}

void JobGuard::start(pid_t self) {
  std::uint64_t nonce = 0;
  if (::getrandom(&nonce, sizeof nonce, GRND_NONBLOCK) != sizeof nonce) nonce = 0;
  std::snprintf(g_marker, sizeof g_marker, "FORKPOOL_JOB_GUARD=%d-%016llx", static_cast<int>(self),
                static_cast<unsigned long long>(nonce));
  // Mapped for the life of the process, as the pipe's write end is kept: zero-filled, so every
  // slot starts free. Without it the guard still runs, and finds the jobs by their marker.
  void* shared = ::mmap(nullptr, sizeof(GroupTable), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  GroupTable* table = shared == MAP_FAILED ? nullptr : new (shared) GroupTable;
  write_fd_ = start_guard(table);
  table_ = write_fd_ >= 0 ? table : nullptr;
  if (table != nullptr && table_ == nullptr) ::munmap(shared, sizeof(GroupTable));
}

const char* JobGuard::marker() const { return write_fd_ < 0 ? nullptr : g_marker; }

void JobGuard::watch(pid_t pgid) {
  // More jobs at once than slots: the one left out is found by its environment marker alone.
  replace_slot(0, pgid);
}

void JobGuard::forget(pid_t pgid) { replace_slot(pgid, 0); }

void JobGuard::replace_slot(pid_t from, pid_t to) {
  if (table_ == nullptr) return;
  for (auto& slot : static_cast<GroupTable*>(table_)->slots) {
    std::int32_t expected = from;
    if (slot.compare_exchange_strong(expected, to, std::memory_order_acq_rel)) return;
  }
}

}  // namespace forkpool::workers
