#include "fuzz/payload_decoders.h"

#include <array>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "forkpool/detail/archive.h"
#include "forkpool/detail/chunk.h"
#include "forkpool/errors.h"
#include "fuzz/heap_budget.h"
#include "fuzz/sample_types.h"
#include "serialization/messages.h"

namespace forkpool::fuzz {
namespace {

using serialization::Kind;

// Decodes `payload` as the values T... in sequence, as Task::invoke decodes a task's arguments.
template <typename... T>
void decode_values(std::span<const char> payload, const char* name) {
  const HeapBudget budget(payload.size(), name);
  std::tuple<T...> values;
  try {
    detail::decode_with(payload, name, [&](detail::BoundedIArchive& in) {
      std::apply([&](auto&... value) { ((in >> value), ...); }, values);
    });
  } catch (const ProtocolError&) {
  }
}

template <typename Decode>
void decode_message(std::span<const char> payload, const char* name, Decode decode) {
  const HeapBudget budget(payload.size(), name);
  try {
    decode();
  } catch (const ProtocolError&) {
  }
}

void hello_message(std::span<const char> payload, const char* name) {
  decode_message(payload, name, [&] { serialization::decode_hello(payload); });
}

void task_message(std::span<const char> payload, const char* name) {
  std::optional<serialization::TaskCall> call;
  decode_message(payload, name, [&] { call = serialization::decode_task(payload); });
  if (call) decode_as_values(call->args);
}

// A run of calls (serialization::kTaskRun), each call's arguments decoded as a Task's are.
void run_message(std::span<const char> payload, const char* name) {
  std::optional<serialization::RunTask> run;
  decode_message(payload, name, [&] { run = serialization::decode_run(payload); });
  if (!run) return;
  for (std::span<const char> call : run->calls) decode_as_values(call);
}

void batch_message(std::span<const char> payload, const char* name) {
  std::vector<serialization::BatchEntry> entries;
  decode_message(payload, name, [&] { entries = serialization::decode_batch(payload); });
  for (const auto& entry : entries) {
    if ((entry.flags & serialization::kTaskRun) != 0) {
      run_message(entry.task, "run in a Batch");
    } else {
      task_message(entry.task, "Task in a Batch");
    }
  }
}

// A map chunk's arguments (as Task::invoke_chunk decodes a chunk of a string task) and a
// chunk's outcomes (as Pool::map decodes those of an int task).
void chunk_message(std::span<const char> payload, const char* name) {
  const HeapBudget budget(payload.size(), name);
  try {
    std::vector<std::string> calls;
    detail::decode_chunk_args(payload,
                              [&](detail::BoundedIArchive& in) { in >> calls.emplace_back(); });
  } catch (const ProtocolError&) {
  }
  try {
    const std::uint32_t claimed =
        payload.size() >= 4 ? detail::load_le<std::uint32_t>(payload.data()) : 0;
    if (claimed <= detail::kMaxChunkCalls) detail::decode_chunk_result<int>(payload, claimed);
  } catch (const ProtocolError&) {
  }
}

void error_message(std::span<const char> payload, const char* name) {
  decode_message(payload, name, [&] { serialization::decode_error(payload); });
}

// A Replies frame: each Error reply is decoded as the pool decodes one.
void replies_message(std::span<const char> payload, const char* name) {
  std::vector<serialization::ReplyEntry> replies;
  decode_message(payload, name, [&] { replies = serialization::decode_replies(payload); });
  for (const auto& reply : replies) {
    if (static_cast<Kind>(reply.kind) == Kind::kError)
      error_message(reply.payload, "Error in Replies");
  }
}

void log_message(std::span<const char> payload, const char* name) {
  decode_message(payload, name, [&] { serialization::decode_log(payload); });
}

void empty_message(std::span<const char> payload, const char* name) {
  const auto kind = static_cast<std::uint8_t>(Kind::kShutdown);
  decode_message(payload, name, [&] { serialization::expect_empty(kind, payload); });
}

constexpr std::size_t kMessageDecoders = 5;
// Message decoders added later stand after the values, so that the index a seed starts with
// keeps naming the decoder it was made for.
constexpr std::size_t kLaterMessageDecoders = 3;

constexpr std::array kDecoders = {
    Decoder{"Hello", hello_message},
    Decoder{"Task", task_message},
    Decoder{"Error", error_message},
    Decoder{"Log", log_message},
    Decoder{"an empty message", empty_message},
    // The value types, after the messages.
    Decoder{"string", decode_values<std::string>},
    Decoder{"vector<string>", decode_values<std::vector<std::string>>},
    Decoder{"map<string, int>", decode_values<std::map<std::string, int>>},
    Decoder{"vector<int64_t>", decode_values<std::vector<std::int64_t>>},
    Decoder{"vector<double>", decode_values<std::vector<double>>},
    Decoder{"unordered_map<string, int64_t>",
            decode_values<std::unordered_map<std::string, std::int64_t>>},
    Decoder{"unordered_set<int>", decode_values<std::unordered_set<int>>},
    Decoder{"set<string>, list<int>, deque<char>",
            decode_values<std::set<std::string>, std::list<int>, std::deque<char>>},
    Decoder{"pair<bool, uint8_t>, wstring",
            decode_values<std::pair<bool, std::uint8_t>, std::wstring>},
    Decoder{"int32_t, string, vector<vector<int>>",
            decode_values<std::int32_t, std::string, std::vector<std::vector<int>>>},
    Decoder{"Flags (a bool array)", decode_values<Flags>},
    Decoder{"Tree (a recursive type)", decode_values<Tree>},
    Decoder{"Batch", batch_message},
    Decoder{"map chunk", chunk_message},
    Decoder{"run", run_message},
};

}  // namespace

std::span<const Decoder> all_decoders() { return kDecoders; }

std::span<const Decoder> value_decoders() {
  return std::span(kDecoders).subspan(kMessageDecoders,
                                      kDecoders.size() - kMessageDecoders - kLaterMessageDecoders);
}

void decode_as_values(std::span<const char> payload) {
  for (const Decoder& decoder : value_decoders()) decoder.decode(payload, decoder.name);
}

void decode_as_value(std::uint64_t choice, std::span<const char> payload) {
  const Decoder& decoder = value_decoders()[choice % value_decoders().size()];
  decoder.decode(payload, decoder.name);
}

void decode_as_message(std::uint8_t kind, std::span<const char> payload) {
  switch (static_cast<Kind>(kind)) {
    case Kind::kHello:
      return hello_message(payload, "Hello");
    case Kind::kTask:
      task_message(payload, "Task");
      chunk_message(payload, "map chunk");
      return run_message(payload, "run");
    case Kind::kBatch:
      return batch_message(payload, "Batch");
    case Kind::kReplies:
      return replies_message(payload, "Replies");
    case Kind::kDataChannel:
      return decode_message(payload, "DataChannel",
                            [&] { serialization::decode_data_channel(payload); });
    case Kind::kError:
      return error_message(payload, "Error");
    case Kind::kLog:
      return log_message(payload, "Log");
    case Kind::kCancel:
    case Kind::kCancelAck:
    case Kind::kShutdown:
    case Kind::kInputTaken:
      decode_message(payload, "an empty message",
                     [&] { serialization::expect_empty(kind, payload); });
      return;
    case Kind::kResult:     // a user type: the caller decodes it as values
    case Kind::kTaskInput:  // bytes for a job's stdin, never decoded
      return;
  }
  (void)serialization::kind_name(kind);  // an unknown kind only gets named, in the pool's log
}

}  // namespace forkpool::fuzz
