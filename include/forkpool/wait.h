// Waiting on many futures at once, without on_ready plumbing.
//
//   std::vector<forkpool::Future<int>> futures = ...;
//   for (forkpool::Future<int>& f : forkpool::as_completed(futures)) use(f.get());
//   std::size_t first = forkpool::wait_any(futures);  // the index of one that is ready
//
// Any number of these may wait on the same futures at once, from any threads, alongside one
// on_ready callback per future. Futures of an unsent batch send their batch first, as get()
// does. Inside an on_ready callback of a pool, waiting on an unfinished future of that same
// pool throws UsageError, as get() does.
#pragma once

#include <chrono>
#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "forkpool/detail/future_state.h"
#include "forkpool/detail/ready_set.h"
#include "forkpool/errors.h"
#include "forkpool/future.h"

namespace forkpool {
namespace detail {

template <typename T>
inline constexpr bool kIsFuture = false;
template <typename R>
inline constexpr bool kIsFuture<Future<R>> = true;

template <typename Range>
concept FutureRange = std::ranges::forward_range<Range> &&
    kIsFuture<std::remove_cvref_t<std::ranges::range_reference_t<Range>>>;

// Watches states with one ReadySet while it lives: each reports its index once it settles.
class ReadyWatch {
 public:
  ReadyWatch() = default;
  ReadyWatch(ReadyWatch&&) noexcept = default;
  ReadyWatch& operator=(ReadyWatch&&) = delete;
  ~ReadyWatch() {
    // Unwatched before the set goes: a settle in another thread may be pushing into it.
    for (const auto& state : states_) state->unwatch(set_.get());
  }

  // `index` is reported once the future settles (at once if it has). Throws UsageError for a
  // default-constructed future, or for an unfinished one inside an on_ready callback of its
  // pool.
  template <typename R>
  void add(const Future<R>& future, std::size_t index) {
    const std::shared_ptr<FutureState>& state = FutureAccess::state(future);
    if (!state) {
      throw UsageError("future " + std::to_string(index) +
                       " of the range is default-constructed and has no task");
    }
    try {
      state->prepare_wait();
    } catch (const UsageError&) {
      throw;
    } catch (...) {
      // The batch could not be sent: the future holds that error, and reports it when read.
      if (!state->ready()) throw;
    }
    states_.push_back(state);
    state->watch(set_.get(), index);
  }

  std::size_t next() { return set_->pop(); }
  std::optional<std::size_t> next_until(std::chrono::steady_clock::time_point deadline) {
    return set_->pop_until(deadline);
  }

 private:
  std::unique_ptr<ReadySet> set_ = std::make_unique<ReadySet>();
  std::vector<std::shared_ptr<FutureState>> states_;
};

template <FutureRange Range>
std::optional<std::size_t> wait_any_until(const Range& futures,
                                          std::chrono::steady_clock::time_point deadline) {
  if (std::ranges::empty(futures)) {
    throw UsageError("wait_any() on an empty range of futures could never return");
  }
  ReadyWatch watch;
  std::size_t index = 0;
  for (const auto& future : futures) watch.add(future, index++);
  return watch.next_until(deadline);
}

}  // namespace detail

// Waits until one of `futures` has settled and returns its index (the lowest, if several
// already have). Throws UsageError if the range is empty or holds a default-constructed future.
template <detail::FutureRange Range>
std::size_t wait_any(const Range& futures) {
  return *detail::wait_any_until(futures, std::chrono::steady_clock::time_point::max());
}

// The same, giving up after `timeout`: nullopt if none settled by then.
template <detail::FutureRange Range, typename Rep, typename Period>
std::optional<std::size_t> wait_any_for(const Range& futures,
                                        std::chrono::duration<Rep, Period> timeout) {
  const auto now = std::chrono::steady_clock::now();
  const auto left = std::chrono::steady_clock::time_point::max() - now;
  const auto wait = std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
  return detail::wait_any_until(futures, wait < left ? now + wait : now + left);
}

// The futures of a range, each once, in the order they settle: those already settled first,
// in range order. Lazy: each step waits only for the next one. Made by as_completed(), over
// the caller's own futures, which must outlive it.
template <detail::FutureRange Range>
class AsCompleted {
  using Reference = std::ranges::range_reference_t<Range>;
  using Element = std::remove_reference_t<Reference>;

 public:
  explicit AsCompleted(Range& futures) {
    std::size_t index = 0;
    for (Element& future : futures) {
      watch_.add(future, index++);
      elements_.push_back(&future);
    }
  }

  class iterator {
   public:
    using value_type = std::remove_cv_t<Element>;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(AsCompleted* owner) : owner_(owner) {}
    // Waits for the next future to settle.
    Element& operator*() const { return *owner_->elements_[owner_->current()]; }
    Element* operator->() const { return &**this; }
    // Its position in the range.
    std::size_t index() const { return owner_->current(); }
    iterator& operator++() {
      owner_->advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const {
      return owner_->yielded_ == owner_->elements_.size();
    }

   private:
    AsCompleted* owner_ = nullptr;
  };

  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() { return {}; }

 private:
  std::size_t current() {
    if (!current_) current_ = watch_.next();
    return *current_;
  }
  void advance() {
    current();
    current_.reset();
    ++yielded_;
  }

  detail::ReadyWatch watch_;
  std::vector<Element*> elements_;
  std::optional<std::size_t> current_;
  std::size_t yielded_ = 0;
};

// See AsCompleted. Throws UsageError as wait_any() does (an empty range is fine: it yields
// nothing).
template <detail::FutureRange Range>
AsCompleted<Range> as_completed(Range& futures) {
  return AsCompleted<Range>(futures);
}

}  // namespace forkpool
