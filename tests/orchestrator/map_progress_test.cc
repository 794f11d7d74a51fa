// MapResults::on_progress: running totals for map and map_unordered, every start method.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "orchestrator/start_case_test.h"

namespace forkpool::testing {
namespace {

using ::testing::HasSubstr;

// Every report, and whether each came in the thread that made the recorder (the iterating one).
struct Recorder {
  std::vector<MapProgress> reports;
  std::thread::id iterating = std::this_thread::get_id();
  bool all_in_iterating_thread = true;

  auto observer() {
    return [this](const MapProgress& p) {
      reports.push_back(p);
      all_in_iterating_thread &= std::this_thread::get_id() == iterating;
    };
  }
};

// Reads every element, counting those that throw; returns the values.
template <typename Results>
std::vector<int> drain(Results& results, int& thrown) {
  std::vector<int> values;
  for (auto it = results.begin(); !(it == results.end()); ++it) {
    try {
      values.push_back(*it);
    } catch (const RemoteError&) {
      ++thrown;
    }
  }
  return values;
}

// One report per chunk, each a running total that only grows, ending at the exact counts.
void expect_chunk_by_chunk(const Recorder& recorder, std::size_t chunks, std::size_t completed,
                           std::size_t failed, std::optional<std::size_t> total) {
  ASSERT_EQ(recorder.reports.size(), chunks);
  EXPECT_TRUE(recorder.all_in_iterating_thread);
  std::size_t last = 0;
  for (const MapProgress& p : recorder.reports) {
    EXPECT_GT(p.completed + p.failed, last);
    last = p.completed + p.failed;
    EXPECT_EQ(p.total, total);
  }
  EXPECT_EQ(recorder.reports.back().completed, completed);
  EXPECT_EQ(recorder.reports.back().failed, failed);
}

class MapProgressTest : public StartCaseTest {};

// Multiples of 7 throw: 15 of 0..99.
TEST_P(MapProgressTest, MapReportsEveryCallOnceChunkByChunk) {
  {
    Pool pool(options());
    Recorder recorder;
    auto results =
        pool.map(double_unless_multiple_of_7_task, std::views::iota(0, 100), {.chunk = 10});
    results.on_progress(recorder.observer());
    int thrown = 0;
    const std::vector<int> values = drain(results, thrown);
    EXPECT_EQ(values.size(), 85u);
    EXPECT_EQ(thrown, 15);
    expect_chunk_by_chunk(recorder, 10, 85, 15, 100);
  }
  leaks_.check();
}

TEST_P(MapProgressTest, MapUnorderedReportsEveryCallOnceChunkByChunk) {
  {
    Pool pool(options());
    Recorder recorder;
    auto results = pool.map_unordered(double_unless_multiple_of_7_task, std::views::iota(0, 100),
                                      {.chunk = 10});
    results.on_progress(recorder.observer());
    int thrown = 0;
    const std::vector<int> values = drain(results, thrown);
    EXPECT_EQ(values.size(), 85u);
    EXPECT_EQ(thrown, 15);
    expect_chunk_by_chunk(recorder, 10, 85, 15, 100);
  }
  leaks_.check();
}

// A chunk whose worker died counts all its calls as failed; an input range that does not know
// its size reports no total.
TEST_P(MapProgressTest, ADeadWorkersChunkFailsAndAnUnsizedInputHasNoTotal) {
  {
    Pool pool(options());
    Recorder recorder;
    auto inputs = std::views::iota(0, 40) | std::views::filter([](int x) { return x % 2 == 1; });
    auto results = pool.map(exit_on_13_task, inputs, {.chunk = 1});
    results.on_progress(recorder.observer());
    int died = 0;
    for (auto it = results.begin(); !(it == results.end()); ++it) {
      try {
        (void)*it;
      } catch (const WorkerDied&) {
        ++died;
      }
    }
    EXPECT_EQ(died, 1);
    expect_chunk_by_chunk(recorder, 20, 19, 1, std::nullopt);
  }
  leaks_.check();
}

// map() reports chunks that come back while it waits for an earlier one: here the first call is
// held at a gate until the observer has seen every other call finish, which it could not if
// progress waited for the first result.
TEST_P(MapProgressTest, MapReportsLaterChunksWhileItWaitsForTheFirst) {
  {
    Options o = options(2);
    o.pipeline_depth = 1;  // nothing waits in the held worker's pipe behind the gate
    Pool pool(o);
    Gate gate;
    const std::vector<std::string> inputs = {gate.dir(), "a", "b", "c", "d"};
    auto results = pool.map(echo_after_gate_task, inputs, {.chunk = 1, .window = 5});
    std::vector<std::size_t> completed;
    bool released = false;
    results.on_progress([&](const MapProgress& p) {
      completed.push_back(p.completed);
      if (p.completed == 4 && !released) {
        released = true;
        gate.release();
      }
    });
    auto it = results.begin();
    EXPECT_EQ(*it, gate.dir());
    EXPECT_TRUE(released);
    EXPECT_EQ(completed, (std::vector<std::size_t>{1, 2, 3, 4, 5}));
    std::vector<std::string> rest;
    for (++it; !(it == results.end()); ++it) rest.push_back(*it);
    EXPECT_EQ(rest, (std::vector<std::string>{"a", "b", "c", "d"}));
    EXPECT_EQ(completed.size(), 5u);  // nothing reported twice
  }
  leaks_.check();
}

// The observer's exception reaches the iterating thread; nothing is lost, and iteration goes on.
TEST_P(MapProgressTest, AnObserverThatThrowsLosesNoResult) {
  {
    Pool pool(options());
    for (const bool ordered : {true, false}) {
      int calls = 0;
      const auto observer = [&](const MapProgress&) {
        if (++calls == 1) throw std::runtime_error("observer failed");
      };
      std::vector<int> values;
      int thrown = 0;
      const auto read_all = [&](auto& results) {
        results.on_progress(observer);
        for (auto it = results.begin(); !(it == results.end());) {
          try {
            values.push_back(*it);
            ++it;
          } catch (const std::runtime_error& e) {
            EXPECT_THAT(e.what(), HasSubstr("observer failed"));
            ++thrown;
          }
        }
      };
      if (ordered) {
        auto results = pool.map(identity_task, std::views::iota(0, 100), {.chunk = 10});
        read_all(results);
      } else {
        auto results = pool.map_unordered(identity_task, std::views::iota(0, 100), {.chunk = 10});
        read_all(results);
      }
      std::sort(values.begin(), values.end());
      ASSERT_EQ(values.size(), 100u) << (ordered ? "map" : "map_unordered");
      for (int i = 0; i < 100; ++i) EXPECT_EQ(values[static_cast<std::size_t>(i)], i);
      EXPECT_EQ(thrown, 1);
      EXPECT_EQ(calls, 10);
    }
  }
  leaks_.check();
}

INSTANTIATE_TEST_SUITE_P(AllStartMethods, MapProgressTest, ::testing::ValuesIn(all_start_cases(2)),
                         [](const auto& info) { return info.param.name; });

TEST(MapProgress, SettingTheObserverAfterIterationBeganIsAUsageError) {
  LeakCheck leaks;
  {
    Pool pool({.workers = 1});
    auto results = pool.map(identity_task, std::views::iota(0, 3));
    auto it = results.begin();
    EXPECT_EQ(*it, 0);
    EXPECT_THROW(results.on_progress([](const MapProgress&) {}), UsageError);
  }
  leaks.check();
}

}  // namespace
}  // namespace forkpool::testing
