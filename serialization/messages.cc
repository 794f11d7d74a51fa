#include "serialization/messages.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "forkpool/detail/archive.h"
#include "forkpool/detail/chunk.h"
#include "forkpool/detail/little_endian.h"
#include "forkpool/errors.h"

namespace forkpool::serialization {

using detail::load_le;
using detail::store_le;

namespace {
// nullptr for a byte that names no kind (9 included: it was Heartbeat).
const char* name_of_known(std::uint8_t kind) {
  switch (static_cast<Kind>(kind)) {
    case Kind::kHello:
      return "Hello";
    case Kind::kTask:
      return "Task";
    case Kind::kBatch:
      return "Batch";
    case Kind::kResult:
      return "Result";
    case Kind::kError:
      return "Error";
    case Kind::kLog:
      return "Log";
    case Kind::kCancel:
      return "Cancel";
    case Kind::kCancelAck:
      return "CancelAck";
    case Kind::kShutdown:
      return "Shutdown";
    case Kind::kReplies:
      return "Replies";
    case Kind::kDataChannel:
      return "DataChannel";
    case Kind::kTaskInput:
      return "TaskInput";
    case Kind::kInputTaken:
      return "InputTaken";
  }
  return nullptr;
}
}  // namespace

std::string kind_name(std::uint8_t kind) {
  const char* name = name_of_known(kind);
  return name != nullptr ? name : "unknown kind " + std::to_string(kind);
}

bool is_known_kind(std::uint8_t kind) { return name_of_known(kind) != nullptr; }

Payload encode(const Hello& h) {
  Payload out;
  detail::encode_values(out, h.protocol_version, h.pid, h.worker_id, h.build_id, h.registry_hash,
                        h.max_frame, h.host);
  return out;
}

Payload encode(const DataChannelOffer& o) {
  Payload out;
  detail::encode_values(out, o.mode, o.host, o.port, o.token);
  return out;
}

Payload encode(const LogLine& l) {
  Payload out;
  detail::encode_values(out, l.level, l.text);
  return out;
}

Payload encode_task(detail::TaskId function, std::span<const char> args) {
  Payload out(sizeof function + args.size());
  store_le(out.data(), function);
  if (!args.empty()) std::memcpy(out.data() + sizeof function, args.data(), args.size());
  return out;
}

namespace {
// The layouts' fixed parts, written by the Payload functions and by EntryWriter alike.
// A Batch or Replies entry's header: task id, flags (a reply's kind), length.
void store_entry_header(char* at, std::uint64_t task_id, std::uint8_t flags, std::size_t length) {
  store_le(at, task_id);
  store_le(at + 8, flags);
  store_le(at + 9, static_cast<std::uint32_t>(length));
}
// A run's header, counting no call yet.
void store_run_header(char* at, detail::TaskId function) {
  store_le(at, function);
  store_le(at + 8, std::uint32_t{0});
}

// Appends `header` and then `bytes` to `out`, in one copy when `bytes` are few. insert() grows
// the buffer geometrically (an exact reserve per entry would copy the frame each time,
// quadratic in its entries), and costs a tiny call less than resize() and a copy.
template <std::size_t kHeader>
void append_entry(Payload& out, const char (&header)[kHeader], std::span<const char> bytes) {
  constexpr std::size_t kFew = 64;
  if (bytes.size() > kFew) {
    out.insert(out.end(), header, header + kHeader);
    out.insert(out.end(), bytes.begin(), bytes.end());
    return;
  }
  char entry[kHeader + kFew];
  std::memcpy(entry, header, kHeader);
  std::copy(bytes.begin(), bytes.end(), entry + kHeader);
  out.insert(out.end(), entry, entry + kHeader + bytes.size());
}
}  // namespace

void append_batch_entry(Payload& batch, std::uint64_t task_id, std::uint8_t flags,
                        std::span<const char> task) {
  if (batch.empty()) {
    batch.resize(kBatchCountSize);
    store_le(batch.data(), std::uint32_t{0});
  }
  char header[batch_entry_size(0)];
  store_entry_header(header, task_id, flags, task.size());
  append_entry(batch, header, task);
  store_le(batch.data(), load_le<std::uint32_t>(batch.data()) + 1);
}

namespace {
// The Batch layout, shared by Replies (`Entry`: BatchEntry or ReplyEntry, whose members stand in
// the same order): `what` names the message in errors.
template <typename Entry>
std::vector<Entry> decode_entries(std::span<const char> payload, const std::string& what) {
  if (payload.size() < kBatchCountSize) {
    throw ProtocolError("cannot decode " + what + ": shorter than its count");
  }
  const auto count = load_le<std::uint32_t>(payload.data());
  if (count == 0)
    throw ProtocolError("cannot decode " + what + ": it holds no " +
                        (what == "Batch" ? "task" : "reply"));
  std::span<const char> rest = payload.subspan(kBatchCountSize);
  // Every entry has a header of its own: a count the bytes cannot hold is refused before the
  // entries are allocated.
  if (count > rest.size() / batch_entry_size(0)) {
    throw ProtocolError("cannot decode " + what + ": " + std::to_string(count) +
                        " entries cannot fit in " + std::to_string(rest.size()) + " bytes");
  }
  std::vector<Entry> entries;
  entries.reserve(count);
  while (entries.size() < count) {
    // Built only to throw: a string per entry would cost more than decoding a tiny call.
    const auto where = [&] {
      return "cannot decode " + what + " entry " + std::to_string(entries.size() + 1);
    };
    if (rest.size() < batch_entry_size(0)) {
      throw ProtocolError(where() + ": " + std::to_string(rest.size()) +
                          " bytes is shorter than an entry's header");
    }
    const auto task_id = load_le<std::uint64_t>(rest.data());
    const auto flags = load_le<std::uint8_t>(rest.data() + 8);
    const auto length = load_le<std::uint32_t>(rest.data() + 9);
    rest = rest.subspan(batch_entry_size(0));
    if (length > rest.size()) {
      throw ProtocolError(where() + ": it claims " + std::to_string(length) + " bytes, " +
                          std::to_string(rest.size()) + " are left");
    }
    if (task_id == 0) throw ProtocolError(where() + ": task id 0 is reserved");
    entries.push_back(Entry{task_id, flags, rest.first(length)});
    rest = rest.subspan(length);
  }
  if (!rest.empty()) {
    throw ProtocolError("cannot decode " + what + ": " + std::to_string(rest.size()) +
                        " bytes left over after its " + std::to_string(count) + " entries");
  }
  // Replies are matched by task id: two calls with one id could not be told apart.
  // The pool numbers its tasks in order, so ids in ascending order are the usual case, and
  // cannot repeat: only others need sorting.
  const auto ascending = [](const Entry& a, const Entry& b) { return a.task_id >= b.task_id; };
  if (std::adjacent_find(entries.begin(), entries.end(), ascending) == entries.end()) {
    return entries;
  }
  std::vector<std::uint64_t> ids;
  ids.reserve(entries.size());
  for (const Entry& e : entries) ids.push_back(e.task_id);
  std::sort(ids.begin(), ids.end());
  if (std::adjacent_find(ids.begin(), ids.end()) != ids.end()) {
    throw ProtocolError("cannot decode " + what + ": a task id appears twice");
  }
  return entries;
}
}  // namespace

std::vector<BatchEntry> decode_batch(std::span<const char> payload) {
  return decode_entries<BatchEntry>(payload, "Batch");
}

void begin_run(Payload& run, detail::TaskId function) {
  run.resize(kRunHeader);
  store_run_header(run.data(), function);
}

void append_run_call(Payload& run, std::span<const char> args) {
  char header[kRunCallHeader];
  store_le(header, static_cast<std::uint32_t>(args.size()));
  append_entry(run, header, args);
  store_le(run.data() + 8, load_le<std::uint32_t>(run.data() + 8) + 1);
}

RunView view_run(std::span<const char> payload) {
  if (payload.size() < kRunHeader) {
    throw ProtocolError("cannot decode a run: " + std::to_string(payload.size()) +
                        " bytes is shorter than its header");
  }
  RunView run;
  run.function = load_le<detail::TaskId>(payload.data());
  run.count = load_le<std::uint32_t>(payload.data() + 8);
  run.calls = payload.subspan(kRunHeader);
  // Every call has its length on the wire: a count the bytes cannot hold is refused before
  // anything is allocated for it.
  if (run.count == 0 || run.count > detail::kMaxChunkCalls ||
      run.count > run.calls.size() / kRunCallHeader) {
    throw ProtocolError("cannot decode a run: a count of " + std::to_string(run.count) +
                        " calls in " + std::to_string(run.calls.size()) + " bytes");
  }
  std::span<const char> rest = run.calls;
  for (std::uint32_t call = 1; call <= run.count; ++call) {
    if (rest.size() < kRunCallHeader) {
      throw ProtocolError("cannot decode a run: call " + std::to_string(call) + " is cut short");
    }
    const auto length = load_le<std::uint32_t>(rest.data());
    rest = rest.subspan(kRunCallHeader);
    if (length > rest.size()) {
      throw ProtocolError("cannot decode a run: call " + std::to_string(call) + " claims " +
                          std::to_string(length) + " bytes, " + std::to_string(rest.size()) +
                          " remain");
    }
    rest = rest.subspan(length);
  }
  if (!rest.empty()) {
    throw ProtocolError("cannot decode a run: " + std::to_string(rest.size()) +
                        " bytes after its last call");
  }
  return run;
}

std::span<const char> next_run_call(std::span<const char>& calls) {
  const auto length = load_le<std::uint32_t>(calls.data());
  const std::span<const char> args = calls.subspan(kRunCallHeader, length);
  calls = calls.subspan(kRunCallHeader + length);
  return args;
}

RunTask decode_run(std::span<const char> payload) {
  RunView view = view_run(payload);
  RunTask run;
  run.function = view.function;
  run.calls.reserve(view.count);
  while (run.calls.size() < view.count) run.calls.push_back(next_run_call(view.calls));
  return run;
}

Payload run_without(std::span<const char> run, const std::vector<bool>& drop) {
  const RunTask calls = decode_run(run);
  Payload kept;
  begin_run(kept, calls.function);
  for (std::size_t i = 0; i < calls.calls.size(); ++i) {
    if (i >= drop.size() || !drop[i]) append_run_call(kept, calls.calls[i]);
  }
  return kept;
}

void append_reply(Payload& replies, std::uint64_t task_id, std::uint8_t kind,
                  std::span<const char> payload) {
  append_batch_entry(replies, task_id, kind, payload);
}

void EntryWriter::grow(std::size_t n) {
  bytes_.resize(std::max({used_ + n, 2 * bytes_.size(), std::size_t{256}}));
}

void EntryWriter::begin_run(detail::TaskId function) {
  used_ = 0;
  store_run_header(extend(kRunHeader), function);
}

void EntryWriter::append_run_call(std::span<const char> args) {
  char* entry = extend(kRunCallHeader + args.size());
  store_le(entry, static_cast<std::uint32_t>(args.size()));
  std::copy(args.begin(), args.end(), entry + kRunCallHeader);
  count_one(8);
}

void EntryWriter::append_reply(std::uint64_t task_id, std::uint8_t kind,
                               std::span<const char> payload) {
  if (used_ == 0) store_le(extend(kBatchCountSize), std::uint32_t{0});
  char* entry = extend(batch_entry_size(payload.size()));
  store_entry_header(entry, task_id, kind, payload.size());
  std::copy(payload.begin(), payload.end(), entry + batch_entry_size(0));
  count_one(0);
}

void EntryWriter::assign(std::span<const char> payload) {
  used_ = 0;
  std::copy(payload.begin(), payload.end(), extend(payload.size()));
}

Payload EntryWriter::take() {
  bytes_.resize(used_);
  used_ = 0;
  return std::exchange(bytes_, {});
}

std::vector<ReplyEntry> decode_replies(std::span<const char> payload) {
  std::vector<ReplyEntry> replies = decode_entries<ReplyEntry>(payload, "Replies");
  for (const ReplyEntry& e : replies) {
    const auto kind = static_cast<Kind>(e.kind);
    if (kind != Kind::kResult && kind != Kind::kError && kind != Kind::kCancelAck) {
      throw ProtocolError("cannot decode Replies: a reply of kind " + kind_name(e.kind));
    }
  }
  return replies;
}

Hello decode_hello(std::span<const char> payload) {
  Hello h;
  detail::decode_with(payload, "Hello", [&](detail::BoundedIArchive& in) {
    in >> h.protocol_version >> h.pid >> h.worker_id >> h.build_id >> h.registry_hash >>
        h.max_frame;
    // Protocol 3 had no host: such a Hello still decodes, to be refused by its version.
    if (h.protocol_version >= 4) in >> h.host;
  });
  return h;
}

DataChannelOffer decode_data_channel(std::span<const char> payload) {
  DataChannelOffer o;
  detail::decode_with(payload, "DataChannel", [&](detail::BoundedIArchive& in) {
    in >> o.mode >> o.host >> o.port >> o.token;
  });
  if (o.mode > DataChannelOffer::kRemoteStdio) {
    throw ProtocolError("a DataChannel frame of unknown mode " + std::to_string(o.mode));
  }
  return o;
}

LogLine decode_log(std::span<const char> payload) {
  LogLine l;
  detail::decode_with(payload, "Log",
                      [&](detail::BoundedIArchive& in) { in >> l.level >> l.text; });
  return l;
}

TaskCall decode_task(std::span<const char> payload) {
  TaskCall call;
  if (payload.size() < sizeof call.function) {
    throw ProtocolError("cannot decode Task: " + std::to_string(payload.size()) +
                        " bytes is shorter than a function id");
  }
  call.function = load_le<detail::TaskId>(payload.data());
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
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) hello.host = host;
  return hello;
}

const std::string& build_id() {
  static const std::string id = std::string("forkpool protocol ") +
                                std::to_string(kProtocolVersion) + " built " + __DATE__ + " " +
                                __TIME__;
  return id;
}

}  // namespace forkpool::serialization
