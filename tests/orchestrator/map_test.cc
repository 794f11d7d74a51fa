// Pool::map and Pool::map_unordered: chunked, lazy, bounded in flight; every start method.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <list>
#include <map>
#include <ranges>
#include <string>
#include <vector>

#include "orchestrator/start_case_test.h"

namespace forkpool::testing {
namespace {

using namespace std::chrono_literals;

class MapTest : public StartCaseTest {};

TEST_P(MapTest, ResultsComeBackInInputOrder) {
  {
    Pool pool(options());
    std::vector<int> out;
    for (int v : pool.map(identity_task, std::views::iota(0, 50000))) out.push_back(v);
    ASSERT_EQ(out.size(), 50000u);
    for (int i = 0; i < 50000; ++i) ASSERT_EQ(out[i], i);
    // A container, a type that converts (const char* to std::string), and an empty input.
    const std::list<const char*> words = {"a", "", "ccc"};
    std::vector<std::string> echoed;
    for (const std::string& s : pool.map(echo_string_task, words)) echoed.push_back(s);
    EXPECT_EQ(echoed, (std::vector<std::string>{"a", "", "ccc"}));
    int count = 0;
    for ([[maybe_unused]] int v : pool.map(identity_task, std::vector<int>{})) ++count;
    EXPECT_EQ(count, 0);
  }
  leaks_.check();
}

TEST_P(MapTest, UnorderedYieldsEveryResultOnce) {
  {
    Pool pool(options());
    std::vector<int> out;
    for (int v : pool.map_unordered(identity_task, std::views::iota(0, 30000))) out.push_back(v);
    std::sort(out.begin(), out.end());
    ASSERT_EQ(out.size(), 30000u);
    for (int i = 0; i < 30000; ++i) ASSERT_EQ(out[i], i);
  }
  leaks_.check();
}

TEST_P(MapTest, UnorderedYieldsAChunkThatIsBackBeforeOneThatIsNot) {
  {
    Pool pool(options(2));
    Gate gate;
    std::vector<std::string> inputs = {gate.dir(), "quick"};
    // One call per chunk: the first hangs on the gate until the second has been yielded.
    auto results = pool.map_unordered(echo_after_gate_task, inputs, {.chunk = 1});
    auto it = results.begin();
    EXPECT_EQ(*it, "quick");
    gate.wait_entered();
    gate.release();
    ++it;
    EXPECT_EQ(*it, gate.dir());
    ++it;
    EXPECT_TRUE(it == results.end());
  }
  leaks_.check();
}

TEST_P(MapTest, CallsTravelInChunksThatGrowOnceTimed) {
  {
    Pool pool(options());
    long long sum = 0;
    for (int v : pool.map(identity_task, std::views::iota(0, 100000))) sum += v;
    EXPECT_EQ(sum, 99999LL * 100000 / 2);
    const auto chunked = pool.stats().submitted;
    EXPECT_LT(chunked, 1000u) << "tiny calls should share frames";
    EXPECT_GE(chunked, 2u);
    // A fixed chunk of one: one task per call.
    for ([[maybe_unused]] int v : pool.map(identity_task, std::views::iota(0, 300), {.chunk = 1})) {
    }
    EXPECT_EQ(pool.stats().submitted - chunked, 300u);
  }
  leaks_.check();
}

TEST_P(MapTest, ACallThatThrowsFailsOnlyItsElement) {
  {
    Pool pool(options());
    int seen = 0, failed = 0;
    auto results = pool.map(double_unless_multiple_of_7_task, std::views::iota(1, 200));
    for (auto it = results.begin(); it != results.end(); ++it) {
      const int x = 1 + seen++;
      try {
        EXPECT_EQ(*it, 2 * x);
        EXPECT_NE(x % 7, 0);
      } catch (const RemoteError& e) {
        ++failed;
        EXPECT_EQ(x % 7, 0) << e.what();
        EXPECT_EQ(e.type_name, "forkpool::testing::CustomError");
        EXPECT_EQ(e.message, "multiple of 7: " + std::to_string(x));
        EXPECT_EQ(e.task_name, "double_unless_multiple_of_7_task");
        EXPECT_GT(e.worker_pid, 0);
        EXPECT_NE(e.task_id, 0u);
      }
    }
    EXPECT_EQ(seen, 199);
    EXPECT_EQ(failed, 28);
  }
  leaks_.check();
}

TEST_P(MapTest, AWorkerThatDiesFailsItsChunkAndTheMapGoesOn) {
  {
    Pool pool(options());
    std::map<int, std::string> outcome;
    int x = 0;
    auto results = pool.map(exit_on_13_task, std::views::iota(0, 40), {.chunk = 4});
    for (auto it = results.begin(); it != results.end(); ++it, ++x) {
      try {
        EXPECT_EQ(*it, x);
        outcome[x] = "value";
      } catch (const WorkerDied& e) {
        outcome[x] = e.status.str();
      }
    }
    ASSERT_EQ(outcome.size(), 40u);
    // 13 is in the chunk 12..15: those four fail with the death, every other call succeeds.
    for (int i = 0; i < 40; ++i) {
      EXPECT_EQ(outcome[i], i >= 12 && i <= 15 ? "exited with code 3" : "value") << i;
    }
    EXPECT_EQ(pool.stats().worker_deaths, 1u);
  }
  leaks_.check();
}

TEST_P(MapTest, StoppingEarlyCancelsTheChunksInFlight) {
  {
    Pool pool(options(2));
    Gate gate;
    std::vector<std::string> inputs(2, gate.dir());
    {
      auto results = pool.map(enter_then_await_cancel_task, inputs, {.chunk = 1});
      results.begin();  // sends both chunks
      gate.wait_entered();
      gate.wait_entered();
    }  // dropped unread: both running chunks are cancelled, and their tasks see it
    // The workers acknowledged rather than being killed: none died or was stopped.
    EXPECT_EQ(pool.submit(identity_task, 5).get(), 5);
    const auto s = pool.stats();
    EXPECT_EQ(s.cancelled, 2u);
    EXPECT_EQ(s.worker_deaths, 0u);
    EXPECT_EQ(s.workers_stopped, 0u);
  }
  leaks_.check();
}

TEST_P(MapTest, ATaskTimeoutAppliesToEachCallOfAChunk) {
  {
    Options o = options(1);
    o.task_timeout = 200ms;
    Pool pool(o);
    // 50 calls of 20 ms in one chunk: a second in all, each call well inside its 200 ms. Had
    // the chunk been given one call's timeout, it would time out after 200 ms.
    int n = 0;
    for (int v : pool.map(sleep_ms_task, std::vector<int>(50, 20), {.chunk = 50})) {
      EXPECT_EQ(v, 20);
      ++n;
    }
    EXPECT_EQ(n, 50);
    EXPECT_EQ(pool.stats().timed_out, 0u);
    EXPECT_EQ(pool.stats().submitted, 1u);
  }
  leaks_.check();
}

INSTANTIATE_TEST_SUITE_P(AllStartMethods, MapTest, ::testing::ValuesIn(all_start_cases(2)),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace forkpool::testing
