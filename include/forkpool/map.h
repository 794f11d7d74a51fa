// MapResults: the lazy results of Pool::map and Pool::map_unordered.
//
//   for (int y : pool.map(square_task, std::views::iota(0, 10'000'000))) ...
//
// The inputs go out in chunks (detail/chunk.h): many calls in one Task frame, all their
// outcomes in one Result, so a tiny task costs a fraction of a round trip. At most `window`
// chunks are in flight, and inputs are read only as results are consumed.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>

#include "forkpool/detail/chunk.h"
#include "forkpool/errors.h"
#include "forkpool/options.h"
#include "forkpool/pool.h"
#include "forkpool/task.h"

namespace forkpool {

// How far a map has got: running totals, given to MapResults::on_progress's observer.
struct MapProgress {
  std::size_t completed = 0;  // calls that returned a value
  std::size_t failed = 0;     // calls that threw, or whose chunk failed (worker died, timeout, ...)
  std::optional<std::size_t> total;  // every input, if the input range knows its size
};

// An input range: iterate it once. Ordered: results in input order; otherwise each chunk's
// results as soon as that chunk is back.
template <typename R, typename View, bool Ordered>
class MapResults {
  static_assert(!std::is_void_v<R>, "map needs a task that returns a value");
  using Input = std::ranges::range_reference_t<View>;
  using Encode = void (*)(detail::ChunkArgsWriter&, Input);

 public:
  // Made by Pool::map and Pool::map_unordered; sends nothing until begin().
  template <typename Arg>
  MapResults(Pool& pool, const Task<R (*)(Arg)>& task, View view, const MapOptions& options)
      : pool_(&pool),
        function_(task.id()),
        name_(&task.name()),
        encode_([](detail::ChunkArgsWriter& writer, Input value) {
          writer.add(detail::as_parameter<Arg>(value));  // the rule Pool::submit follows
        }),
        view_(std::move(view)),
        next_(std::ranges::begin(view_)),
        fixed_chunk_(options.chunk),
        window_(std::max<std::size_t>(options.window != 0 ? options.window : pool.map_window(), 1)),
        workers_(pool.workers()),
        // Half the frame limit, so that one more large argument cannot push a chunk over it.
        max_chunk_bytes_(std::max<std::size_t>(pool.max_frame() / 2, 1)) {
    if constexpr (std::ranges::sized_range<View>) {
      remaining_ = static_cast<std::size_t>(std::ranges::size(view_));
      progress_.total = remaining_;
    }
  }
  // Not movable: the input iterator points into the owned view. Returned by Pool::map as a
  // prvalue, so `auto results = pool.map(...)` and range-for both work.
  MapResults(const MapResults&) = delete;
  MapResults& operator=(const MapResults&) = delete;
  // Cancels the chunks still in flight: their results are no longer wanted.
  ~MapResults() {
    for (auto& [seq, chunk] : in_flight_) {
      if (!chunk.state->ready()) chunk.state->cancel();
    }
  }

  // An input iterator over the results; comparing with end() waits for the next one.
  class iterator {
   public:
    // The task's result type.
    using value_type = R;
    // Required of an iterator; never used.
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    // Made by begin().
    explicit iterator(MapResults* owner) : owner_(owner) {}
    // The current result; throws the call's error if it failed.
    const R& operator*() const { return owner_->current(); }
    // The same, as a pointer.
    const R* operator->() const { return &owner_->current(); }
    // Moves to the next result, sending more chunks as the window allows.
    iterator& operator++() {
      owner_->advance();
      return *this;
    }
    // The same, postfix.
    void operator++(int) { ++*this; }
    // True once every result has been read; waits for the next one otherwise.
    bool operator==(std::default_sentinel_t) const { return owner_->done(); }

   private:
    MapResults* owner_ = nullptr;
  };

  // Calls `observer` with the running totals each time a chunk of results is back: in the
  // thread that iterates, when it next waits for a result or moves on to the next chunk (for
  // map(), also for chunks that came back ahead of their turn). Its exceptions reach that
  // thread. Counting costs one lock per chunk, not per call. Throws UsageError once iteration
  // has begun.
  void on_progress(std::function<void(const MapProgress&)> observer) {
    if (started_) throw UsageError("MapResults::on_progress() must be called before iterating");
    observer_ = std::move(observer);
  }

  // Sends the first chunks; iterate once.
  iterator begin() {
    started_ = true;
    fill();
    return iterator(this);
  }
  // The end of the results.
  std::default_sentinel_t end() { return {}; }

 private:
  struct Chunk {
    std::shared_ptr<detail::FutureState> state;
    std::uint32_t calls = 0;
    // {}: GCC 12 warns (-Wmissing-field-initializers) in a client's build otherwise, where
    // chunks are built from their first two members.
    std::optional<detail::ChunkResult<R>> result{};
    std::exception_ptr error{};  // the whole chunk failed: every call throws it
  };
  // Chunks that came back, in the order they did (map_unordered only). Shared with the
  // futures' callbacks, which run in the pool's collector thread.
  struct Arrivals {
    std::mutex mutex;
    std::condition_variable arrived;
    std::deque<std::uint64_t> chunks;
  };

  void fill() {
    while (in_flight_.size() < window_ && next_ != std::ranges::end(view_)) send_chunk();
  }

  void send_chunk() {
    const std::size_t want = detail::plan_chunk({.fixed = fixed_chunk_,
                                                 .per_call = per_call_,
                                                 .remaining = remaining_,
                                                 .workers = workers_});
    detail::Payload args;
    detail::ChunkArgsWriter writer(args);
    while (writer.count() < want && next_ != std::ranges::end(view_) &&
           (writer.count() == 0 || writer.bytes() < max_chunk_bytes_)) {
      encode_(writer, *next_);
      ++next_;
    }
    writer.finish();
    if (remaining_) *remaining_ -= std::min<std::size_t>(*remaining_, writer.count());
    const std::uint64_t seq = next_seq_++;
    Chunk chunk{pool_->submit_chunk(function_, name_, args, writer.count()), writer.count()};
    if (!Ordered || observer_) {
      chunk.state->on_settled([arrivals = arrivals_, seq] {
        {
          std::lock_guard lock(arrivals->mutex);
          arrivals->chunks.push_back(seq);
        }
        arrivals->arrived.notify_one();
      });
    }
    in_flight_.emplace(seq, std::move(chunk));
  }

  bool done() const { return in_flight_.empty(); }

  // The chunk being read, once it is back and decoded.
  Chunk& head() {
    if (!reading_) {
      if constexpr (Ordered) {
        reading_ = in_flight_.begin()->first;
        if (observer_) collect(false);  // report what came back meanwhile
      } else {
        if (observer_) collect(false);  // report what came back meanwhile
        while (back_.empty()) collect(true);
        reading_ = back_.front();
        back_.pop_front();
      }
      position_ = 0;
    }
    Chunk& chunk = in_flight_.at(*reading_);
    if (Ordered && observer_) {
      // Every chunk goes through collect(), so each is reported once, in the order they came.
      while (!decoded(chunk)) collect(true);
    } else if (!decoded(chunk)) {
      decode(chunk);
    }
    return chunk;
  }

  static bool decoded(const Chunk& chunk) { return chunk.result || chunk.error; }

  // Decodes the chunks that came back (waiting for one if `wait`), in the order they did. Each
  // leaves `arrived_` before it is decoded, so an observer that throws loses none.
  void collect(bool wait) {
    {
      std::unique_lock lock(arrivals_->mutex);
      if (wait && arrived_.empty()) {
        arrivals_->arrived.wait(lock, [&] { return !arrivals_->chunks.empty(); });
      }
      arrived_.insert(arrived_.end(), arrivals_->chunks.begin(), arrivals_->chunks.end());
      arrivals_->chunks.clear();
    }
    while (!arrived_.empty()) {
      const std::uint64_t seq = arrived_.front();
      arrived_.pop_front();
      auto chunk = in_flight_.find(seq);
      if (chunk == in_flight_.end() || decoded(chunk->second)) continue;
      if constexpr (!Ordered) back_.push_back(seq);
      decode(chunk->second);
    }
  }

  void decode(Chunk& chunk) {
    chunk.state->wait();
    try {
      chunk.result = detail::decode_chunk_result<R>(chunk.state->payload_or_throw(), chunk.calls);
    } catch (...) {
      chunk.error = std::current_exception();
      report(chunk);
      return;
    }
    const auto per_call = chunk.result->elapsed / chunk.calls;
    per_call_ = per_call_ ? (*per_call_ * 3 + per_call) / 4 : per_call;
    report(chunk);
  }

  void report(const Chunk& chunk) {
    if (!observer_) return;
    if (chunk.error) {
      progress_.failed += chunk.calls;
    } else {
      for (const detail::ChunkOutcome<R>& outcome : chunk.result->outcomes) {
        ++(outcome.value ? progress_.completed : progress_.failed);
      }
    }
    observer_(progress_);
  }

  const R& current() {
    Chunk& chunk = head();
    if (chunk.error) std::rethrow_exception(chunk.error);
    const detail::ChunkOutcome<R>& outcome = chunk.result->outcomes[position_];
    if (!outcome.value) {
      throw RemoteError(outcome.type_name, outcome.message, *name_, chunk.result->task_id,
                        chunk.result->pid);
    }
    return *outcome.value;
  }

  void advance() {
    Chunk& chunk = head();
    if (++position_ >= chunk.calls) {
      in_flight_.erase(*reading_);
      reading_.reset();
    }
    fill();
  }

  Pool* pool_;
  detail::TaskId function_;
  const std::string* name_;
  Encode encode_;
  View view_;
  std::ranges::iterator_t<View> next_;
  std::size_t fixed_chunk_;
  std::size_t window_;
  unsigned workers_;
  std::size_t max_chunk_bytes_;
  std::optional<std::size_t> remaining_;  // inputs not yet sent, if the view knows its size
  std::optional<std::chrono::nanoseconds> per_call_;  // measured in the workers
  std::map<std::uint64_t, Chunk> in_flight_;          // by the order they were sent
  std::uint64_t next_seq_ = 0;
  std::optional<std::uint64_t> reading_;
  std::size_t position_ = 0;  // in the chunk being read
  std::shared_ptr<Arrivals> arrivals_ = std::make_shared<Arrivals>();
  std::deque<std::uint64_t> arrived_;  // taken from arrivals_, not yet decoded
  std::deque<std::uint64_t> back_;     // map_unordered: decoded, in the order they came back
  bool started_ = false;
  std::function<void(const MapProgress&)> observer_;
  MapProgress progress_;
};

}  // namespace forkpool
