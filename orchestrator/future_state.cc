#include "forkpool/detail/future_state.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstddef>
#include <ctime>
#include <memory>
#include <new>
#include <optional>

#include "forkpool/errors.h"

namespace forkpool::detail {

namespace {
bool is_settled(FutureStatus s) {
  return s == FutureStatus::kValue || s == FutureStatus::kError || s == FutureStatus::kCancelled;
}

// The on_ready callbacks running in this thread, innermost first: a callback may cancel another
// future, whose callback then runs inside it. Per thread, because a callback runs in the
// collector or in whichever caller settled the future (cancel(), submit(), terminate()).
struct CallbackFrame {
  const void* owner;
  const CallbackFrame* outer;
};
thread_local const CallbackFrame* t_callbacks = nullptr;

class InCallback {
 public:
  explicit InCallback(const void* owner) : frame_{owner, t_callbacks} { t_callbacks = &frame_; }
  ~InCallback() { t_callbacks = frame_.outer; }
  InCallback(const InCallback&) = delete;
  InCallback& operator=(const InCallback&) = delete;

 private:
  CallbackFrame frame_;
};

// The futex a wait sleeps on. FUTEX_WAIT returns at once unless the word is still 0, so a
// settle between the caller's check and the sleep is never missed; EINTR and spurious wake-ups
// return to the caller's loop, which looks again.
void sleep_while_zero(const std::atomic<std::uint32_t>& word,
                      std::optional<std::chrono::nanoseconds> timeout) {
  timespec relative{};
  if (timeout) {
    relative.tv_sec = static_cast<time_t>(timeout->count() / 1'000'000'000);
    relative.tv_nsec = static_cast<long>(timeout->count() % 1'000'000'000);
  }
  ::syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, 0,
            timeout ? &relative : nullptr, nullptr, 0);
}

void wake_all(const std::atomic<std::uint32_t>& word) {
  ::syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, INT_MAX,
            nullptr, nullptr, 0);
}

}  // namespace

namespace {

// Memory for future states, kSlots to an allocation, taken by each submitting thread from a
// block of its own. Each state still has its own count and is destroyed, with the result it
// holds, by its last holder; only the slot's memory waits for the block's other slots. An
// allocation per state, made in the submitting thread and mostly freed in the collector's,
// cost more than anything else a tiny call does in the caller's thread (glibc's per-thread
// caches fill with the other thread's blocks); returning a slot is one atomic decrement.
class StateBlock {
 public:
  static constexpr std::size_t kSlots = 32;
  // Room for a state and the count make_shared-style allocation puts beside it.
  static constexpr std::size_t kRoom = (sizeof(FutureState) + 32 + 15) / 16 * 16;

  // A slot of this thread's block (a new block when it is used up).
  static void* take() {
    ThreadBlock& mine = t_block;
    if (mine.gone) {  // the thread is ending: a block of one slot
      auto* block = new StateBlock;
      block->give_back(kSlots - 1);
      return block->slots_[0].room;
    }
    if (mine.used == kSlots) {
      mine.block = new StateBlock;
      mine.used = 0;
    }
    return mine.block->slots_[mine.used++].room;
  }
  // Returns the slot holding `p`; the last slot returned frees the block.
  static void give_back(void* p) noexcept {
    auto* slot = reinterpret_cast<Slot*>(static_cast<std::byte*>(p) - offsetof(Slot, room));
    slot->block->give_back(1);
  }

 private:
  struct alignas(std::max_align_t) Slot {
    StateBlock* block;
    alignas(std::max_align_t) std::byte room[kRoom];
  };
  // The thread's current block; the slots it never handed out are returned when it ends.
  struct ThreadBlock {
    StateBlock* block = nullptr;
    std::size_t used = kSlots;
    bool gone = false;
    ThreadBlock() = default;
    ThreadBlock(const ThreadBlock&) = delete;
    ThreadBlock& operator=(const ThreadBlock&) = delete;
    ~ThreadBlock() {
      if (block != nullptr) block->give_back(kSlots - used);
      gone = true;
    }
  };
  static thread_local ThreadBlock t_block;

  StateBlock() {
    for (Slot& slot : slots_) slot.block = this;
  }
  void give_back(std::size_t count) noexcept {
    if (count != 0 && unreturned_.fetch_sub(count, std::memory_order_acq_rel) == count) delete this;
  }

  std::atomic<std::size_t> unreturned_{kSlots};
  Slot slots_[kSlots];
};
thread_local StateBlock::ThreadBlock StateBlock::t_block;

template <typename T>
struct StateAllocator {
  using value_type = T;
  StateAllocator() = default;
  template <typename U>
  explicit StateAllocator(const StateAllocator<U>& /*other*/) noexcept {}
  T* allocate(std::size_t n) {
    static_assert(StateBlock::kRoom >= sizeof(T), "a slot holds a state and its count");
    static_assert(alignof(std::max_align_t) >= alignof(T), "a slot's room is max-aligned");
    if (n != 1) throw std::bad_alloc();
    return static_cast<T*>(StateBlock::take());
  }
  void deallocate(T* p, std::size_t /*n*/) noexcept { StateBlock::give_back(p); }
  template <typename U>
  bool operator==(const StateAllocator<U>& /*other*/) const noexcept {
    return true;
  }
};

}  // namespace

std::shared_ptr<FutureState> make_future_state() {
  return std::allocate_shared<FutureState>(StateAllocator<FutureState>{});
}

bool in_ready_callback_of(const void* owner) {
  if (owner == nullptr) return false;
  for (const CallbackFrame* frame = t_callbacks; frame != nullptr; frame = frame->outer) {
    if (frame->owner == owner) return true;
  }
  return false;
}

void FutureState::run_callback(const std::function<void()>& callback, const void* owner) {
  InCallback marker(owner);
  callback();
}

void FutureState::set_owner(const void* owner) { owner_.store(owner, std::memory_order_release); }

void FutureState::set_running() {
  std::lock_guard lock(mutex_);
  if (status_ == FutureStatus::kPending) status_ = FutureStatus::kRunning;
}

void FutureState::set_pending() {
  std::lock_guard lock(mutex_);
  if (status_ == FutureStatus::kRunning) status_ = FutureStatus::kPending;
}

bool FutureState::set_value(ResultBytes&& value) {
  return settle(FutureStatus::kValue, std::move(value), std::exception_ptr());
}

bool FutureState::set_error(std::exception_ptr error) {
  return settle(FutureStatus::kError, ResultBytes(), std::move(error));
}

bool FutureState::set_cancelled(std::exception_ptr error) {
  return settle(FutureStatus::kCancelled, ResultBytes(), std::move(error));
}

bool FutureState::cancel() {
  if (ready() || !hooks_) return false;
  return hooks_->cancel(*this);
}

bool FutureState::settle(FutureStatus status, ResultBytes&& value, std::exception_ptr&& error) {
  std::function<void()> callback;
  const void* owner = nullptr;
  {
    std::lock_guard lock(mutex_);
    if (is_settled(status_)) return false;
    status_ = status;
    value_ = std::move(value);
    if (error) error_ = std::move(error);  // each a call, on a tiny call's path: only if set
    // After the outcome: a reader that sees the flag reads the outcome without the mutex.
    settled_flag_.store(1, std::memory_order_seq_cst);
    if (on_settled_) callback = std::move(on_settled_);
    owner = owner_.load(std::memory_order_acquire);
    // Under the mutex: once unwatch() has taken it, no push can reach a set being destroyed.
    for (const Watcher& watcher : watchers_) watcher.set->push(watcher.index);
    watchers_.clear();
  }
  // Seq_cst with the waiter's count and load: either it sees the flag or this sees it waiting.
  // Waiters first, then the callback: holding them until it returned would need the flag set
  // after it, and Pool::map's reader, which its chunks' callbacks wake, would then find the
  // flag unset and sleep on it again for each chunk.
  if (waiters_.load(std::memory_order_seq_cst) != 0) wake_all(settled_flag_);
  if (callback) run_callback(callback, owner);
  return true;
}

void FutureState::on_settled(std::function<void()> callback) {
  const void* owner = nullptr;
  {
    std::lock_guard lock(mutex_);
    if (!is_settled(status_)) {
      on_settled_ = std::move(callback);
      return;
    }
    owner = owner_.load(std::memory_order_acquire);
  }
  run_callback(callback, owner);
}

void FutureState::watch(ReadySet* set, std::size_t index) {
  std::lock_guard lock(mutex_);
  if (is_settled(status_)) {
    set->push(index);
  } else {
    watchers_.push_back({set, index});
  }
}

void FutureState::unwatch(ReadySet* set) {
  std::lock_guard lock(mutex_);
  std::erase_if(watchers_, [&](const Watcher& watcher) { return watcher.set == set; });
}

FutureStatus FutureState::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

// The flag, not the mutex: settle() sets it with the status, and a batch's send() asks this of
// every call it hands over.
bool FutureState::ready() const { return settled_flag_.load(std::memory_order_acquire); }

void FutureState::prepare_wait() const {
  const void* owner = nullptr;
  {
    std::lock_guard lock(mutex_);
    if (!is_settled(status_)) owner = owner_.load(std::memory_order_acquire);
  }
  if (in_ready_callback_of(owner)) {
    throw UsageError(
        "waiting for an unfinished task inside an on_ready callback of the same pool would "
        "never end (the callback may hold up the thread that settles it); wait after the "
        "callback returns, or in another thread");
  }
  if (hooks_) hooks_->before_wait();
}

void FutureState::wait() const {
  if (settled_flag_.load(std::memory_order_acquire) != 0) return;
  prepare_wait();
  waiters_.fetch_add(1, std::memory_order_seq_cst);
  while (settled_flag_.load(std::memory_order_seq_cst) == 0) sleep_while_zero(settled_flag_, {});
  waiters_.fetch_sub(1, std::memory_order_relaxed);
}

bool FutureState::wait_for(std::chrono::nanoseconds timeout) const {
  if (settled_flag_.load(std::memory_order_acquire) != 0) return true;
  if (hooks_) hooks_->before_wait();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  waiters_.fetch_add(1, std::memory_order_seq_cst);
  while (settled_flag_.load(std::memory_order_seq_cst) == 0) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds::zero()) break;
    sleep_while_zero(settled_flag_, std::chrono::duration_cast<std::chrono::nanoseconds>(left));
  }
  waiters_.fetch_sub(1, std::memory_order_relaxed);
  return settled_flag_.load(std::memory_order_acquire) != 0;
}

std::span<const char> FutureState::payload_or_throw() const {
  // Settled (as REQUIRES says), the outcome no longer changes: settle() wrote it before the
  // flag, once. The mutex only for a caller that breaks the contract.
  if (!settled_flag_.load(std::memory_order_acquire)) {
    std::lock_guard lock(mutex_);
    if (error_) std::rethrow_exception(error_);
    return value_.view();
  }
  if (error_) std::rethrow_exception(error_);
  return value_.view();
}

std::exception_ptr FutureState::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

}  // namespace forkpool::detail
