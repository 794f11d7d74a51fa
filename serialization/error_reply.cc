#include "serialization/error_reply.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <typeinfo>
#include <utility>

#include "forkpool/detail/archive.h"
#include "forkpool/detail/chunk.h"
#include "forkpool/errors.h"

namespace forkpool::detail {
namespace {
std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> name(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), &std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(mangled);
}
}  // namespace

// Declared in detail/chunk.h, whose outcomes describe a call's exception the way a single
// task's Error reply does.
void describe_current_exception(std::string& type_name, std::string& message) {
  try {
    throw;
  } catch (const std::exception& e) {
    type_name = demangle(typeid(e).name());
    message = e.what();
  } catch (...) {
    std::type_info* type = abi::__cxa_current_exception_type();
    type_name = type ? demangle(type->name()) : "unknown";
    message = "a non-std::exception was thrown";
  }
}
}  // namespace forkpool::detail

namespace forkpool::serialization {
namespace {

template <typename... F>
struct Overloaded : F... {
  using F::operator()...;
};
// Clang 14 does not deduce an aggregate's template arguments without it.
template <typename... F>
Overloaded(F...) -> Overloaded<F...>;

std::string hex(std::uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text = "0x";
  bool started = false;
  for (int shift = 60; shift >= 0; shift -= 4) {
    const auto digit = (value >> shift) & 0xf;
    started = started || digit != 0 || shift == 0;
    if (started) text += kDigits[digit];
  }
  return text;
}

}  // namespace

ErrorKind kind_of(const ErrorReply& reply) { return static_cast<ErrorKind>(reply.index() + 1); }

Payload encode(const ErrorReply& reply) {
  Payload out;
  out.push_back(static_cast<char>(kind_of(reply)));
  std::visit(Overloaded{
                 [&](const TaskThrew& e) { detail::encode_values(out, e.type_name, e.message); },
                 [&](const NoSuchTask& e) { detail::encode_values(out, e.function, e.as_chunk); },
                 [&](const ResultTooLarge& e) { detail::encode_values(out, e.size, e.max); },
             },
             reply);
  return out;
}

ErrorReply decode_error(std::span<const char> payload) {
  if (payload.empty()) throw ProtocolError("cannot decode Error: it has no kind");
  const std::span<const char> fields = payload.subspan(1);
  switch (static_cast<ErrorKind>(payload[0])) {
    case ErrorKind::kTaskThrew: {
      TaskThrew e;
      detail::decode_values(fields, "Error (task threw)", e.type_name, e.message);
      return e;
    }
    case ErrorKind::kNoSuchTask: {
      NoSuchTask e;
      detail::decode_values(fields, "Error (no such task)", e.function, e.as_chunk);
      return e;
    }
    case ErrorKind::kResultTooLarge: {
      ResultTooLarge e;
      detail::decode_values(fields, "Error (result too large)", e.size, e.max);
      return e;
    }
  }
  throw ProtocolError("cannot decode Error: kind " +
                      std::to_string(static_cast<unsigned char>(payload[0])) +
                      " is none this protocol knows");
}

TaskThrew describe_current_exception() {
  TaskThrew reply;
  detail::describe_current_exception(reply.type_name, reply.message);
  return reply;
}

std::exception_ptr exception_for(const ErrorReply& reply, const CallOnWorker& call) {
  return std::visit(
      Overloaded{
          [&](const TaskThrew& e) {
            return std::make_exception_ptr(
                RemoteError(e.type_name, e.message, call.task_name, call.task_id, call.worker_pid));
          },
          [&](const NoSuchTask&) {
            return std::make_exception_ptr(UnknownTask(
                "task '" + call.task_name + "' (id " + std::to_string(call.task_id) +
                ") on worker pid " + std::to_string(call.worker_pid) + " " + describe(reply)));
          },
          [&](const ResultTooLarge& e) {
            return std::make_exception_ptr(MessageTooLarge(e.size, e.max));
          },
      },
      reply);
}

std::string describe(const ErrorReply& reply) {
  return std::visit(
      Overloaded{
          [](const TaskThrew& e) { return "threw " + e.type_name + ": " + e.message; },
          [](const NoSuchTask& e) {
            return e.as_chunk ? "cannot run as map chunks in this worker (function id " +
                                    hex(e.function) + ")"
                              : "is not registered in this worker (function id " + hex(e.function) +
                                    "): it runs another build of the program";
          },
          [](const ResultTooLarge& e) {
            return "returned " + std::to_string(e.size) + " bytes, more than max_frame's " +
                   std::to_string(e.max);
          },
      },
      reply);
}

}  // namespace forkpool::serialization
