// The worker loop at the protocol level, without a Pool: how it answers the calls of a Batch.
#include "workers/worker_loop.h"

#include <gtest/gtest.h>

#include <vector>

#include "forkpool/task.h"
#include "io/blocking_reader.h"
#include "io/frame_format.h"
#include "io/frame_writer.h"
#include "io/syscalls.h"
#include "serialization/messages.h"
#include "support/leak_check.h"
#include "workers/start_method.h"

namespace forkpool::workers {
namespace {

using serialization::Kind;

int add_one(int x) { return x + 1; }
FORKPOOL_TASK(add_one_task, add_one);

std::uint8_t byte_of(Kind kind) { return static_cast<std::uint8_t>(kind); }

// A Batch of add_one(task id) calls, ids first..first+count-1.
detail::Payload batch_of(std::uint64_t first, int count) {
  detail::Payload batch;
  for (int i = 0; i < count; ++i) {
    detail::Payload args;
    detail::encode_values(args, static_cast<int>(first) + i);
    serialization::append_batch_entry(batch, first + i, 0,
                                      serialization::encode_task(add_one_task.id(), args));
  }
  return batch;
}

// A run of add_one(i) calls for i in [0, count).
detail::Payload run_of(int count) {
  detail::Payload run;
  serialization::begin_run(run, add_one_task.id());
  for (int i = 0; i < count; ++i) {
    detail::Payload args;
    detail::encode_values(args, i);
    serialization::append_run_call(run, args);
  }
  return run;
}

// A whole frame's bytes, appended to `out`: to write several frames with one write(2).
void append_frame(detail::Payload& out, Kind kind, std::uint8_t flags, std::uint64_t task_id,
                  std::span<const char> payload) {
  const io::HeaderBytes header =
      io::encode_header({.payload_length = static_cast<std::uint32_t>(payload.size()),
                         .kind = static_cast<std::uint8_t>(kind),
                         .flags = flags,
                         .checksum = io::frame_checksum(payload),
                         .task_id = task_id});
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), payload.begin(), payload.end());
}

int decode_int(std::span<const char> payload) {
  int value = 0;
  detail::decode_with(payload, "result", [&](detail::BoundedIArchive& in) { in >> value; });
  return value;
}

class WorkerLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    starter_ = make_starter({.method = StartMethod::kFork});
    worker_.emplace(starter_->start(1));
    reader_.emplace(worker_->from_worker);
    writer_.emplace(worker_->to_worker);
    auto hello = reader_->read_frame();
    ASSERT_TRUE(hello.has_value());
    ASSERT_EQ(hello->kind, byte_of(Kind::kHello));
  }
  void TearDown() override {
    writer_->write_frame(byte_of(Kind::kShutdown), 0, 0, {});
    EXPECT_FALSE(reader_->read_frame().has_value());
    EXPECT_EQ(worker_->child.wait(), ExitStatus::exited(0));
    writer_.reset();
    reader_.reset();
    worker_.reset();
    starter_.reset();
    leaks_.check();
  }

  testing::LeakCheck leaks_;
  std::unique_ptr<WorkerStarter> starter_;
  std::optional<StartedWorker> worker_;
  std::optional<io::BlockingReader> reader_;
  std::optional<io::FrameWriter> writer_;
};

TEST_F(WorkerLoopTest, ABatchThatHoldsRepliesIsAnsweredInRepliesFramesInOrder) {
  writer_->write_frame(byte_of(Kind::kBatch), serialization::kBatchHoldReplies, 0,
                       batch_of(100, 50));
  std::vector<std::uint64_t> ids;
  int frames = 0;
  while (ids.size() < 50) {
    auto frame = reader_->read_frame();
    ASSERT_TRUE(frame.has_value());
    ASSERT_EQ(frame->kind, byte_of(Kind::kReplies))
        << "got " << serialization::kind_name(frame->kind);
    ++frames;
    for (const serialization::ReplyEntry& reply : serialization::decode_replies(frame->payload)) {
      EXPECT_EQ(reply.kind, byte_of(Kind::kResult));
      EXPECT_EQ(decode_int(reply.payload), static_cast<int>(reply.task_id) + 1);
      ids.push_back(reply.task_id);
    }
  }
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], 100 + i);
  // Fewer frames than calls: held replies share them (how many depends on the clock).
  EXPECT_LT(frames, 50);
}

TEST_F(WorkerLoopTest, ABatchThatDoesNotHoldRepliesIsAnsweredCallByCall) {
  writer_->write_frame(byte_of(Kind::kBatch), 0, 0, batch_of(200, 5));
  for (std::uint64_t id = 200; id < 205; ++id) {
    auto frame = reader_->read_frame();
    ASSERT_TRUE(frame.has_value());
    ASSERT_EQ(frame->kind, byte_of(Kind::kResult))
        << "got " << serialization::kind_name(frame->kind);
    EXPECT_EQ(frame->task_id, id);
    EXPECT_EQ(decode_int(frame->payload), static_cast<int>(id) + 1);
  }
}

TEST_F(WorkerLoopTest, HeldRepliesGoOutBeforeTheNextTasksReply) {
  writer_->write_frame(byte_of(Kind::kBatch), serialization::kBatchHoldReplies, 0,
                       batch_of(300, 3));
  detail::Payload args;
  detail::encode_values(args, 41);
  writer_->write_frame(byte_of(Kind::kTask), 0, 400,
                       serialization::encode_task(add_one_task.id(), args));
  std::vector<std::uint64_t> order;
  while (order.size() < 4) {
    auto frame = reader_->read_frame();
    ASSERT_TRUE(frame.has_value());
    if (frame->kind == byte_of(Kind::kReplies)) {
      for (const auto& reply : serialization::decode_replies(frame->payload)) {
        order.push_back(reply.task_id);
      }
    } else {
      ASSERT_EQ(frame->kind, byte_of(Kind::kResult));
      EXPECT_EQ(decode_int(frame->payload), 42);
      order.push_back(frame->task_id);
    }
  }
  EXPECT_EQ(order, (std::vector<std::uint64_t>{300, 301, 302, 400}));
}

// Every reply in the frames that come back, in order, until `count` have come.
std::vector<serialization::ReplyEntry> replies_of(io::BlockingReader& reader, std::size_t count,
                                                  std::vector<io::Frame>& frames) {
  std::vector<serialization::ReplyEntry> replies;
  while (replies.size() < count) {
    auto frame = reader.read_frame();
    if (!frame) break;
    frames.push_back(std::move(*frame));
    const io::Frame& last = frames.back();
    if (last.kind == static_cast<std::uint8_t>(Kind::kReplies)) {
      for (const auto& reply : serialization::decode_replies(last.payload)) {
        replies.push_back(reply);
      }
    } else {
      replies.push_back({last.task_id, last.kind, last.payload});
    }
  }
  return replies;
}

// A run is one Task frame; each call is answered under its own id (the task's id + its index),
// in order, in Replies frames that hold many of them.
TEST_F(WorkerLoopTest, ARunIsAnsweredCallByCallUnderEachCallsId) {
  writer_->write_frame(byte_of(Kind::kTask), serialization::kTaskRun, 500, run_of(40));
  std::vector<io::Frame> frames;
  const auto replies = replies_of(*reader_, 40, frames);
  ASSERT_EQ(replies.size(), 40u);
  for (std::size_t i = 0; i < replies.size(); ++i) {
    EXPECT_EQ(replies[i].task_id, 500 + i);
    ASSERT_EQ(replies[i].kind, byte_of(Kind::kResult));
    EXPECT_EQ(decode_int(replies[i].payload), static_cast<int>(i) + 1);
  }
  EXPECT_LT(frames.size(), 40u) << "each call of a run had a frame of its own";
}

// A Cancel for a call of a run that has not started, arriving with the run: the call does not
// run, and is answered CancelAck in its turn, not ahead of the calls before it.
TEST_F(WorkerLoopTest, ACallOfARunCancelledBeforeItStartsIsAnsweredCancelAckInItsTurn) {
  detail::Payload bytes;
  append_frame(bytes, Kind::kTask, serialization::kTaskRun, 600, run_of(5));
  // The run's first call, one between, and its last: the worker keeps the run as one entry.
  append_frame(bytes, Kind::kCancel, 0, 600, {});
  append_frame(bytes, Kind::kCancel, 0, 603, {});
  append_frame(bytes, Kind::kCancel, 0, 604, {});
  iovec iov{bytes.data(), bytes.size()};
  ASSERT_TRUE(io::write_all(worker_->to_worker.get(), {&iov, 1}, std::nullopt));
  std::vector<io::Frame> frames;
  const auto replies = replies_of(*reader_, 5, frames);
  ASSERT_EQ(replies.size(), 5u);
  for (std::size_t i = 0; i < replies.size(); ++i) {
    EXPECT_EQ(replies[i].task_id, 600 + i);
    if (i == 0 || i == 3 || i == 4) {
      EXPECT_EQ(replies[i].kind, byte_of(Kind::kCancelAck));
      EXPECT_TRUE(replies[i].payload.empty());
    } else {
      ASSERT_EQ(replies[i].kind, byte_of(Kind::kResult));
      EXPECT_EQ(decode_int(replies[i].payload), static_cast<int>(i) + 1);
    }
  }
}

// Cancels for calls of a Batch that have not started, arriving with it: each is answered
// CancelAck and never runs, the others run in order, and a Task behind them still runs with its
// own arguments (the calls share their frame's payload, which must outlive every call in it
// and no more: the dropped ones are passed over, not lost from its count).
TEST_F(WorkerLoopTest, CallsOfABatchCancelledBeforeTheyStartAreDroppedAndTheRestRun) {
  detail::Payload bytes;
  append_frame(bytes, Kind::kBatch, 0, 0, batch_of(700, 4));
  append_frame(bytes, Kind::kCancel, 0, 701, {});
  append_frame(bytes, Kind::kCancel, 0, 703, {});  // the frame's last call
  detail::Payload args;
  detail::encode_values(args, 41);
  append_frame(bytes, Kind::kTask, 0, 800, serialization::encode_task(add_one_task.id(), args));
  iovec iov{bytes.data(), bytes.size()};
  ASSERT_TRUE(io::write_all(worker_->to_worker.get(), {&iov, 1}, std::nullopt));
  std::vector<io::Frame> frames;
  const auto replies = replies_of(*reader_, 5, frames);
  ASSERT_EQ(replies.size(), 5u);
  std::vector<std::uint64_t> results;
  std::vector<std::uint64_t> acks;
  for (const auto& reply : replies) {
    if (reply.kind == byte_of(Kind::kCancelAck)) {
      acks.push_back(reply.task_id);
      continue;
    }
    ASSERT_EQ(reply.kind, byte_of(Kind::kResult)) << reply.task_id;
    EXPECT_EQ(decode_int(reply.payload), reply.task_id == 800 ? 42 : int(reply.task_id) + 1);
    results.push_back(reply.task_id);
  }
  EXPECT_EQ(results, (std::vector<std::uint64_t>{700, 702, 800}));
  EXPECT_EQ(acks, (std::vector<std::uint64_t>{701, 703}));
}

}  // namespace
}  // namespace forkpool::workers
