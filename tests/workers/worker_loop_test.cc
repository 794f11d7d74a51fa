// The worker loop at the protocol level, without a Pool: how it answers the calls of a Batch.
#include "workers/worker_loop.h"

#include <gtest/gtest.h>

#include <vector>

#include "forkpool/task.h"
#include "io/blocking_reader.h"
#include "io/frame_writer.h"
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

}  // namespace
}  // namespace forkpool::workers
