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

#include <unistd.h>

#include <cstdint>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "forkpool/detail/archive.h"
#include "forkpool/detail/chunk.h"
#include "forkpool/detail/task_registry.h"
#include "forkpool/errors.h"

namespace forkpool {

namespace detail {
// The rule for every argument that travels (submit, a batch, map, an initializer): the value
// is converted to its parameter's type, decayed, and encoded as that, because the worker
// decodes into the parameter's type, not the caller's (3 for a double parameter travels as
// 3.0). A value that already has that type is encoded where it is, without a copy.
template <typename Arg, typename Value>
decltype(auto) as_parameter(Value&& value) {
  using Parameter = std::decay_t<Arg>;
  if constexpr (std::is_same_v<std::remove_cvref_t<Value>, Parameter>) {
    return static_cast<const Parameter&>(value);
  } else {
    return Parameter(std::forward<Value>(value));
  }
}

// The values encoded by that rule for a function of parameters `Args`.
template <typename... Args, typename... Values>
Payload encode_arguments(Values&&... values) {
  Payload args;
  if constexpr (sizeof...(Args) > 0) {
    encode_values(args, as_parameter<Args>(std::forward<Values>(values))...);
  }
  return args;
}
// The registry's entry for `function`. Throws UnknownTask if no FORKPOOL_TASK registered it.
const TaskEntry& registered_task(ErasedFunction function);
}  // namespace detail

namespace this_task {
// In a worker: true once the task it is running has been cancelled (Future::cancel(),
// Pool::cancel_all()). A long task may poll it and return early; what it returns is then
// discarded. Cheap enough for a tight loop: it looks at the task pipe at most every 200 µs.
// A task that never polls it is stopped with its worker after Options::cancel_grace.
// Outside a worker, always false.
bool cancelled() noexcept;
// In a worker: the id of the task it is running (the id errors name); 0 between tasks and
// outside a worker.
std::uint64_t id() noexcept;
}  // namespace this_task

template <typename Function>
class Task;

// A handle to a registered task; FORKPOOL_TASK defines one.
template <typename R, typename... Args>
class Task<R (*)(Args...)> {
 public:
  // The function's return type.
  using Result = R;
  // The function's type.
  using Function = R (*)(Args...);

  // Registers `function` as `name`; FORKPOOL_TASK calls it before main().
  Task(const char* name, Function function) : name_(name), id_(detail::task_id_of(name)) {
    detail::TaskRegistry::instance().add(detail::TaskEntry{
        name_, id_, typeid(Function).name(), reinterpret_cast<detail::ErasedFunction>(function),
        &invoke, &invoke_chunk});
  }

  // The name it was registered with.
  const std::string& name() const { return name_; }
  // The id that identifies the task on the wire (a hash of its name).
  detail::TaskId id() const { return id_; }

  // Runs in the worker: decodes the arguments, calls, encodes the result. A decoding failure
  // is a ProtocolError; what the function throws propagates unchanged.
  static void invoke(detail::ErasedFunction erased, std::span<const char> encoded_args,
                     detail::Payload& out) {
    auto function = reinterpret_cast<Function>(erased);
    std::tuple<std::decay_t<Args>...> args;
    if constexpr (sizeof...(Args) > 0) {
      std::apply([&](auto&... a) { detail::decode_values(encoded_args, "task arguments", a...); },
                 args);
    } else {
      detail::decode_with(encoded_args, "task arguments", [](detail::BoundedIArchive&) {});
    }
    call(function, args, out, std::index_sequence_for<Args...>{});
  }

  // Runs a map chunk in the worker. Between calls it looks whether the chunk was cancelled
  // (every 16 calls: this_task::cancelled() reads the clock), and stops early if so: the
  // worker then answers CancelAck and discards what was encoded.
  static void invoke_chunk(detail::ErasedFunction erased, std::span<const char> encoded,
                           detail::Payload& out) {
    auto function = reinterpret_cast<Function>(erased);
    std::vector<std::tuple<std::decay_t<Args>...>> calls;
    detail::decode_chunk_args(encoded, [&](detail::BoundedIArchive& in) {
      auto& args = calls.emplace_back();
      std::apply([&](auto&... a) { ((in >> a), ...); }, args);
    });
    detail::ChunkResultWriter writer(out, static_cast<std::int32_t>(::getpid()), this_task::id());
    for (std::size_t i = 0; i < calls.size(); ++i) {
      if (i % 16 == 15 && this_task::cancelled()) break;
      try {
        if constexpr (std::is_void_v<R>) {
          std::apply([&](auto&... a) { function(static_cast<Args&&>(a)...); }, calls[i]);
          writer.no_value();
        } else {
          writer.value(std::apply([&](auto&... a) { return function(static_cast<Args&&>(a)...); },
                                  calls[i]));
        }
      } catch (...) {
        writer.current_error();
      }
    }
    writer.finish();
  }

  template <std::size_t... I>
  static void call(Function function, std::tuple<std::decay_t<Args>...>& args, detail::Payload& out,
                   std::index_sequence<I...>) {
    // static_cast<Args&&> moves by-value and rvalue-reference parameters and binds lvalue
    // references to the decoded object.
    if constexpr (std::is_void_v<R>) {
      function(static_cast<Args&&>(std::get<I>(args))...);
    } else {
      detail::encode_values(out, function(static_cast<Args&&>(std::get<I>(args))...));
    }
  }

  // The registered name.
  std::string name_;
  // The wire id.
  detail::TaskId id_;
};

// Deduces a Task's type from its function.
template <typename R, typename... Args>
Task(const char*, R (*)(Args...)) -> Task<R (*)(Args...)>;

namespace detail {
// What submit() accepts as the task to call: a Task handle, or a registered function itself
// (a function, or a pointer to one).
template <typename F>
struct CallSignature {};
template <typename R, typename... Args>
struct CallSignature<Task<R (*)(Args...)>> {
  using Result = R;
};
template <typename R, typename... Args>
struct CallSignature<R (*)(Args...)> {
  using Result = R;
};
template <typename R, typename... Args>
struct CallSignature<R(Args...)> {
  using Result = R;
};
template <typename F>
concept TaskCallable = requires {
  typename CallSignature<std::remove_cvref_t<F>>::Result;
};
template <typename F>
using CallResult = typename CallSignature<std::remove_cvref_t<F>>::Result;

}  // namespace detail

}  // namespace forkpool

// Registers `fn` under the name `name` and defines `name` as its handle. Use it at namespace
// scope, once per task, in a source file that the program links (the workers run the same
// program, so they have the same registry).
#define FORKPOOL_TASK(name, fn) \
  inline const ::forkpool::Task name { #name, &fn }
