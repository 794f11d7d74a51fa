// Map chunks: many calls of one task in one Task frame, and all their outcomes in one Result.
// Implementation detail of Pool::map; not part of the stable API.
//
// A chunk's arguments:  u32 count (little-endian), then one archive of `count` argument lists.
// A chunk's result:     u32 count, i32 worker pid, u64 nanoseconds the calls took, u64 the
//                       chunk's task id (all little-endian), then one archive of `count`
//                       outcomes, each a bool
//                       (true: the value follows; false: the exception's type name and
//                       message follow).
// One archive for the whole chunk, not one per call: building a Boost archive costs more than
// encoding a small value, and that cost is what chunking exists to share out.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "forkpool/detail/archive.h"
#include "forkpool/detail/little_endian.h"
#include "forkpool/detail/payload.h"
#include "forkpool/errors.h"

namespace forkpool::detail {

// The most calls one chunk may hold; a chunk that claims more is refused before anything is
// allocated for it.
inline constexpr std::uint32_t kMaxChunkCalls = 65536;
inline constexpr std::size_t kChunkArgsPrefix = 4;
inline constexpr std::size_t kChunkResultPrefix = 24;

[[noreturn]] inline void refuse_chunk(const char* what, const std::string& why) {
  throw ProtocolError(std::string("cannot decode ") + what + ": " + why);
}

// In a worker, inside a catch block: the exception's dynamic type (demangled) and what().
// Defined with the worker loop, which reports a single task's exception the same way.
void describe_current_exception(std::string& type_name, std::string& message);

// Encodes a chunk's arguments into `out`: add() each call's values, then finish().
class ChunkArgsWriter {
 public:
  explicit ChunkArgsWriter(Payload& out) : out_(out), start_(out.size()) {
    out_.resize(start_ + kChunkArgsPrefix);
    archive_.emplace(buffer_, kArchiveFlags);
  }
  template <typename... T>
  void add(const T&... values) {
    (*archive_ << ... << values);
    ++count_;
  }
  std::uint32_t count() const { return count_; }
  std::size_t bytes() const { return out_.size() - start_; }
  void finish() {
    archive_.reset();
    store_le(out_.data() + start_, count_);
  }

 private:
  Payload& out_;
  std::size_t start_;
  PayloadStreambuf buffer_{out_};
  std::optional<boost::archive::binary_oarchive> archive_;
  std::uint32_t count_ = 0;
};

// Decodes a chunk's arguments: `read_one(archive)` is called once per call, in order.
// ProtocolError if the chunk is malformed or claims more than kMaxChunkCalls calls.
template <typename ReadOne>
std::uint32_t decode_chunk_args(std::span<const char> in, ReadOne&& read_one) {
  if (in.size() < kChunkArgsPrefix) {
    refuse_chunk("map chunk arguments", "shorter than its count");
  }
  const auto count = load_le<std::uint32_t>(in.data());
  if (count == 0 || count > kMaxChunkCalls) {
    refuse_chunk("map chunk arguments",
                 "a count of " + std::to_string(count) + " calls is out of range");
  }
  decode_with(in.subspan(kChunkArgsPrefix), "map chunk arguments", [&](BoundedIArchive& archive) {
    for (std::uint32_t i = 0; i < count; ++i) read_one(archive);
  });
  return count;
}

// Encodes a chunk's outcomes, in a worker.
class ChunkResultWriter {
 public:
  ChunkResultWriter(Payload& out, std::int32_t pid, std::uint64_t task_id)
      : out_(out), started_(std::chrono::steady_clock::now()) {
    out_.resize(kChunkResultPrefix);
    store_le(out_.data() + 4, pid);
    store_le(out_.data() + 16, task_id);
    archive_.emplace(buffer_, kArchiveFlags);
  }
  template <typename R>
  void value(const R& v) {
    *archive_ << true << v;
    ++count_;
  }
  void no_value() {
    *archive_ << true;
    ++count_;
  }
  // Inside a catch block.
  void current_error() {
    std::string type_name, message;
    describe_current_exception(type_name, message);
    *archive_ << false << type_name << message;
    ++count_;
  }
  void finish() {
    archive_.reset();
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now() - started_);
    store_le(out_.data(), count_);
    store_le(out_.data() + 8, static_cast<std::int64_t>(ns.count()));
  }

 private:
  Payload& out_;
  PayloadStreambuf buffer_{out_};
  std::optional<boost::archive::binary_oarchive> archive_;
  std::chrono::steady_clock::time_point started_;
  std::uint32_t count_ = 0;
};

// One call's outcome, decoded in the parent.
template <typename R>
struct ChunkOutcome {
  std::optional<R> value;
  std::string type_name;  // of the exception, if the call threw
  std::string message;
};

template <typename R>
struct ChunkResult {
  std::int32_t pid = 0;
  std::chrono::nanoseconds elapsed{0};
  std::uint64_t task_id = 0;
  std::vector<ChunkOutcome<R>> outcomes;
};

// Decodes a chunk's result, which must hold exactly `expected` outcomes.
template <typename R>
ChunkResult<R> decode_chunk_result(std::span<const char> in, std::uint32_t expected) {
  if (in.size() < kChunkResultPrefix) {
    refuse_chunk("map chunk result", "shorter than its header");
  }
  ChunkResult<R> result;
  const auto count = load_le<std::uint32_t>(in.data());
  if (count != expected) {
    refuse_chunk("map chunk result", "it holds " + std::to_string(count) + " outcomes for " +
                                         std::to_string(expected) + " calls");
  }
  // Every outcome has at least its bool on the wire: a count the bytes cannot hold is refused
  // before the outcomes are allocated (found by fuzz/frame_fuzz).
  if (count > in.size() - kChunkResultPrefix) {
    refuse_chunk("map chunk result", std::to_string(count) + " outcomes cannot fit in " +
                                         std::to_string(in.size() - kChunkResultPrefix) + " bytes");
  }
  result.pid = load_le<std::int32_t>(in.data() + 4);
  result.elapsed = std::chrono::nanoseconds(load_le<std::int64_t>(in.data() + 8));
  result.task_id = load_le<std::uint64_t>(in.data() + 16);
  result.outcomes.resize(count);
  decode_with(in.subspan(kChunkResultPrefix), "map chunk result", [&](BoundedIArchive& archive) {
    for (ChunkOutcome<R>& outcome : result.outcomes) {
      bool ok = false;
      archive >> ok;
      if (ok) {
        outcome.value.emplace();
        archive >> *outcome.value;
      } else {
        archive >> outcome.type_name >> outcome.message;
      }
    }
  });
  return result;
}

// How many calls the next chunk of a map should hold. Pure, so the rule can be tested alone.
struct ChunkPlan {
  std::size_t fixed = 0;  // MapOptions::chunk; 0: choose
  // Measured in the workers over the chunks so far; nullopt until the first one returns.
  std::optional<std::chrono::nanoseconds> per_call;
  std::optional<std::size_t> remaining;  // calls not yet sent, if the input's size is known
  unsigned workers = 1;
};
// A chunk costs about this much more than the calls in it (frames, system calls, a future:
// the no-op round trip measured by bench/core_bench), so a chunk of this much work spends
// a few percent on overhead and still returns its first results quickly.
inline constexpr std::chrono::microseconds kChunkOverhead{50};
inline constexpr std::chrono::microseconds kChunkTarget{2000};
inline constexpr std::size_t kMaxAutoChunk = 4096;

inline std::size_t plan_chunk(const ChunkPlan& plan) {
  if (plan.fixed != 0) {
    return std::min<std::size_t>({plan.fixed, kMaxChunkCalls, plan.remaining.value_or(plan.fixed)});
  }
  // Until a chunk has been timed, one call at a time: a slow task must not be dealt out in
  // large chunks before anyone knows it is slow.
  if (!plan.per_call) return 1;
  const double per_call_ns = std::max<double>(1.0, static_cast<double>(plan.per_call->count()));
  const auto target_ns = std::chrono::duration<double, std::nano>(kChunkTarget).count();
  auto chunk = static_cast<std::size_t>(
      std::clamp(target_ns / per_call_ns, 1.0, static_cast<double>(kMaxAutoChunk)));
  if (plan.remaining) {
    const std::size_t left = std::max<std::size_t>(*plan.remaining, 1);
    const double left_ns = per_call_ns * static_cast<double>(left);
    const auto overhead_ns = std::chrono::duration<double, std::nano>(kChunkOverhead).count();
    // After Mercurial's worker.worthwhile(): spreading the rest over the workers pays only if
    // what each would save exceeds what the extra chunks cost. Otherwise one chunk, one worker.
    const unsigned workers = std::max(plan.workers, 1u);
    const double saved_ns = left_ns - left_ns / workers;
    if (saved_ns <= overhead_ns * workers) return std::min(left, kMaxAutoChunk);
    // Near the end, smaller chunks, so that no worker is left with a long last one while the
    // others idle: at least two chunks for each worker out of what is left.
    const std::size_t share = (left + 2 * workers - 1) / (2 * workers);
    chunk = std::min(chunk, std::max<std::size_t>(share, 1));
  }
  return chunk;
}

}  // namespace forkpool::detail
