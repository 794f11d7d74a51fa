#include "forkpool/batch.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "forkpool/detail/chunk.h"
#include "forkpool/detail/small_mutex.h"
#include "forkpool/pool.h"
#include "orchestrator/pool_core.h"
#include "serialization/messages.h"

namespace forkpool {
namespace detail {

// Shared by the Batch and by its futures' hooks, so a future can send its batch and cancel a
// call the batch still holds. A future keeps it alive; it holds the futures' states only until
// it is sent, which the Batch's destructor does at the latest.
//
// Consecutive calls of one function without options of their own become a run
// (orchestrator::RunCalls): one task, one Task payload of all their arguments, built here as
// they are submitted. A call with options, or too big to share a buffer, travels as a task of
// its own, as does a run that ends with one call.
class BatchState : public FutureHooks, public std::enable_shared_from_this<BatchState> {
 public:
  BatchState(std::weak_ptr<orchestrator::CancelLink> link, const void* owner,
             const Options& options)
      : link_(std::move(link)),
        owner_(owner),
        // A run is a task to the pool: it would be timed, retried and counted towards
        // recycling as a whole, so with those defaults every call goes alone.
        runs_(options.task_timeout.count() == 0 && options.retries == 0 &&
              options.max_tasks_per_worker == 0),
        run_limit_(std::min<std::size_t>(options.max_frame, kRunLimit)) {}

  // `self`: the Batch's own hold of this state, copied into the future's hooks (cheaper than
  // shared_from_this(), which must lock a weak count, once a call).
  std::shared_ptr<FutureState> add(const std::shared_ptr<BatchState>& self, TaskId function,
                                   const std::string* name, std::span<const char> task,
                                   const TaskOptions& options) {
    std::lock_guard lock(mutex_);
    if (sent_) throw BatchSent();
    std::shared_ptr<FutureState> state = make_future_state();
    state->set_owner(owner_);
    state->set_hooks(self);
    if (runs_ && !options.timeout && !options.retries && task.size() <= kSharedCallLimit) {
      add_to_run(function, name, task.subspan(kTaskFunctionBytes), state);
    } else {
      close_run();
      add_alone(function, name, task, options, state);
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
      close_run();
      share_encoded();
      calls = std::move(calls_);
      calls_.clear();
      // What a cancel meanwhile needs to settle a call itself.
      sending_names_.reserve(size_);
      for (const orchestrator::Call& call : calls) {
        if (!call.run) {
          sending_names_.emplace_back(call.state.get(), call.name);
          continue;
        }
        for (const auto& state : call.run->states) {
          sending_names_.emplace_back(state.get(), call.name);
        }
      }
    }
    std::exception_ptr error;
    try {
      if (!calls.empty()) enqueue(calls);
    } catch (...) {
      error = std::current_exception();
      for (orchestrator::Call& call : calls) call.state->set_error(error);  // a run's: all
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
  // Under the mutex.
  void add_alone(TaskId function, const std::string* name, std::span<const char> task,
                 const TaskOptions& options, const std::shared_ptr<FutureState>& state) {
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
  }

  void add_to_run(TaskId function, const std::string* name, std::span<const char> args,
                  const std::shared_ptr<FutureState>& state) {
    if (run_ && (run_function_ != function || run_->size() >= detail::kMaxChunkCalls ||
                 run_payload_.size() + serialization::kRunCallHeader + args.size() > run_limit_)) {
      close_run();
    }
    if (!run_) {
      run_ = std::make_shared<orchestrator::RunCalls>();
      run_function_ = function;
      run_name_ = name;
      run_payload_.begin_run(function);
    }
    run_payload_.append_run_call(args);
    run_->states.push_back(state);
  }

  // Ends the run being built: one task for all its calls, or a task of its own for one call.
  void close_run() {
    if (!run_) return;
    std::shared_ptr<orchestrator::RunCalls> run = std::move(run_);
    run_.reset();
    if (run->size() == 1) {
      const serialization::RunTask calls = serialization::decode_run(run_payload_.view());
      add_alone(run_function_, run_name_, serialization::encode_task(run_function_, calls.calls[0]),
                {}, run->states[0]);
      return;
    }
    run->gone.assign(run->size(), false);
    // The run's own state, which nobody waits on: the pool fails it (and so every call not
    // yet settled) where it would fail a task, and never gives it a value.
    std::shared_ptr<FutureState> state = make_future_state();
    state->on_settled([run, settled = state.get()] {
      const std::exception_ptr error = settled->error();
      // A call answered or let go is no longer here (its entry is null).
      for (const auto& call : run->states) {
        if (call) call->set_error(error);
      }
    });
    calls_.push_back(orchestrator::Call{.function = run_function_,
                                        .name = run_name_,
                                        .task = run_payload_.take(),
                                        .state = std::move(state),
                                        .run = std::move(run)});
    parts_.push_back({});
  }

  // The cancel of a call of this batch, if the batch decides it: before the batch is sent
  // the call is dropped here; while it is being handed to the pool, the call is settled here
  // and the pool skips it (or, if it was queued first, stops it). nullopt: ask the pool.
  std::optional<bool> cancel_here(FutureState* target) {
    std::shared_ptr<FutureState> unsent;
    const std::string* name = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (!sent_) {
        std::tie(unsent, name) = drop_unsent(target);
        if (!unsent) return false;
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

  // Under the mutex, before the batch is sent: takes the call whose state is `target` out of
  // the batch. Its state and name, or a null state if it is not here.
  std::pair<std::shared_ptr<FutureState>, const std::string*> drop_unsent(FutureState* target) {
    auto it = std::find_if(calls_.begin(), calls_.end(),
                           [&](const orchestrator::Call& c) { return c.state.get() == target; });
    if (it != calls_.end()) {
      std::shared_ptr<FutureState> state = std::move(it->state);
      const std::string* name = it->name;
      parts_.erase(parts_.begin() + (it - calls_.begin()));
      calls_.erase(it);
      return {state, name};
    }
    for (std::size_t i = 0; i < calls_.size(); ++i) {
      orchestrator::Call& call = calls_[i];
      if (!call.run || std::none_of(call.run->states.begin(), call.run->states.end(),
                                    [&](const auto& state) { return state.get() == target; })) {
        continue;
      }
      Payload without;
      std::shared_ptr<FutureState> state =
          drop_from_run(*call.run, call.task.view(), target, without);
      const std::string* name = call.name;
      if (call.run->size() == 0) {
        calls_.erase(calls_.begin() + static_cast<std::ptrdiff_t>(i));
        parts_.erase(parts_.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        call.task = std::move(without);
        call.run->gone.assign(call.run->size(), false);
      }
      return {state, name};
    }
    if (run_) {
      Payload without;
      if (auto state = drop_from_run(*run_, run_payload_.view(), target, without)) {
        run_payload_.assign(without);
        const std::string* name = run_name_;
        if (run_->size() == 0) run_.reset();
        return {state, name};
      }
    }
    return {nullptr, nullptr};
  }

  // Takes the call whose state is `target` out of `run`, whose payload is `payload`, and
  // writes the run's payload without it to `without`. A null state, and `without` untouched,
  // if the call is not in `run`: the payload is rewritten only for the run that holds it.
  static std::shared_ptr<FutureState> drop_from_run(orchestrator::RunCalls& run,
                                                    std::span<const char> payload,
                                                    FutureState* target, Payload& without) {
    auto it = std::find_if(run.states.begin(), run.states.end(),
                           [&](const auto& state) { return state.get() == target; });
    if (it == run.states.end()) return nullptr;
    std::vector<bool> drop(run.size(), false);
    drop[static_cast<std::size_t>(it - run.states.begin())] = true;
    without = serialization::run_without(payload, drop);
    std::shared_ptr<FutureState> state = std::move(*it);
    run.states.erase(it);
    return state;
  }

  // Under the mutex: the calls' Task payloads, one after another in one buffer that they share
  // once sent (see orchestrator::TaskBytes), each call's part of it in parts_. A call bigger
  // than kSharedCallLimit has a buffer of its own, and a run too (their parts are empty).
  static constexpr std::size_t kSharedCallLimit = 4096;
  // The most bytes of arguments a run holds, below max_frame: frames of this size still pass
  // through the pipe's buffer in a few writes, and a run this large spreads its per-frame cost
  // over hundreds of calls already.
  static constexpr std::size_t kRunLimit = 256 * 1024;
  struct Part {
    std::size_t offset = 0;
    std::size_t length = 0;
  };
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

  mutable SmallMutex mutex_;
  Payload encoded_;
  std::vector<Part> parts_;  // one per call in calls_
  std::weak_ptr<orchestrator::CancelLink> link_;
  const void* owner_;  // the pool's, for FutureState::set_owner
  const bool runs_;    // whether calls may travel in runs
  const std::size_t run_limit_;
  std::vector<orchestrator::Call> calls_;
  // The run being built, of run_function_: it ends at the next call of another function or
  // with options, or when it is full.
  std::shared_ptr<orchestrator::RunCalls> run_;
  TaskId run_function_ = 0;
  const std::string* run_name_ = nullptr;
  serialization::EntryWriter run_payload_;
  std::vector<std::pair<const FutureState*, const std::string*>> sending_names_;
  std::size_t size_ = 0;
  bool sent_ = false;
  bool sending_ = false;
};

}  // namespace detail

Batch Pool::batch() {
  return Batch(
      std::make_shared<detail::BatchState>(core_->cancel_link(), core_.get(), core_->options()));
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
  return state_->add(state_, function, name, task, call);
}

void Batch::send() {
  if (state_) state_->send();
}
bool Batch::sent() const { return !state_ || state_->sent(); }
std::size_t Batch::size() const { return state_ ? state_->size() : 0; }

}  // namespace forkpool
