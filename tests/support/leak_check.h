// LeakCheck: every process test ends with it (after folly's checkFdLeak and libuv's
// waitpid -> ECHILD). It records this process's open descriptors when constructed; check()
// then asserts the same set is open and that this process has no child at all — none
// running, no zombie.
#pragma once

#include <set>
#include <string>

namespace forkpool::testing {

std::set<int> open_fds();
// "" if this process has no children; otherwise a description of them.
std::string children_left();
// The threads this process has now, as the kernel counts them (a sanitizer's own included);
// -1 if /proc/self/status cannot be read.
int threads_of_this_process();

class LeakCheck {
 public:
  LeakCheck() : before_(open_fds()) {}
  // Adds gtest failures for leaked descriptors or children.
  void check() const;

 private:
  std::set<int> before_;
};

}  // namespace forkpool::testing
