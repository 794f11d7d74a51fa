#include "serialization/messages.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "forkpool/detail/archive.h"
#include "forkpool/errors.h"

namespace forkpool::serialization {

std::string kind_name(std::uint8_t kind) {
  switch (static_cast<Kind>(kind)) {
    case Kind::kHello: return "Hello";
    case Kind::kTask: return "Task";
    case Kind::kBatch: return "Batch";
    case Kind::kResult: return "Result";
    case Kind::kError: return "Error";
    case Kind::kLog: return "Log";
    case Kind::kCancel: return "Cancel";
    case Kind::kCancelAck: return "CancelAck";
    case Kind::kHeartbeat: return "Heartbeat";
    case Kind::kShutdown: return "Shutdown";
  }
  return "unknown kind " + std::to_string(kind);
}

bool is_known_kind(std::uint8_t kind) {
  return kind >= static_cast<std::uint8_t>(Kind::kHello) &&
         kind <= static_cast<std::uint8_t>(Kind::kShutdown);
}

Payload encode(const Hello& h) {
  Payload out;
  detail::encode_values(out, h.protocol_version, h.pid, h.worker_id, h.build_id, h.registry_hash,
                        h.max_frame);
  return out;
}

Payload encode(const ErrorReply& e) {
  Payload out;
  detail::encode_values(out, e.type_name, e.message);
  return out;
}

Payload encode(const LogLine& l) {
  Payload out;
  detail::encode_values(out, l.level, l.text);
  return out;
}

Payload encode_task(detail::TaskId function, const Payload& args) {
  Payload out(sizeof function + args.size());
  for (std::size_t i = 0; i < sizeof function; ++i) out[i] = static_cast<char>(function >> (8 * i));
  if (!args.empty()) std::memcpy(out.data() + sizeof function, args.data(), args.size());
  return out;
}

Hello decode_hello(std::span<const char> payload) {
  Hello h;
  detail::decode_with(payload, "Hello", [&](detail::BoundedIArchive& in) {
    in >> h.protocol_version >> h.pid >> h.worker_id >> h.build_id >> h.registry_hash >>
        h.max_frame;
  });
  return h;
}

ErrorReply decode_error(std::span<const char> payload) {
  ErrorReply e;
  detail::decode_with(payload, "Error",
                      [&](detail::BoundedIArchive& in) { in >> e.type_name >> e.message; });
  return e;
}

namespace {
constexpr const char* kTooLargeType = "forkpool::MessageTooLarge";
}

ErrorReply too_large_reply(std::uint64_t size, std::uint64_t max) {
  return {kTooLargeType, std::to_string(size) + " " + std::to_string(max)};
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_too_large(const ErrorReply& reply) {
  if (reply.type_name != kTooLargeType) return std::nullopt;
  unsigned long long size = 0, max = 0;
  char extra = 0;
  if (std::sscanf(reply.message.c_str(), "%llu %llu%c", &size, &max, &extra) != 2) return std::nullopt;
  return std::pair<std::uint64_t, std::uint64_t>{size, max};
}

LogLine decode_log(std::span<const char> payload) {
  LogLine l;
  detail::decode_with(payload, "Log", [&](detail::BoundedIArchive& in) { in >> l.level >> l.text; });
  return l;
}

TaskCall decode_task(std::span<const char> payload) {
  TaskCall call;
  if (payload.size() < sizeof call.function) {
    throw ProtocolError("cannot decode Task: " + std::to_string(payload.size()) +
                        " bytes is shorter than a function id");
  }
  for (std::size_t i = 0; i < sizeof call.function; ++i) {
    call.function |= static_cast<detail::TaskId>(static_cast<unsigned char>(payload[i])) << (8 * i);
  }
  call.args = payload.subspan(sizeof call.function);
  return call;
}

void expect_empty(std::uint8_t kind, std::span<const char> payload) {
  if (!payload.empty()) {
    throw ProtocolError("a " + kind_name(kind) + " frame must be empty, got " +
                        std::to_string(payload.size()) + " bytes");
  }
}

Hello hello_from_this_process(std::uint32_t worker_id, std::uint64_t max_frame) {
  Hello hello;
  hello.pid = ::getpid();
  hello.worker_id = worker_id;
  hello.build_id = build_id();
  hello.registry_hash = detail::TaskRegistry::instance().hash();
  hello.max_frame = max_frame;
  return hello;
}

const std::string& build_id() {
  static const std::string id = std::string("forkpool protocol ") +
                                std::to_string(kProtocolVersion) + " built " + __DATE__ + " " +
                                __TIME__;
  return id;
}

}  // namespace forkpool::serialization
