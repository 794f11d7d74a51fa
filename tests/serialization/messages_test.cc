// Tests serialization/messages.cc: every message kind round-trips, and a payload that was cut
// short or had a bit flipped is either decoded or a ProtocolError — never a crash or any other
// exception. Bit flips that still decode are expected (the payload has no checksum of its own);
// the frame checksum in io/ is what catches them, so every flip must also change it.
#include "serialization/messages.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <typeinfo>
#include <vector>

#include "forkpool/detail/archive.h"
#include "forkpool/detail/chunk.h"
#include "forkpool/detail/little_endian.h"
#include "forkpool/detail/task_call.h"
#include "forkpool/errors.h"
#include "io/frame_format.h"

namespace forkpool::serialization {
namespace {

constexpr std::uint8_t kAllKinds[] = {1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12};
// 9 was Heartbeat, which nothing sent; the byte stays reserved.
constexpr std::uint8_t kRetiredHeartbeat = 9;
constexpr Kind kEmptyKinds[] = {Kind::kCancel, Kind::kCancelAck, Kind::kShutdown};

std::uint8_t byte_of(Kind kind) { return static_cast<std::uint8_t>(kind); }

Hello sample_hello() {
  Hello hello;
  hello.pid = 31337;
  hello.worker_id = 2;
  hello.build_id = "build";
  hello.registry_hash = 0xfeedfacecafebeefull;
  hello.host = "node7";
  return hello;
}

DataChannelOffer sample_offer() {
  DataChannelOffer offer;
  offer.mode = DataChannelOffer::kTcp;
  offer.host = "head";
  offer.port = 40123;
  offer.token = std::string(kTokenSize, 'f');
  return offer;
}

// The arguments a Task carries, as the pool encodes them for `f(int, std::string, vector<double>)`.
struct TaskArgs {
  std::int32_t number = 0;
  std::string text;
  std::vector<double> values;
  bool operator==(const TaskArgs&) const = default;
};

Payload encode_args(const TaskArgs& args) {
  Payload out;
  detail::encode_values(out, args.number, args.text, args.values);
  return out;
}

TaskArgs decode_args(std::span<const char> payload) {
  TaskArgs args;
  detail::decode_with(payload, "task arguments", [&](detail::BoundedIArchive& in) {
    in >> args.number >> args.text >> args.values;
  });
  return args;
}

// Decodes a Task payload the way a worker does: the call, then its arguments.
TaskArgs decode_task_and_args(std::span<const char> payload) {
  return decode_args(decode_task(payload).args);
}

// Two calls, as the pool batches them.
Payload sample_batch() {
  Payload batch;
  append_batch_entry(batch, 7, 0, encode_task(11, encode_args({1, "one", {1.5}})));
  append_batch_entry(batch, 8, kTaskChunk, encode_task(12, encode_args({2, "two", {}})));
  return batch;
}

// Two calls of one function, as a batch runs them.
Payload sample_run() {
  Payload run;
  begin_run(run, 0x1122334455667788ull);
  append_run_call(run, encode_args({1, "one", {1.5}}));
  append_run_call(run, encode_args({2, "two", {}}));
  return run;
}

// One message kind under test: a small valid payload and the decoder that reads it.
struct Sample {
  std::string name;
  Payload payload;
  std::function<void(std::span<const char>)> decode;
};

std::vector<Sample> samples() {
  return {
      {"Hello", encode(sample_hello()), [](std::span<const char> p) { decode_hello(p); }},
      {"ErrorReply (task threw)", encode(ErrorReply{TaskThrew{"std::logic_error", "bad"}}),
       [](std::span<const char> p) { decode_error(p); }},
      {"ErrorReply (no such task)", encode(ErrorReply{NoSuchTask{0x1122334455667788ull, true}}),
       [](std::span<const char> p) { decode_error(p); }},
      {"ErrorReply (result too large)", encode(ErrorReply{ResultTooLarge{70000000, 67108864}}),
       [](std::span<const char> p) { decode_error(p); }},
      {"LogLine", encode(LogLine{4, "log"}), [](std::span<const char> p) { decode_log(p); }},
      {"DataChannel", encode(sample_offer()),
       [](std::span<const char> p) { decode_data_channel(p); }},
      {"Task", encode_task(0x1122334455667788ull, encode_args({-3, "arg", {0.5}})),
       [](std::span<const char> p) { decode_task_and_args(p); }},
      {"Batch", sample_batch(),
       [](std::span<const char> p) {
         for (const BatchEntry& entry : decode_batch(p)) decode_task_and_args(entry.task);
       }},
      {"Run", sample_run(),
       [](std::span<const char> p) {
         for (std::span<const char> call : decode_run(p).calls) decode_args(call);
       }},
  };
}

// Runs `decode`; returns "decoded" or "protocol error", or describes any other outcome.
std::string outcome_of(const Sample& sample, std::span<const char> payload) {
  try {
    sample.decode(payload);
    return "decoded";
  } catch (const ProtocolError&) {
    return "protocol error";
  } catch (const std::exception& e) {
    return std::string("threw ") + typeid(e).name() + ": " + e.what();
  } catch (...) {
    return "threw a non-std exception";
  }
}

// ----- Kinds ---------------------------------------------------------------------------------

TEST(MessagesTest, EveryKindHasItsName) {
  EXPECT_EQ(kind_name(byte_of(Kind::kHello)), "Hello");
  EXPECT_EQ(kind_name(byte_of(Kind::kTask)), "Task");
  EXPECT_EQ(kind_name(byte_of(Kind::kBatch)), "Batch");
  EXPECT_EQ(kind_name(byte_of(Kind::kResult)), "Result");
  EXPECT_EQ(kind_name(byte_of(Kind::kError)), "Error");
  EXPECT_EQ(kind_name(byte_of(Kind::kLog)), "Log");
  EXPECT_EQ(kind_name(byte_of(Kind::kCancel)), "Cancel");
  EXPECT_EQ(kind_name(byte_of(Kind::kCancelAck)), "CancelAck");
  EXPECT_EQ(kind_name(byte_of(Kind::kShutdown)), "Shutdown");
  EXPECT_EQ(kind_name(byte_of(Kind::kReplies)), "Replies");
  EXPECT_EQ(kind_name(byte_of(Kind::kDataChannel)), "DataChannel");
  for (std::uint8_t kind : kAllKinds) EXPECT_TRUE(is_known_kind(kind)) << int{kind};
  EXPECT_FALSE(is_known_kind(kRetiredHeartbeat));
  EXPECT_EQ(kind_name(kRetiredHeartbeat), "unknown kind 9");
}

TEST(MessagesTest, EveryOtherByteIsAnUnknownKind) {
  for (int kind = 0; kind <= 255; ++kind) {
    const auto byte = static_cast<std::uint8_t>(kind);
    const bool known = kind >= 1 && kind <= 14 && kind != kRetiredHeartbeat;
    EXPECT_EQ(is_known_kind(byte), known) << kind;
    if (!known) {
      EXPECT_EQ(kind_name(byte), "unknown kind " + std::to_string(kind));
    }
  }
}

// ----- Round trips ---------------------------------------------------------------------------

TEST(MessagesTest, BatchRoundTrips) {
  const Payload batch = sample_batch();
  EXPECT_EQ(batch.size(),
            kBatchCountSize +
                batch_entry_size(encode_task(11, encode_args({1, "one", {1.5}})).size()) +
                batch_entry_size(encode_task(12, encode_args({2, "two", {}})).size()));
  const auto entries = decode_batch(batch);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].task_id, 7u);
  EXPECT_EQ(entries[0].flags, 0);
  EXPECT_EQ(decode_task(entries[0].task).function, 11u);
  EXPECT_EQ(decode_task_and_args(entries[0].task), (TaskArgs{1, "one", {1.5}}));
  EXPECT_EQ(entries[1].task_id, 8u);
  EXPECT_EQ(entries[1].flags, kTaskChunk);
  EXPECT_EQ(decode_task_and_args(entries[1].task), (TaskArgs{2, "two", {}}));
  // A call with no arguments is an entry of header and function id only.
  Payload bare;
  append_batch_entry(bare, 1, 0, encode_task(5, {}));
  ASSERT_EQ(decode_batch(bare).size(), 1u);
  EXPECT_TRUE(decode_task(decode_batch(bare)[0].task).args.empty());
}

TEST(MessagesTest, RunRoundTripsAndLeavesOutCalls) {
  const Payload run = sample_run();
  const RunTask decoded = decode_run(run);
  EXPECT_EQ(decoded.function, 0x1122334455667788ull);
  ASSERT_EQ(decoded.calls.size(), 2u);
  EXPECT_EQ(decode_args(decoded.calls[0]).text, "one");
  EXPECT_EQ(decode_args(decoded.calls[1]).number, 2);
  EXPECT_EQ(run.size(),
            kRunHeader + 2 * kRunCallHeader + decoded.calls[0].size() + decoded.calls[1].size());
  const Payload without_first = run_without(run, {true, false});
  const RunTask second = decode_run(without_first);
  EXPECT_EQ(second.function, decoded.function);
  ASSERT_EQ(second.calls.size(), 1u);
  EXPECT_EQ(decode_args(second.calls[0]).text, "two");
}

TEST(MessagesTest, MalformedRunsAreProtocolErrors) {
  const auto refused = [](const Payload& p, const std::string& says) {
    try {
      decode_run(p);
      ADD_FAILURE() << "decoded; expected: " << says;
    } catch (const ProtocolError& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  };
  refused(Payload(11, '\0'), "shorter than its header");
  Payload empty;
  begin_run(empty, 1);
  refused(empty, "a count of 0 calls");
  Payload huge = sample_run();
  huge[11] = '\x7f';  // about two billion calls in a few dozen bytes
  refused(huge, "calls in");
  Payload over = sample_run();
  detail::store_le(over.data() + 8, detail::kMaxChunkCalls + 1);
  over.resize(over.size() + 4 * detail::kMaxChunkCalls);
  refused(over, "calls in");
  const Payload run = sample_run();
  refused(Payload(run.begin(), run.end() - 1), "remain");
  Payload longer = run;
  longer.push_back('x');
  refused(longer, "after its last call");
}

TEST(MessagesTest, MalformedBatchesAreProtocolErrors) {
  const auto refused = [](const Payload& p, const std::string& says) {
    try {
      decode_batch(p);
      ADD_FAILURE() << "decoded; expected: " << says;
    } catch (const ProtocolError& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  };
  refused(Payload{}, "shorter than its count");
  refused(Payload(4, '\0'), "holds no task");
  Payload batch = sample_batch();
  refused(Payload(batch.begin(), batch.begin() + 9), "cannot fit");
  refused(Payload(batch.begin(), batch.end() - 1), "claims");
  Payload longer = batch;
  longer.push_back('x');
  refused(longer, "left over");
  Payload huge = batch;
  huge[3] = '\x7f';  // a count of about two billion entries, in a few dozen bytes
  refused(huge, "cannot fit");
  Payload zero;
  append_batch_entry(zero, 0, 0, encode_task(1, {}));
  refused(zero, "task id 0");
  Payload twice;
  append_batch_entry(twice, 3, 0, encode_task(1, {}));
  append_batch_entry(twice, 3, 0, encode_task(2, {}));
  refused(twice, "appears twice");
}

// The writer the worker's held replies and a batch's runs use gives the same bytes as the
// functions the decoders are tested against, across its growth (300 entries outgrow its first
// buffer), after clear(), and as a payload of exactly its bytes from take().
TEST(MessagesTest, AnEntryWriterWritesTheSameRunsAndRepliesAsTheFunctions) {
  EntryWriter writer;
  Payload replies;
  for (int round = 0; round < 2; ++round) {
    replies.clear();
    writer.clear();
    for (std::uint64_t id = 1; id <= 300; ++id) {
      const Payload value = encode_args({static_cast<int>(id), std::string(id % 7, 'v'), {}});
      const auto kind = byte_of(id % 5 == 0 ? Kind::kCancelAck : Kind::kResult);
      const std::span<const char> bytes = id % 5 == 0 ? std::span<const char>() : value;
      append_reply(replies, id, kind, bytes);
      writer.append_reply(id, kind, bytes);
    }
    ASSERT_EQ(writer.size(), replies.size());
    EXPECT_TRUE(std::ranges::equal(writer.view(), replies)) << "round " << round;
    EXPECT_EQ(decode_replies(writer.view()).size(), 300u);
  }
  const Payload run = sample_run();
  writer.begin_run(0x1122334455667788ull);
  writer.append_run_call(encode_args({1, "one", {1.5}}));
  writer.append_run_call(encode_args({2, "two", {}}));
  EXPECT_TRUE(std::ranges::equal(writer.view(), run));
  const Payload taken = writer.take();
  EXPECT_EQ(taken, run);
  EXPECT_TRUE(writer.empty());
  writer.assign(run);
  EXPECT_EQ(decode_run(writer.view()).calls.size(), 2u);
}

TEST(MessagesTest, RepliesRoundTrip) {
  Payload replies;
  const Payload value = encode_args({1, "one", {}});
  append_reply(replies, 5, byte_of(Kind::kResult), value);
  append_reply(replies, 6, byte_of(Kind::kCancelAck), {});
  append_reply(replies, 9, byte_of(Kind::kError), value);
  const auto entries = decode_replies(replies);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].task_id, 5u);
  EXPECT_EQ(entries[0].kind, byte_of(Kind::kResult));
  EXPECT_TRUE(
      std::equal(entries[0].payload.begin(), entries[0].payload.end(), value.begin(), value.end()));
  EXPECT_EQ(entries[1].task_id, 6u);
  EXPECT_EQ(entries[1].kind, byte_of(Kind::kCancelAck));
  EXPECT_TRUE(entries[1].payload.empty());
  EXPECT_EQ(entries[2].task_id, 9u);
  EXPECT_EQ(entries[2].kind, byte_of(Kind::kError));
  // Ids need not ascend; they must not repeat.
  Payload unordered;
  append_reply(unordered, 9, byte_of(Kind::kResult), {});
  append_reply(unordered, 4, byte_of(Kind::kResult), {});
  EXPECT_EQ(decode_replies(unordered).size(), 2u);
}

TEST(MessagesTest, MalformedRepliesAreProtocolErrors) {
  const auto refused = [](const Payload& p, const std::string& says) {
    try {
      decode_replies(p);
      ADD_FAILURE() << "decoded; expected: " << says;
    } catch (const ProtocolError& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("Replies"), std::string::npos) << e.what();
    }
  };
  refused(Payload{}, "shorter than its count");
  refused(Payload(4, '\0'), "holds no reply");
  for (Kind kind : {Kind::kTask, Kind::kBatch, Kind::kReplies, Kind::kHello, Kind::kLog}) {
    Payload wrong;
    append_reply(wrong, 1, byte_of(kind), {});
    refused(wrong, "a reply of kind " + kind_name(byte_of(kind)));
  }
  Payload twice;
  append_reply(twice, 3, byte_of(Kind::kResult), {});
  append_reply(twice, 3, byte_of(Kind::kResult), {});
  refused(twice, "appears twice");
  Payload cut;
  append_reply(cut, 3, byte_of(Kind::kResult), encode_args({1, "x", {}}));
  cut.pop_back();
  refused(cut, "claims");
}

// A worker of protocol 3 sent no host: its Hello must decode, so that the pool can refuse it
// by version (naming both) rather than call it garbage.
TEST(MessagesTest, AProtocol3HelloWithoutAHostStillDecodes) {
  Payload old;
  detail::encode_values(old, std::uint32_t{3}, std::int32_t{12}, std::uint32_t{1},
                        std::string("old build"), std::uint64_t{5}, std::uint64_t{1024});
  const Hello hello = decode_hello(old);
  EXPECT_EQ(hello.protocol_version, 3u);
  EXPECT_EQ(hello.build_id, "old build");
  EXPECT_EQ(hello.host, "");
}

TEST(MessagesTest, DataChannelOfferRoundTripsAndRefusesAnUnknownMode) {
  EXPECT_EQ(decode_data_channel(encode(sample_offer())), sample_offer());
  EXPECT_EQ(decode_data_channel(encode(DataChannelOffer{})), DataChannelOffer{});
  DataChannelOffer bad = sample_offer();
  bad.mode = 4;
  EXPECT_THROW(decode_data_channel(encode(bad)), ProtocolError);
}

TEST(MessagesTest, HelloRoundTrips) {
  EXPECT_EQ(decode_hello(encode(sample_hello())), sample_hello());
  EXPECT_EQ(decode_hello(encode(Hello{})), Hello{});
  EXPECT_EQ(Hello{}.protocol_version, kProtocolVersion);

  Hello edges;
  edges.protocol_version = std::numeric_limits<std::uint32_t>::max();
  edges.pid = std::numeric_limits<std::int32_t>::min();
  edges.worker_id = std::numeric_limits<std::uint32_t>::max();
  edges.build_id = std::string("\0\xff build \0", 10);
  edges.registry_hash = std::numeric_limits<std::uint64_t>::max();
  EXPECT_EQ(decode_hello(encode(edges)), edges);

  Hello real;
  real.pid = 1;
  real.build_id = build_id();
  EXPECT_EQ(decode_hello(encode(real)), real);
}

TEST(MessagesTest, BuildIdNamesTheProtocolAndIsStable) {
  EXPECT_NE(build_id().find("protocol " + std::to_string(kProtocolVersion)), std::string::npos)
      << build_id();
  EXPECT_EQ(&build_id(), &build_id());
}

TEST(MessagesTest, LogLineRoundTrips) {
  for (std::int32_t level : {0, 1, 2, 3, 4, 5, 6, -1, std::numeric_limits<std::int32_t>::max()}) {
    const LogLine line{level, "line at level " + std::to_string(level)};
    EXPECT_EQ(decode_log(encode(line)), line);
  }
  EXPECT_EQ(decode_log(encode(LogLine{})), LogLine{});
}

TEST(MessagesTest, TaskRoundTrips) {
  const detail::TaskId function = 0x0102030405060708ull;
  const TaskArgs args{42, "text", {1.5, -0.0}};
  const Payload encoded_args = encode_args(args);
  const Payload payload = encode_task(function, encoded_args);

  // The function id, little-endian, then the argument archive untouched.
  ASSERT_EQ(payload.size(), sizeof function + encoded_args.size());
  EXPECT_EQ(payload[0], '\x08');
  EXPECT_EQ(payload[7], '\x01');

  const TaskCall call = decode_task(payload);
  EXPECT_EQ(call.function, function);
  // The arguments are a view into the payload, not a copy.
  EXPECT_EQ(call.args.data(), payload.data() + sizeof function);
  EXPECT_EQ(Payload(call.args.begin(), call.args.end()), encoded_args);
  EXPECT_EQ(decode_args(call.args), args);
}

// Submitters build the Task payload themselves, in one buffer (detail/task_call.h): it must be
// byte for byte what encode_task makes of the same arguments, plain ones and archived ones, and
// it replaces whatever the reused buffer held.
TEST(MessagesTest, TaskPayloadsBuiltBySubmittersMatchEncodeTask) {
  const detail::TaskId function = 0x0102030405060708ull;
  Payload out(100, 'x');
  detail::encode_task_payload<int, double>(out, function, 42, 2.5);
  Payload plain;
  detail::encode_values(plain, 42, 2.5);
  EXPECT_EQ(out, encode_task(function, plain));

  detail::encode_task_payload<int, std::string, std::vector<double>>(
      out, function, 7, "text", std::vector<double>{1.5, -0.0});
  EXPECT_EQ(out, encode_task(function, encode_args({7, "text", {1.5, -0.0}})));

  // A value is converted to its parameter's type first: 3 for a double parameter is 3.0.
  detail::encode_task_payload<double>(out, function, 3);
  Payload three;
  detail::encode_values(three, 3.0);
  EXPECT_EQ(out, encode_task(function, three));

  detail::encode_task_payload<>(out, function);
  EXPECT_EQ(out, encode_task(function, Payload{}));
}

TEST(MessagesTest, TaskWithoutArgumentsRoundTrips) {
  for (detail::TaskId function : {detail::TaskId{0}, std::numeric_limits<detail::TaskId>::max()}) {
    const TaskCall call = decode_task(encode_task(function, Payload{}));
    EXPECT_EQ(call.function, function);
    EXPECT_TRUE(call.args.empty());
  }
}

TEST(MessagesTest, TaskShorterThanAFunctionIdIsProtocolError) {
  const Payload payload = encode_task(7, Payload{});
  for (std::size_t size = 0; size < sizeof(detail::TaskId); ++size) {
    EXPECT_THROW(decode_task(std::span<const char>(payload).first(size)), ProtocolError) << size;
  }
}

TEST(MessagesTest, EmptyKindsAcceptOnlyAnEmptyPayload) {
  for (Kind kind : kEmptyKinds) {
    EXPECT_NO_THROW(expect_empty(byte_of(kind), Payload{})) << kind_name(byte_of(kind));
    for (std::size_t size : {1, 24}) {
      try {
        expect_empty(byte_of(kind), Payload(size, '\0'));
        ADD_FAILURE() << kind_name(byte_of(kind)) << " accepted " << size << " bytes";
      } catch (const ProtocolError& e) {
        EXPECT_NE(std::string(e.what()).find(kind_name(byte_of(kind))), std::string::npos)
            << e.what();
      }
    }
  }
}

// ----- Damaged payloads ----------------------------------------------------------------------

TEST(MessagesTest, TrailingBytesAreProtocolError) {
  for (const Sample& sample : samples()) {
    for (std::size_t extra : {1, 8}) {
      Payload payload = sample.payload;
      payload.insert(payload.end(), extra, '\0');
      EXPECT_EQ(outcome_of(sample, payload), "protocol error")
          << sample.name << " with " << extra << " extra bytes";
    }
  }
}

TEST(MessagesTest, TruncationAtEveryOffsetIsProtocolError) {
  for (const Sample& sample : samples()) {
    ASSERT_EQ(outcome_of(sample, sample.payload), "decoded") << sample.name;
    for (std::size_t size = 0; size < sample.payload.size(); ++size) {
      // A copy of exactly `size` bytes, so AddressSanitizer sees any read past the cut.
      const Payload cut(sample.payload.begin(), sample.payload.begin() + size);
      EXPECT_EQ(outcome_of(sample, cut), "protocol error")
          << sample.name << " cut to " << size << " of " << sample.payload.size() << " bytes";
    }
  }
}

TEST(MessagesTest, EveryBitFlipIsDecodedOrProtocolErrorAndChangesTheChecksum) {
  for (const Sample& sample : samples()) {
    const std::uint32_t checksum = io::frame_checksum(sample.payload);
    int decoded = 0;
    int refused = 0;
    for (std::size_t bit = 0; bit < sample.payload.size() * 8; ++bit) {
      Payload flipped = sample.payload;
      flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
      const std::string outcome = outcome_of(sample, flipped);
      if (outcome == "decoded") {
        ++decoded;
      } else if (outcome == "protocol error") {
        ++refused;
      } else {
        ADD_FAILURE() << sample.name << " with bit " << bit << " flipped " << outcome;
      }
      EXPECT_NE(io::frame_checksum(flipped), checksum)
          << sample.name << ": flipping bit " << bit << " kept the frame checksum";
    }
    // Both happen: a flipped pid still decodes (hence the checksum), a flipped length does not.
    EXPECT_GT(decoded, 0) << sample.name;
    EXPECT_GT(refused, 0) << sample.name;
  }
}

}  // namespace
}  // namespace forkpool::serialization
