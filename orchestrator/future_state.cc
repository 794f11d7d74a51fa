#include "forkpool/detail/future_state.h"

namespace forkpool::detail {

namespace {
bool is_settled(FutureStatus s) {
  return s == FutureStatus::kValue || s == FutureStatus::kError || s == FutureStatus::kCancelled;
}
}  // namespace

void FutureState::set_running() {
  std::lock_guard lock(mutex_);
  if (status_ == FutureStatus::kPending) status_ = FutureStatus::kRunning;
}

void FutureState::set_pending() {
  std::lock_guard lock(mutex_);
  if (status_ == FutureStatus::kRunning) status_ = FutureStatus::kPending;
}

bool FutureState::set_value(Payload payload) {
  return settle(FutureStatus::kValue, std::move(payload), nullptr);
}

bool FutureState::set_error(std::exception_ptr error) {
  return settle(FutureStatus::kError, {}, std::move(error));
}

bool FutureState::set_cancelled(std::exception_ptr error) {
  return settle(FutureStatus::kCancelled, {}, std::move(error));
}

bool FutureState::cancel() {
  if (ready() || !canceller_) return false;
  return canceller_();
}

bool FutureState::settle(FutureStatus status, Payload payload, std::exception_ptr error) {
  std::function<void()> callback;
  {
    std::lock_guard lock(mutex_);
    if (is_settled(status_)) return false;
    status_ = status;
    payload_ = std::move(payload);
    error_ = std::move(error);
    callback = std::move(on_settled_);
  }
  settled_.notify_all();
  if (callback) callback();
  return true;
}

void FutureState::on_settled(std::function<void()> callback) {
  {
    std::lock_guard lock(mutex_);
    if (!is_settled(status_)) {
      on_settled_ = std::move(callback);
      return;
    }
  }
  callback();
}

FutureStatus FutureState::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

bool FutureState::ready() const { return is_settled(status()); }

void FutureState::wait() const {
  if (before_wait_) before_wait_();
  std::unique_lock lock(mutex_);
  settled_.wait(lock, [&] { return is_settled(status_); });
}

bool FutureState::wait_for(std::chrono::nanoseconds timeout) const {
  if (before_wait_) before_wait_();
  std::unique_lock lock(mutex_);
  return settled_.wait_for(lock, timeout, [&] { return is_settled(status_); });
}

const Payload& FutureState::payload_or_throw() const {
  std::lock_guard lock(mutex_);
  if (error_) std::rethrow_exception(error_);
  return payload_;
}

}  // namespace forkpool::detail
