// ScopedEnv: an environment variable set (or unset) for one scope of a test.
#pragma once

#include <stdlib.h>

#include <optional>
#include <string>

namespace forkpool::testing {

// Sets `name` to `value` (unsets it when `value` is null) until destroyed, then restores what
// it was. setenv(3) is not thread-safe: only for a test's own thread, before it starts others.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace forkpool::testing
