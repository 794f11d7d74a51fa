// Tests serialization/error_reply.cc: every kind of Error reply round-trips with its fields,
// names its kind in its first byte, and turns back into the typed exception the caller
// catches, from fields alone. (Truncated and bit-flipped replies: messages_test.cc.)
#include "serialization/error_reply.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "forkpool/errors.h"

namespace forkpool::serialization {
namespace {

const std::string kTaskName = "resize_task";
const CallOnWorker kCall{kTaskName, 41, 4242};

TEST(ErrorReplyTest, EveryKindRoundTrips) {
  const ErrorReply replies[] = {
      TaskThrew{"std::runtime_error", "it broke"},
      TaskThrew{},
      TaskThrew{std::string(1000, 'T'), std::string(1 << 20, '\0')},
      NoSuchTask{0x0102030405060708ull, false},
      NoSuchTask{std::numeric_limits<detail::TaskId>::max(), true},
      ResultTooLarge{70000000, 67108864},
      ResultTooLarge{std::numeric_limits<std::uint64_t>::max(), 0},
  };
  for (const ErrorReply& reply : replies) {
    EXPECT_EQ(decode_error(encode(reply)), reply) << describe(reply).substr(0, 80);
  }
}

TEST(ErrorReplyTest, TheFirstByteIsTheKind) {
  EXPECT_EQ(encode(TaskThrew{"E", "m"})[0], static_cast<char>(ErrorKind::kTaskThrew));
  EXPECT_EQ(encode(NoSuchTask{7, false})[0], static_cast<char>(ErrorKind::kNoSuchTask));
  EXPECT_EQ(encode(ResultTooLarge{2, 1})[0], static_cast<char>(ErrorKind::kResultTooLarge));
  EXPECT_EQ(kind_of(ResultTooLarge{}), ErrorKind::kResultTooLarge);
  // The figures travel as 16 plain bytes, not as text to be parsed back.
  EXPECT_EQ(encode(ResultTooLarge{2, 1}).size(), 1u + 2 * sizeof(std::uint64_t));
}

TEST(ErrorReplyTest, AMissingOrUnknownKindIsProtocolError) {
  EXPECT_THROW(decode_error(Payload{}), ProtocolError);
  Payload reply = encode(ResultTooLarge{2, 1});
  for (int kind : {0, 4, 5, 0x80, 0xff}) {
    reply[0] = static_cast<char>(kind);
    try {
      decode_error(reply);
      ADD_FAILURE() << "kind " << kind << " decoded";
    } catch (const ProtocolError& e) {
      EXPECT_NE(std::string(e.what()).find("kind " + std::to_string(kind)), std::string::npos)
          << e.what();
    }
  }
}

TEST(ErrorReplyTest, AKindWithAnotherKindsFieldsIsProtocolError) {
  Payload reply = encode(TaskThrew{"std::runtime_error", "boom"});
  reply[0] = static_cast<char>(ErrorKind::kResultTooLarge);
  EXPECT_THROW(decode_error(reply), ProtocolError);
  reply = encode(ResultTooLarge{1, 2});
  reply[0] = static_cast<char>(ErrorKind::kNoSuchTask);
  EXPECT_THROW(decode_error(reply), ProtocolError);
}

TEST(ErrorReplyTest, ATaskThatThrewBecomesRemoteError) {
  try {
    std::rethrow_exception(exception_for(TaskThrew{"std::out_of_range", "index 9"}, kCall));
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.type_name, "std::out_of_range");
    EXPECT_EQ(e.message, "index 9");
    EXPECT_EQ(e.task_name, kTaskName);
    EXPECT_EQ(e.task_id, 41u);
    EXPECT_EQ(e.worker_pid, 4242);
  }
}

TEST(ErrorReplyTest, ATaskTheWorkerLacksBecomesUnknownTask) {
  for (bool as_chunk : {false, true}) {
    try {
      std::rethrow_exception(exception_for(NoSuchTask{0xabc, as_chunk}, kCall));
      ADD_FAILURE() << "nothing thrown";
    } catch (const UnknownTask& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("'" + kTaskName + "' (id 41) on worker pid 4242"), std::string::npos)
          << what;
      EXPECT_NE(what.find("0xabc"), std::string::npos) << what;
      EXPECT_NE(what.find(as_chunk ? "map chunks" : "not registered"), std::string::npos) << what;
    }
  }
}

TEST(ErrorReplyTest, AResultTooLargeBecomesMessageTooLargeWithItsFigures) {
  try {
    std::rethrow_exception(exception_for(ResultTooLarge{70000000, 67108864}, kCall));
    ADD_FAILURE() << "nothing thrown";
  } catch (const MessageTooLarge& e) {
    EXPECT_EQ(e.size, 70000000u);
    EXPECT_EQ(e.max, 67108864u);
  }
}

TEST(ErrorReplyTest, DescribeIsOnePhrasePerKind) {
  EXPECT_EQ(describe(TaskThrew{"std::logic_error", "bad"}), "threw std::logic_error: bad");
  EXPECT_EQ(describe(NoSuchTask{0x10, false}),
            "is not registered in this worker (function id 0x10): it runs another build of the "
            "program");
  EXPECT_EQ(describe(NoSuchTask{0, true}),
            "cannot run as map chunks in this worker (function id 0x0)");
  EXPECT_EQ(describe(ResultTooLarge{3, 2}), "returned 3 bytes, more than max_frame's 2");
}

struct NotAnException {};

TEST(ErrorReplyTest, TheCurrentExceptionIsDescribedByItsDynamicType) {
  try {
    throw std::out_of_range("index 3");
  } catch (const std::exception&) {
    EXPECT_EQ(describe_current_exception(), (TaskThrew{"std::out_of_range", "index 3"}));
  }
  try {
    throw NotAnException{};
  } catch (...) {
    const TaskThrew described = describe_current_exception();
    EXPECT_NE(described.type_name.find("NotAnException"), std::string::npos) << described.type_name;
    EXPECT_EQ(described.message, "a non-std::exception was thrown");
  }
}

}  // namespace
}  // namespace forkpool::serialization
