// Fd: the one owner of a file descriptor.
#pragma once

namespace forkpool::io {

// Move-only owner of a file descriptor; closes it on destruction.
// Every Fd that forkpool creates is close-on-exec, so no descriptor leaks into a program a
// worker or a task executes; a descriptor meant for a child is dup2'ed into place there.
class Fd {
 public:
  Fd() = default;
  // Takes ownership of `fd` (which may be -1 for "none").
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

  // Gives up ownership without closing.
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes the descriptor (never retried on EINTR: Linux has released it either way).
  void reset(int fd = -1);

  // A close-on-exec duplicate of `fd`, numbered at least `min_fd`. Throws std::system_error.
  static Fd duplicate(int fd, int min_fd = 0);

 private:
  int fd_ = -1;
};

}  // namespace forkpool::io
