// Tasks: the functions a worker may run.
//
// C++ closures cannot cross a process boundary, so a task is a plain function registered by
// name before main:
//
//   int square(int x) { return x * x; }
//   FORKPOOL_TASK(square_task, square);
//   ...
//   forkpool::Future<int> f = pool.submit(square_task, 7);   // or pool.submit(square, 7)
//
// Arguments and results travel as Boost.Serialization binary archives: arithmetic types,
// std::string, standard containers, and user types with a serialize() member all work.
// Argument types must be default-constructible (the worker decodes into them).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "forkpool/detail/archive.h"
#include "forkpool/detail/task_registry.h"
#include "forkpool/errors.h"

namespace forkpool {

template <typename Function>
class Task;

// A handle to a registered task; FORKPOOL_TASK defines one.
template <typename R, typename... Args>
class Task<R (*)(Args...)> {
 public:
  using Result = R;
  using Function = R (*)(Args...);

  Task(const char* name, Function function) : name_(name), id_(detail::task_id_of(name)) {
    detail::TaskRegistry::instance().add(detail::TaskEntry{
        name_, id_, typeid(Function).name(), reinterpret_cast<detail::ErasedFunction>(function),
        &invoke});
  }

  const std::string& name() const { return name_; }
  detail::TaskId id() const { return id_; }

  // Runs in the worker: decodes the arguments, calls, encodes the result. A decoding failure
  // is a ProtocolError; what the function throws propagates unchanged.
  static void invoke(detail::ErasedFunction erased, std::span<const char> encoded_args,
                     detail::Payload& out) {
    auto function = reinterpret_cast<Function>(erased);
    std::tuple<std::decay_t<Args>...> args;
    detail::decode_with(encoded_args, "task arguments", [&](detail::BoundedIArchive& in) {
      std::apply([&](auto&... a) { ((in >> a), ...); }, args);
    });
    call(function, args, out, std::index_sequence_for<Args...>{});
  }

  template <std::size_t... I>
  static void call(Function function, std::tuple<std::decay_t<Args>...>& args,
                   detail::Payload& out, std::index_sequence<I...>) {
    // static_cast<Args&&> moves by-value and rvalue-reference parameters and binds lvalue
    // references to the decoded object.
    if constexpr (std::is_void_v<R>) {
      function(static_cast<Args&&>(std::get<I>(args))...);
    } else {
      detail::encode_values(out, function(static_cast<Args&&>(std::get<I>(args))...));
    }
  }

  std::string name_;
  detail::TaskId id_;
};

template <typename R, typename... Args>
Task(const char*, R (*)(Args...)) -> Task<R (*)(Args...)>;

namespace this_task {
// In a worker: true once the task it is running has been cancelled (Future::cancel(),
// Pool::cancel_all()). A long task may poll it and return early; what it returns is then
// discarded. Cheap enough for a tight loop: it looks at the task pipe at most every 200 µs.
// A task that never polls it is stopped with its worker after Options::cancel_grace.
// Outside a worker, always false.
bool cancelled() noexcept;
}  // namespace this_task

}  // namespace forkpool

// Registers `fn` under the name `name` and defines `name` as its handle. Use it at namespace
// scope, once per task, in a source file that the program links (the workers run the same
// program, so they have the same registry).
#define FORKPOOL_TASK(name, fn) inline const ::forkpool::Task name{#name, &fn}
