// Tests serialization/task_registry.cc and the invoke path of include/forkpool/task.h: tasks
// registered with FORKPOOL_TASK are found by id and by function, ids and the registry hash are
// stable, and invoke decodes arguments (ProtocolError if they do not decode) while whatever the
// task itself throws passes through unchanged.
#include "forkpool/detail/task_registry.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <new>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "forkpool/detail/archive.h"
#include "forkpool/errors.h"
#include "forkpool/task.h"
#include "serialization/messages.h"

namespace forkpool::detail {
namespace {

// ----- The tasks this binary registers -------------------------------------------------------

int calls = 0;  // how many times a task body ran; reset by the tests that count

int add(int a, int b) {
  ++calls;
  return a + b;
}
FORKPOOL_TASK(add_task, add);

// Parameter kinds the worker must bind: by value, by const reference, by rvalue reference.
std::string describe(long number, const std::string& text, std::vector<int>&& values) {
  ++calls;
  std::vector<int> taken = std::move(values);
  std::string out = std::to_string(number) + ":" + text + ":";
  for (int v : taken) out += std::to_string(v) + ",";
  return out;
}
FORKPOOL_TASK(describe_task, describe);

struct Shape {
  std::string name;
  std::vector<double> sides;
  template <typename Archive>
  void serialize(Archive& archive, unsigned int /*version*/) {
    // clang-format would rewrite this as `archive& name& sides`.
    // clang-format off
    archive & name & sides;
    // clang-format on
  }
  bool operator==(const Shape&) const = default;
};

Shape scale(Shape shape, double factor) {
  for (double& side : shape.sides) side *= factor;
  shape.name += " scaled";
  return shape;
}
FORKPOOL_TASK(scale_task, scale);

// The task's own failure: must reach the caller as itself, not as a ProtocolError.
struct TaskFailure : std::runtime_error {
  explicit TaskFailure(int code)
      : std::runtime_error("task failed with " + std::to_string(code)), code(code) {}
  int code;
};

int fail(int code) {
  ++calls;
  if (code == 0) throw std::bad_alloc();
  if (code < 0) throw ProtocolError("a task may throw this too");
  throw TaskFailure(code);
}
FORKPOOL_TASK(fail_task, fail);

// A task may legitimately return an empty or default value, or nothing at all.
std::string empty_string() { return {}; }
FORKPOOL_TASK(empty_string_task, empty_string);

std::map<std::string, std::vector<int>> empty_map() { return {}; }
FORKPOOL_TASK(empty_map_task, empty_map);

void touch() { ++calls; }
FORKPOOL_TASK(touch_task, touch);

int not_registered(int x) { return x; }

// ----- Helpers -------------------------------------------------------------------------------

template <typename... T>
Payload encoded(const T&... values) {
  Payload out;
  if constexpr (sizeof...(T) > 0) encode_values(out, values...);
  return out;
}

template <typename T>
T decoded(std::span<const char> payload) {
  T value{};
  decode_with(payload, "result", [&](BoundedIArchive& in) { in >> value; });
  return value;
}

ErasedFunction erased(auto function) { return reinterpret_cast<ErasedFunction>(function); }

const TaskEntry& entry_of(const auto& task) {
  const TaskEntry* entry = TaskRegistry::instance().find(task.id());
  if (entry == nullptr) throw std::logic_error("task " + task.name() + " is not registered");
  return *entry;
}

// Runs a registered task on encoded arguments, as the worker does.
Payload run(const TaskEntry& entry, std::span<const char> args) {
  Payload result;
  entry.invoke(entry.function, args, result);
  return result;
}

// ----- Lookup --------------------------------------------------------------------------------

TEST(TaskRegistryTest, FindsARegisteredTaskByIdAndByFunction) {
  const TaskRegistry& registry = TaskRegistry::instance();
  EXPECT_EQ(registry.problem(), "");

  const TaskEntry* by_id = registry.find(task_id_of("add_task"));
  ASSERT_NE(by_id, nullptr);
  EXPECT_EQ(by_id->name, "add_task");
  EXPECT_EQ(by_id->id, add_task.id());
  EXPECT_EQ(add_task.name(), "add_task");
  EXPECT_EQ(by_id->function, erased(&add));
  EXPECT_FALSE(by_id->signature.empty());
  EXPECT_NE(by_id->invoke, nullptr);

  EXPECT_EQ(registry.find(erased(&add)), by_id);
  EXPECT_EQ(registry.find(erased(&describe))->name, "describe_task");
  EXPECT_EQ(registry.find(scale_task.id())->function, erased(&scale));
}

int first_of_two(int a, int /*b*/) { return a; }
int second_of_two(int /*a*/, int b) { return b; }

// Many tasks, registered in no order of id or of function: each is found by both, two names for
// one function find the first registered by that function, and a missing one is not found.
TEST(TaskRegistryTest, FindsEachOfManyTasksAndTheFirstOfTwoNamesForAFunction) {
  TaskRegistry registry;
  const std::vector<ErasedFunction> functions = {erased(&add), erased(&first_of_two),
                                                 erased(&second_of_two)};
  std::vector<std::string> names;
  for (int i = 0; i < 300; ++i) {
    names.push_back("task" + std::to_string((i * 7919) % 300));
    registry.add(TaskEntry{names.back(), task_id_of(names.back()), "int (*)(int, int)",
                           functions[static_cast<std::size_t>(i) % functions.size()],
                           &Task<int (*)(int, int)>::invoke});
  }
  ASSERT_EQ(registry.problem(), "");
  ASSERT_EQ(registry.size(), 300u);
  for (std::size_t i = 0; i < names.size(); ++i) {
    const TaskEntry* entry = registry.find(task_id_of(names[i]));
    ASSERT_NE(entry, nullptr) << names[i];
    EXPECT_EQ(entry->name, names[i]);
    EXPECT_EQ(entry->function, functions[i % functions.size()]);
  }
  for (std::size_t f = 0; f < functions.size(); ++f) {
    const TaskEntry* entry = registry.find(functions[f]);
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(entry->name, names[f]) << "not the first registered for this function";
  }
  EXPECT_EQ(registry.find(task_id_of("task300")), nullptr);
  EXPECT_EQ(registry.find(erased(&not_registered)), nullptr);
  registry.add(TaskEntry{names[5], task_id_of(names[5]), "", erased(&add), nullptr});
  EXPECT_NE(registry.problem().find(names[5]), std::string::npos) << registry.problem();
}

TEST(TaskRegistryTest, UnknownIdsAndFunctionsAreNotFound) {
  const TaskRegistry& registry = TaskRegistry::instance();
  EXPECT_EQ(registry.find(task_id_of("no_such_task")), nullptr);
  EXPECT_EQ(registry.find(TaskId{0}), nullptr);
  EXPECT_EQ(registry.find(erased(&not_registered)), nullptr);
}

TEST(TaskRegistryTest, TaskIdIsStableAndDistinguishesNames) {
  EXPECT_EQ(task_id_of("add_task"), task_id_of(std::string("add_") + "task"));
  EXPECT_EQ(task_id_of("add_task"), add_task.id());
  // Stable across processes and builds: a parent and a worker of another build agree on ids.
  // Changing how ids are computed changes the wire, and needs a new kProtocolVersion.
  EXPECT_EQ(task_id_of(""), 0x2d06800538d394c2ull);
  EXPECT_EQ(task_id_of("add_task"), 0xa581abbf0ca2a847ull);

  const std::vector<std::string> names = {
      "", "a", "b", "add_task", "add_task ", "Add_task", "add_tas", std::string("add\0task", 8)};
  std::set<TaskId> ids;
  for (const std::string& name : names) ids.insert(task_id_of(name));
  EXPECT_EQ(ids.size(), names.size());
}

// ----- The registry hash ---------------------------------------------------------------------

TaskEntry entry_named(const std::string& name, const std::string& signature = "int (*)(int, int)") {
  return TaskEntry{name, task_id_of(name), signature, erased(&add),
                   &Task<int (*)(int, int)>::invoke};
}

TEST(TaskRegistryTest, HashIsStableAndOrderIndependent) {
  EXPECT_EQ(TaskRegistry::instance().hash(), TaskRegistry::instance().hash());

  TaskRegistry forward;
  forward.add(entry_named("first"));
  forward.add(entry_named("second"));
  TaskRegistry backward;
  backward.add(entry_named("second"));
  backward.add(entry_named("first"));
  EXPECT_EQ(forward.hash(), backward.hash());
  EXPECT_EQ(forward.hash(), forward.hash());
}

TEST(TaskRegistryTest, HashDiffersForADifferentSetOfTasks) {
  TaskRegistry two;
  two.add(entry_named("first"));
  two.add(entry_named("second"));
  TaskRegistry one;
  one.add(entry_named("first"));
  TaskRegistry renamed;
  renamed.add(entry_named("first"));
  renamed.add(entry_named("third"));
  TaskRegistry retyped;
  retyped.add(entry_named("first"));
  retyped.add(entry_named("second", "long (*)(long)"));
  // The name/signature boundary counts: "ab" + "c" is not "a" + "bc".
  TaskRegistry split_ab;
  split_ab.add(entry_named("ab", "c"));
  TaskRegistry split_a;
  split_a.add(entry_named("a", "bc"));

  const std::set<std::uint64_t> hashes = {
      TaskRegistry().hash(), two.hash(),      one.hash(),     renamed.hash(),
      retyped.hash(),        split_ab.hash(), split_a.hash(), TaskRegistry::instance().hash()};
  EXPECT_EQ(hashes.size(), 8u);
}

TEST(TaskRegistryTest, DuplicateNameIsReportedAsAProblem) {
  TaskRegistry registry;
  registry.add(entry_named("twice"));
  EXPECT_EQ(registry.problem(), "");
  registry.add(entry_named("twice", "void (*)()"));
  EXPECT_NE(registry.problem().find("'twice'"), std::string::npos) << registry.problem();
  // The first registration stays; the second is not added.
  EXPECT_EQ(registry.size(), 1u);
  EXPECT_EQ(registry.find(task_id_of("twice"))->signature, "int (*)(int, int)");
}

// ----- invoke --------------------------------------------------------------------------------

TEST(TaskRegistryTest, InvokeDecodesArgumentsAndEncodesTheResult) {
  calls = 0;
  const Payload result = run(entry_of(add_task), encoded(40, 2));
  EXPECT_EQ(decoded<int>(result), 42);
  EXPECT_EQ(calls, 1);
}

TEST(TaskRegistryTest, InvokeBindsValueConstReferenceAndRvalueReferenceParameters) {
  calls = 0;
  const Payload args = encoded(long{-7}, std::string("seven"), std::vector<int>{1, 2});
  EXPECT_EQ(decoded<std::string>(run(entry_of(describe_task), args)), "-7:seven:1,2,");
  const Payload empty_args = encoded(long{0}, std::string(), std::vector<int>());
  EXPECT_EQ(decoded<std::string>(run(entry_of(describe_task), empty_args)), "0::");
  EXPECT_EQ(calls, 2);
}

TEST(TaskRegistryTest, InvokeCarriesUserTypes) {
  const Shape square{"square", {1, 1, 1, 1}};
  EXPECT_EQ(decoded<Shape>(run(entry_of(scale_task), encoded(square, 2.5))),
            (Shape{"square scaled", {2.5, 2.5, 2.5, 2.5}}));
}

TEST(TaskRegistryTest, InvokeEncodesEmptyAndDefaultResults) {
  EXPECT_EQ(decoded<std::string>(run(entry_of(empty_string_task), {})), "");
  using Map = std::map<std::string, std::vector<int>>;
  EXPECT_EQ(decoded<Map>(run(entry_of(empty_map_task), {})), Map{});
  calls = 0;
  EXPECT_TRUE(run(entry_of(touch_task), {}).empty());
  EXPECT_EQ(calls, 1);
}

TEST(TaskRegistryTest, ArgumentsThatDoNotDecodeAreProtocolErrorAndTheTaskDoesNotRun) {
  const TaskEntry& entry = entry_of(describe_task);
  const Payload valid = encoded(long{1}, std::string("x"), std::vector<int>{3});
  Payload trailing = valid;
  trailing.push_back('\0');
  std::vector<std::pair<std::string, Payload>> bad = {
      {"no bytes", {}},
      {"an int where a long is expected", encoded(1, std::string("x"), std::vector<int>{3})},
      {"too few arguments", encoded(long{1}, std::string("x"))},
      {"a trailing byte", trailing},
      {"garbage", Payload(64, '\xff')},
  };
  for (std::size_t size = 0; size < valid.size(); ++size) {
    bad.emplace_back("cut to " + std::to_string(size) + " bytes",
                     Payload(valid.begin(), valid.begin() + size));
  }
  calls = 0;
  for (const auto& [what, args] : bad) {
    EXPECT_THROW(run(entry, args), ProtocolError) << what;
  }
  EXPECT_EQ(calls, 0);
  // A task without parameters still wants exactly zero bytes.
  EXPECT_THROW(run(entry_of(touch_task), Payload(1, '\0')), ProtocolError);
  EXPECT_EQ(calls, 0);
}

TEST(TaskRegistryTest, WhatTheTaskThrowsPropagatesUnchanged) {
  const TaskEntry& entry = entry_of(fail_task);
  try {
    run(entry, encoded(7));
    FAIL() << "no exception";
  } catch (const ProtocolError& e) {
    FAIL() << "the task's exception became a ProtocolError: " << e.what();
  } catch (const TaskFailure& e) {
    EXPECT_EQ(e.code, 7);
  }
  // Not even the exceptions decoding turns into ProtocolError.
  EXPECT_THROW(run(entry, encoded(0)), std::bad_alloc);
  try {
    run(entry, encoded(-1));
    FAIL() << "no exception";
  } catch (const ProtocolError& e) {
    EXPECT_STREQ(e.what(), "protocol error: a task may throw this too");
  }
}

// The worker's path end to end: a Task frame's payload names the function and carries the
// arguments; the registry finds the function and invoke runs it.
TEST(TaskRegistryTest, TaskPayloadRunsTheRegisteredFunction) {
  const Payload payload = serialization::encode_task(add_task.id(), encoded(5, 6));
  const serialization::TaskCall call = serialization::decode_task(payload);
  const TaskEntry* entry = TaskRegistry::instance().find(call.function);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(decoded<int>(run(*entry, call.args)), 11);
}

}  // namespace
}  // namespace forkpool::detail
