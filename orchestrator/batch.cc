#include "forkpool/batch.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "forkpool/pool.h"
#include "orchestrator/pool_core.h"

namespace forkpool {
namespace detail {

// Shared by the Batch and by its futures' hooks, so a future can send its batch and cancel a
// call the batch still holds. A future keeps it alive; it holds the futures' states only until
// it is sent, which the Batch's destructor does at the latest.
class BatchState : public FutureHooks, public std::enable_shared_from_this<BatchState> {
 public:
  BatchState(std::weak_ptr<orchestrator::CancelLink> link, const void* owner)
      : link_(std::move(link)), owner_(owner) {}

  std::shared_ptr<FutureState> add(TaskId function, const std::string* name,
                                   std::span<const char> task, const TaskOptions& options) {
    std::lock_guard lock(mutex_);
    if (sent_) throw BatchSent();
    std::shared_ptr<FutureState> state = make_future_state();
    state->set_owner(owner_);
    state->set_hooks(shared_from_this());
    if (task.size() > kSharedCallLimit) {
      // Its own buffer, freed once it runs, rather than a share that lasts the whole batch.
      calls_.push_back(
          orchestrator::Call{function, name, Payload(task.begin(), task.end()), options, state});
      parts_.push_back({});
    } else {
      calls_.push_back(orchestrator::Call{function, name, {}, options, state});
      parts_.push_back({encoded_.size(), task.size()});
      encoded_.insert(encoded_.end(), task.begin(), task.end());
    }
    ++size_;
    return state;
  }

  bool cancel(FutureState& state) override {
    if (auto cancelled = cancel_here(&state)) return *cancelled;
    return orchestrator::PoolCore::cancel_through(link_, &state);
  }
  void before_wait() override { send(); }

  void send() {
    std::vector<orchestrator::Call> calls;
    {
      std::lock_guard lock(mutex_);
      if (sent_) return;
      sent_ = true;
      sending_ = true;
      share_encoded();
      calls = std::move(calls_);
      calls_.clear();
      // What a cancel meanwhile needs to settle a call itself.
      sending_names_.reserve(calls.size());
      for (const orchestrator::Call& call : calls) {
        sending_names_.emplace_back(call.state.get(), call.name);
      }
    }
    std::exception_ptr error;
    try {
      if (!calls.empty()) enqueue(calls);
    } catch (...) {
      error = std::current_exception();
      for (orchestrator::Call& call : calls) call.state->set_error(error);
    }
    {
      std::lock_guard lock(mutex_);
      sending_ = false;
      sending_names_.clear();
      sending_names_.shrink_to_fit();
    }
    if (error) std::rethrow_exception(error);
  }

  bool sent() const {
    std::lock_guard lock(mutex_);
    return sent_;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return size_;
  }

 private:
  // The cancel of a call of this batch, if the batch decides it: before the batch is sent
  // the call is dropped here; while it is being handed to the pool, the call is settled here
  // and the pool skips it (or, if it was queued first, stops it). nullopt: ask the pool.
  std::optional<bool> cancel_here(FutureState* target) {
    std::shared_ptr<FutureState> unsent;
    const std::string* name = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (!sent_) {
        auto it = std::find_if(calls_.begin(), calls_.end(), [&](const orchestrator::Call& c) {
          return c.state.get() == target;
        });
        if (it == calls_.end()) return false;
        unsent = std::move(it->state);
        name = it->name;
        parts_.erase(parts_.begin() + (it - calls_.begin()));
        calls_.erase(it);
        --size_;
      } else if (!sending_) {
        return std::nullopt;
      } else {
        auto it = std::find_if(sending_names_.begin(), sending_names_.end(),
                               [&](const auto& entry) { return entry.first == target; });
        if (it == sending_names_.end()) return false;
        name = it->second;
      }
    }
    // Settled without the mutex: an on_ready callback may cancel another call of this batch.
    if (!unsent && orchestrator::PoolCore::cancel_through(link_, target)) return true;
    return target->set_cancelled(std::make_exception_ptr(TaskCancelled(0, *name, false)));
  }

  void enqueue(std::vector<orchestrator::Call>& calls) {
    orchestrator::PoolCore* core = nullptr;
    auto link = link_.lock();
    if (link) {
      std::lock_guard lock(link->mutex);
      core = link->core;
      if (core != nullptr) ++link->sending;
    }
    if (core == nullptr) throw PoolClosed("the pool was destroyed before the batch was sent");
    // Without the link's mutex: enqueue may wait for room in the queue, and the pool's close()
    // (which its destructor calls before it waits for `sending` to drop) wakes it.
    struct Done {
      orchestrator::CancelLink& link;
      ~Done() {
        std::lock_guard lock(link.mutex);
        if (--link.sending == 0) link.idle.notify_all();
      }
    } done{*link};
    core->enqueue(calls, true);
  }

  // The calls' Task payloads, one after another in one buffer that they share once sent (see
  // orchestrator::TaskBytes), each call's part of it in parts_. A call bigger than this has a
  // buffer of its own (its part is empty).
  static constexpr std::size_t kSharedCallLimit = 4096;
  struct Part {
    std::size_t offset = 0;
    std::size_t length = 0;
  };
  // Under the mutex, when the batch is sent: each call its part of the shared buffer.
  void share_encoded() {
    auto shared = std::make_shared<const Payload>(std::move(encoded_));
    const std::span<const char> all(*shared);
    for (std::size_t i = 0; i < calls_.size(); ++i) {
      if (parts_[i].length == 0) continue;
      calls_[i].task =
          orchestrator::TaskBytes(shared, all.subspan(parts_[i].offset, parts_[i].length));
    }
    encoded_ = {};
    parts_.clear();
    parts_.shrink_to_fit();
  }

  mutable std::mutex mutex_;
  Payload encoded_;
  std::vector<Part> parts_;  // one per call in calls_
  std::weak_ptr<orchestrator::CancelLink> link_;
  const void* owner_;  // the pool's, for FutureState::set_owner
  std::vector<orchestrator::Call> calls_;
  std::vector<std::pair<const FutureState*, const std::string*>> sending_names_;
  std::size_t size_ = 0;
  bool sent_ = false;
  bool sending_ = false;
};

}  // namespace detail

Batch Pool::batch() {
  return Batch(std::make_shared<detail::BatchState>(core_->cancel_link(), core_.get()));
}

Batch::Batch(std::shared_ptr<detail::BatchState> state) : state_(std::move(state)) {}
Batch::Batch(Batch&&) noexcept = default;
Batch& Batch::operator=(Batch&& other) noexcept {
  if (this != &other) {
    if (state_) {
      try {
        state_->send();
      } catch (...) {
        // The calls' futures hold the error.
      }
    }
    state_ = std::move(other.state_);
  }
  return *this;
}

Batch::~Batch() {
  if (!state_) return;
  try {
    state_->send();
  } catch (...) {
    // The calls' futures hold the error.
  }
}

std::shared_ptr<detail::FutureState> Batch::add(detail::TaskId function, const std::string* name,
                                                std::span<const char> task,
                                                const TaskOptions& call) {
  if (!state_) throw BatchSent();  // moved from
  return state_->add(function, name, task, call);
}

void Batch::send() {
  if (state_) state_->send();
}
bool Batch::sent() const { return !state_ || state_->sent(); }
std::size_t Batch::size() const { return state_ ? state_->size() : 0; }

}  // namespace forkpool
