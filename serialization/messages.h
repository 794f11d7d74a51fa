// The messages that travel in frames, and their encodings. A frame's `kind` byte says which
// message its payload holds; every payload decodes from one complete buffer (never a stream),
// and a payload that does not decode is a ProtocolError.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "forkpool/detail/little_endian.h"
#include "forkpool/detail/payload.h"
#include "forkpool/detail/task_registry.h"
#include "serialization/error_reply.h"

namespace forkpool::serialization {

using detail::Payload;

// Bump when any payload layout changes: a worker of another version is refused at Hello.
// 3: Error replies are typed (serialization/error_reply.h); Heartbeat is gone.
// 4: a Batch may ask for its calls' replies together (kBatchHoldReplies, Replies); Hello names
//    the worker's host; a launcher's worker first reads a DataChannel frame.
// 5: input streamed to a running task (TaskInput, InputTaken; ExecRequest::stdin_streamed);
//    a Task may be a run of many calls of one function (kTaskRun), answered call by call.
inline constexpr std::uint32_t kProtocolVersion = 5;

enum class Kind : std::uint8_t {
  kHello = 1,      // worker -> parent first: who the worker is; parent -> worker: the limits
  kTask = 2,       // parent -> worker: run a registered function (header task_id: the call)
  kBatch = 3,      // parent -> worker: several tasks in one frame
  kResult = 4,     // worker -> parent: the encoded return value
  kError = 5,      // worker -> parent: no result, and why (ErrorReply)
  kLog = 6,        // worker -> parent: a log line
  kCancel = 7,     // parent -> worker: stop the task with this id
  kCancelAck = 8,  // worker -> parent: it stopped
  // 9 was Heartbeat, which nothing ever sent; reserved, and refused as an unknown kind.
  kShutdown = 10,  // parent -> worker: finish and exit (empty payload)
  kReplies = 11,   // worker -> parent: the replies to several calls of a Batch, in order
  // parent -> a launcher's worker, the first frame on its stdin: where its frames travel.
  kDataChannel = 12,
  // parent -> worker: bytes for the input of the running task `task_id` (the exec task: its
  // job's stdin); kInputEnd in the flags: no more after these. Sent only once the worker has
  // taken the ones before (InputTaken), so a worker holds one at a time.
  kTaskInput = 13,
  // worker -> parent: the task `task_id` has taken its last input (the first: the request's
  // own), and may be sent the next (empty payload).
  kInputTaken = 14,
};

// "Hello", "Task", ...; "unknown kind N" for anything else.
std::string kind_name(std::uint8_t kind);
bool is_known_kind(std::uint8_t kind);

struct Hello {
  std::uint32_t protocol_version = kProtocolVersion;
  std::int32_t pid = 0;
  std::uint32_t worker_id = 0;
  std::string build_id;
  std::uint64_t registry_hash = 0;
  // The largest payload the sender accepts. The parent answers a worker's Hello with its own,
  // and the worker adopts the parent's limit, so a launcher's worker (which cannot know the
  // pool's Options) fails an oversized result with MessageTooLarge, not a protocol error.
  std::uint64_t max_frame = 0;
  // The sender's host name: a refusal or a death on another machine names it. Last, and
  // absent from a protocol 3 Hello, which then still decodes and is refused by its version.
  std::string host;
  bool operator==(const Hello&) const = default;
};

// Where a launcher's worker (ssh, srun, a command) carries its frames: the first frame the
// pool writes on its stdin. With kTcp or kAuto the worker connects to host:port and sends
// `token` first; the launcher's stdio then stays open only as the control channel (its EOF
// means the pool is gone). With kAuto a worker that cannot connect serves on its stdio.
struct DataChannelOffer {
  // kRemoteStdio: stdio from another host, where stdin's EOF (the pool gone) must end even a
  // busy worker; a local worker's parent death is noticed otherwise, and its Cancel frames
  // must stay ordered with its tasks in one pipe.
  enum Mode : std::uint8_t { kStdio = 0, kTcp = 1, kAuto = 2, kRemoteStdio = 3 };
  std::uint8_t mode = kStdio;
  std::string host;  // empty: the client address of the worker's ssh connection, or localhost
  std::uint16_t port = 0;
  std::string token;  // kTokenSize characters
  bool operator==(const DataChannelOffer&) const = default;
};
inline constexpr std::size_t kTokenSize = 32;

// A call: which registered function, and its encoded arguments.
struct TaskCall {
  detail::TaskId function = 0;
  std::span<const char> args;  // points into the frame's payload
};

// Task frame flags.
// The arguments are a map chunk (detail/chunk.h): many calls of the function in one archive,
// answered by one Result holding every call's outcome.
inline constexpr std::uint8_t kTaskChunk = 1;
// The payload is a run (encode_run's layout): consecutive calls of one function from a batch,
// in one frame and one task. Call i is task id + i: the worker answers each call by its own
// id, in order, and may hold the replies as kBatchHoldReplies lets it; a Cancel may name any
// call of the run. Old workers would read the run as one call's arguments: hence protocol 5.
inline constexpr std::uint8_t kTaskRun = 2;

// Batch frame flags.
// The worker may hold its calls' replies and send them together in Replies frames: it holds
// them in front of calls it expects to be quick, for a millisecond at most
// (workers/worker_loop.cc). The pool sets it only on frames whose calls have no timeout: a
// held reply leaves the pool's clock running on a call that has already finished.
inline constexpr std::uint8_t kBatchHoldReplies = 1;

// TaskInput frame flags.
// The task's input ends after this frame's bytes (the job sees end of file).
inline constexpr std::uint8_t kInputEnd = 1;

// One call inside a Batch frame: what a Task frame of its own would have carried.
struct BatchEntry {
  std::uint64_t task_id = 0;
  std::uint8_t flags = 0;
  std::span<const char> task;  // a Task payload (encode_task); points into the Batch's payload
};

// One reply inside a Replies frame: what a Result, Error or CancelAck frame of its own would
// have carried.
struct ReplyEntry {
  std::uint64_t task_id = 0;
  std::uint8_t kind = 0;          // Kind::kResult, kError or kCancelAck
  std::span<const char> payload;  // points into the Replies frame's payload
};

struct LogLine {
  std::int32_t level = 0;  // spdlog::level::level_enum
  std::string text;
  bool operator==(const LogLine&) const = default;
};

Payload encode(const Hello& hello);
Payload encode(const LogLine& line);
Payload encode(const DataChannelOffer& offer);
// The function id, little-endian, then the argument archive.
Payload encode_task(detail::TaskId function, std::span<const char> args);
// A Batch payload: the number of entries (u32), then each entry: task id (u64), flags (u8),
// the Task payload's length (u32), the Task payload (encode_task). Appends one entry to
// `batch` (empty for a new batch) and counts it.
void append_batch_entry(Payload& batch, std::uint64_t task_id, std::uint8_t flags,
                        std::span<const char> task);
// The bytes append_batch_entry adds for a Task payload of `task_bytes` (and the count, once).
inline constexpr std::size_t kBatchCountSize = 4;
inline constexpr std::size_t batch_entry_size(std::size_t task_bytes) { return 13 + task_bytes; }

// A run's payload: the function id (u64), the number of calls (u32), then each call's argument
// bytes (encode_arguments' layout) behind their length (u32), all little-endian. Bytes a run
// adds per call, and in front of its calls:
inline constexpr std::size_t kRunCallHeader = 4;
inline constexpr std::size_t kRunHeader = 12;
// Starts a run of `function` in `run` (cleared), counting no call yet.
void begin_run(Payload& run, detail::TaskId function);
// Appends one call's encoded arguments to a run begun by begin_run, and counts it.
void append_run_call(Payload& run, std::span<const char> args);
// Each call's arguments in a run (pointing into `payload`), in order, and its function.
struct RunTask {
  detail::TaskId function = 0;
  std::vector<std::span<const char>> calls;
};

// A Replies payload has the Batch layout, the entry's kind in place of its flags: appends one
// reply to `replies` (empty for a new frame) and counts it.
void append_reply(Payload& replies, std::uint64_t task_id, std::uint8_t kind,
                  std::span<const char> payload);

// A Replies payload or a run built entry by entry where each tiny call adds one (the worker's
// held replies, a batch's run): the same layouts as append_reply and begin_run/append_run_call
// give, written in place into a buffer grown geometrically ahead of them. A vector's insert
// cost about 35 instructions an entry, more than a tiny call's own work in the worker.
class EntryWriter {
 public:
  // Starts a run of `function`, dropping what was written.
  void begin_run(detail::TaskId function);
  void append_run_call(std::span<const char> args);
  // Appends a reply; the first after clear() starts a Replies payload.
  void append_reply(std::uint64_t task_id, std::uint8_t kind, std::span<const char> payload);
  // Replaces what was written with `payload` (a run made anew).
  void assign(std::span<const char> payload);

  std::size_t size() const { return used_; }
  bool empty() const { return used_ == 0; }
  std::span<const char> view() const { return {bytes_.data(), used_}; }
  // Empty again, keeping the buffer.
  void clear() { used_ = 0; }
  // What was written, as a payload of exactly its bytes; empty again, without a buffer.
  Payload take();

 private:
  // `n` more bytes at the end, to write.
  char* extend(std::size_t n) {
    if (bytes_.size() - used_ < n) grow(n);
    char* at = bytes_.data() + used_;
    used_ += n;
    return at;
  }
  void grow(std::size_t n);
  // Adds one to the u32 count at `at`.
  void count_one(std::size_t at) {
    char* count = bytes_.data() + at;
    detail::store_le(count, detail::load_le<std::uint32_t>(count) + 1);
  }

  Payload bytes_;  // its size is the room; the first used_ bytes are written
  std::size_t used_ = 0;
};

// Each throws ProtocolError if the payload is not a well-formed message of that kind.
Hello decode_hello(std::span<const char> payload);
LogLine decode_log(std::span<const char> payload);
DataChannelOffer decode_data_channel(std::span<const char> payload);
TaskCall decode_task(std::span<const char> payload);
// ProtocolError for a run shorter than its header, of no call or more than
// detail::kMaxChunkCalls, or whose calls do not fill it exactly.
RunTask decode_run(std::span<const char> payload);
// A run checked whole as decode_run checks it, without a vector of its calls: the worker takes
// them one at a time with next_run_call.
struct RunView {
  detail::TaskId function = 0;
  std::uint32_t count = 0;
  std::span<const char> calls;  // every call, behind its length
};
RunView view_run(std::span<const char> payload);
// The arguments of the first call in `calls` (a RunView's, or what is left of them), and
// `calls` moved past it. REQUIRES: a call is left.
std::span<const char> next_run_call(std::span<const char>& calls);
// A copy of a well-formed run without the calls whose index is true in `drop` (at least one is
// left); the rest keep their order.
Payload run_without(std::span<const char> run, const std::vector<bool>& drop);
// Every entry of a Batch, in order; ProtocolError for a Batch of no entry, one whose count is
// not its entries', an entry cut short, a task id of 0, or a task id that appears twice.
std::vector<BatchEntry> decode_batch(std::span<const char> payload);
// Every reply of a Replies frame, in order; ProtocolError as decode_batch, and for a kind that
// is not Result, Error or CancelAck.
std::vector<ReplyEntry> decode_replies(std::span<const char> payload);
// Kinds whose payload must be empty (Cancel, CancelAck, Shutdown).
void expect_empty(std::uint8_t kind, std::span<const char> payload);

// An identifier of this build of forkpool, sent in Hello.
const std::string& build_id();

// This process's Hello: its pid, build, registry and host, with the given worker id and limit.
Hello hello_from_this_process(std::uint32_t worker_id, std::uint64_t max_frame);

}  // namespace forkpool::serialization
