// Tests include/forkpool/detail/chunk.h: a map chunk's arguments and outcomes round-trip, a
// damaged chunk is a ProtocolError (never a crash or an allocation it cannot back), and the
// rule that sizes chunks.
#include "forkpool/detail/chunk.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "forkpool/errors.h"

namespace forkpool::detail {
namespace {

using namespace std::chrono_literals;

Payload chunk_of(const std::vector<std::string>& values) {
  Payload out;
  ChunkArgsWriter writer(out);
  for (const auto& v : values) writer.add(v, static_cast<int>(v.size()));
  writer.finish();
  return out;
}

TEST(ChunkTest, ArgumentsRoundTrip) {
  const std::vector<std::string> values = {"a", "", std::string(1000, 'z'), "d"};
  const Payload chunk = chunk_of(values);
  std::vector<std::pair<std::string, int>> decoded;
  EXPECT_EQ(decode_chunk_args(chunk,
                              [&](BoundedIArchive& in) {
                                auto& [s, n] = decoded.emplace_back();
                                in >> s >> n;
                              }),
            4u);
  ASSERT_EQ(decoded.size(), 4u);
  for (std::size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(decoded[i].first, values[i]);
    EXPECT_EQ(decoded[i].second, static_cast<int>(values[i].size()));
  }
}

TEST(ChunkTest, OutcomesRoundTripWithTheirErrors) {
  Payload out;
  ChunkResultWriter writer(out, 4242, 99);
  writer.value(std::string("first"));
  try {
    throw std::out_of_range("second failed");
  } catch (...) {
    writer.current_error();
  }
  writer.value(std::string());
  writer.finish();
  const ChunkResult<std::string> result = decode_chunk_result<std::string>(out, 3);
  EXPECT_EQ(result.pid, 4242);
  EXPECT_EQ(result.task_id, 99u);
  EXPECT_GE(result.elapsed.count(), 0);
  ASSERT_EQ(result.outcomes.size(), 3u);
  EXPECT_EQ(result.outcomes[0].value, "first");
  EXPECT_FALSE(result.outcomes[1].value);
  EXPECT_EQ(result.outcomes[1].type_name, "std::out_of_range");
  EXPECT_EQ(result.outcomes[1].message, "second failed");
  EXPECT_EQ(result.outcomes[2].value, "");  // an empty value is a value
}

TEST(ChunkTest, DamagedChunksAreProtocolErrors) {
  const Payload chunk = chunk_of({"x", "yy"});
  const auto decode_args = [](std::span<const char> p) {
    decode_chunk_args(p, [](BoundedIArchive& in) {
      std::string s;
      int n = 0;
      in >> s >> n;
    });
  };
  for (std::size_t size = 0; size < chunk.size(); ++size) {
    const Payload cut(chunk.begin(), chunk.begin() + size);
    EXPECT_THROW(decode_args(cut), ProtocolError) << "cut to " << size;
  }
  Payload none = chunk;
  store_le(none.data(), std::uint32_t{0});
  EXPECT_THROW(decode_args(none), ProtocolError);
  Payload huge = chunk;
  store_le(huge.data(), std::uint32_t{kMaxChunkCalls + 1});  // refused before anything is allocated
  EXPECT_THROW(decode_args(huge), ProtocolError);

  Payload result;
  ChunkResultWriter writer(result, 1, 1);
  writer.value(7);
  writer.finish();
  EXPECT_EQ(decode_chunk_result<int>(result, 1).outcomes[0].value, 7);
  EXPECT_THROW(decode_chunk_result<int>(result, 2), ProtocolError);  // not the calls sent
  // A result that claims more outcomes than it has bytes is refused before they are allocated.
  Payload claims = result;
  store_le(claims.data(), kMaxChunkCalls);
  EXPECT_THROW(decode_chunk_result<int>(claims, kMaxChunkCalls), ProtocolError);
  for (std::size_t size = 0; size < result.size(); ++size) {
    const Payload cut(result.begin(), result.begin() + size);
    EXPECT_THROW(decode_chunk_result<int>(cut, 1), ProtocolError) << "cut to " << size;
  }
}

TEST(ChunkTest, PlanStartsWithOneCallUntilTimed) {
  EXPECT_EQ(plan_chunk({}), 1u);
  EXPECT_EQ(plan_chunk({.remaining = 1000000, .workers = 8}), 1u);
}

TEST(ChunkTest, PlanAimsAtTheTargetWorkPerChunk) {
  // 2 ms of 10 us calls is 200; of 1 ms calls, 2; of 1 s calls, still one.
  EXPECT_EQ(plan_chunk({.per_call = 10us}), 200u);
  EXPECT_EQ(plan_chunk({.per_call = 1ms}), 2u);
  EXPECT_EQ(plan_chunk({.per_call = 1s}), 1u);
  // Tiny calls are capped.
  EXPECT_EQ(plan_chunk({.per_call = 1ns}), kMaxAutoChunk);
  EXPECT_EQ(plan_chunk({.per_call = 0ns}), kMaxAutoChunk);
}

TEST(ChunkTest, PlanLeavesEveryWorkerTwoChunksOfWhatIsLeft) {
  // 10,000 calls of 10 us on 4 workers: 200 a chunk; near the end, at most left / 8.
  EXPECT_EQ(plan_chunk({.per_call = 10us, .remaining = 10000, .workers = 4}), 200u);
  EXPECT_EQ(plan_chunk({.per_call = 10us, .remaining = 800, .workers = 4}), 100u);
  EXPECT_EQ(plan_chunk({.per_call = 10us, .remaining = 81, .workers = 4}), 11u);
}

TEST(ChunkTest, PlanKeepsWorkTooSmallToSpreadInOneChunk) {
  // 20 calls of 1 us on 4 workers: 20 us in all, spreading saves 15 us and costs four chunks'
  // overhead (200 us). One chunk, one worker.
  EXPECT_EQ(plan_chunk({.per_call = 1us, .remaining = 20, .workers = 4}), 20u);
  // One worker: spreading never pays, so one chunk of what is left, up to the cap.
  EXPECT_EQ(plan_chunk({.per_call = 100us, .remaining = 50, .workers = 1}), 50u);
  // Enough work to pay for spreading: 400 calls of 100 us on 2 workers.
  EXPECT_EQ(plan_chunk({.per_call = 100us, .remaining = 400, .workers = 2}), 20u);
}

TEST(ChunkTest, AFixedChunkIsKept) {
  EXPECT_EQ(plan_chunk({.fixed = 64}), 64u);
  EXPECT_EQ(plan_chunk({.fixed = 64, .per_call = 1s, .remaining = 1000, .workers = 2}), 64u);
  EXPECT_EQ(plan_chunk({.fixed = 64, .remaining = 10}), 10u);
  EXPECT_EQ(plan_chunk({.fixed = 10000000}), kMaxChunkCalls);
}

}  // namespace
}  // namespace forkpool::detail
