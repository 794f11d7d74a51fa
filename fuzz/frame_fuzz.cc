// libFuzzer target: the input is a byte stream a worker might write. It goes through a real pipe
// into BlockingReader::read_frame() until the end of the stream or a ProtocolError (bad magic,
// TruncatedFrame, CorruptFrame, ...); every whole frame is decoded as its kind's message and as
// an archive of the value type its task id picks. Anything but ProtocolError escaping, or a
// sanitizer report, is a finding.
//
// Random bytes almost never carry a valid XXH3 checksum, so the custom mutator below repairs the
// lengths and checksums of most mutants: the fuzzer then reaches the decoders through the reader.
#include <fcntl.h>
#include <sys/uio.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

#include "forkpool/errors.h"
#include "fuzz/payload_decoders.h"
#include "io/blocking_reader.h"
#include "io/frame_format.h"
#include "io/pipe.h"
#include "io/syscalls.h"

namespace forkpool::fuzz {
namespace {

// Small, so that no input can make the reader allocate much.
constexpr std::size_t kMaxFrame = std::size_t{1} << 20;
// The whole input is written before reading starts, so it must fit in the pipe; scripts/fuzz
// keeps -max_len below this, and a longer input (a hand-run file) is cut here.
constexpr int kPipeCapacity = 1 << 20;

// A pipe holding `bytes` and then end of stream (its write end is closed).
io::Fd pipe_holding(std::span<const char> bytes) {
  io::Pipe pipe = io::Pipe::create();
  int capacity = ::fcntl(pipe.write.get(), F_SETPIPE_SZ, kPipeCapacity);
  if (capacity < 0) capacity = ::fcntl(pipe.write.get(), F_GETPIPE_SZ);
  bytes = bytes.first(std::min(bytes.size(), static_cast<std::size_t>(capacity)));
  if (!bytes.empty()) {
    iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
    io::write_all(pipe.write.get(), std::span<iovec>(&iov, 1), std::nullopt);
  }
  return std::move(pipe.read);
}

void read_and_decode_frames(const io::Fd& fd) {
  // The whole stream is in the pipe already, so the stall timeout never runs out.
  io::BlockingReader reader(
      fd, {.max_frame = kMaxFrame, .stall_timeout = std::chrono::milliseconds(1000)});
  try {
    while (std::optional<io::Frame> frame = reader.read_frame()) {
      decode_as_message(frame->kind, frame->payload);
      // As a Result would be: each task has its own result type, here value_decoders()[task_id].
      decode_as_value(frame->task_id, frame->payload);
    }
  } catch (const ProtocolError&) {
    // The expected end of a malformed stream.
  }
}

std::uint32_t load_u32(const std::uint8_t* p) {
  std::uint32_t value;
  std::memcpy(&value, p, sizeof value);
  return value;  // the wire is little-endian, as is every machine this runs on
}

void store_u32(std::uint8_t* p, std::uint32_t value) { std::memcpy(p, &value, sizeof value); }

// Walks the frames in `data` and, for each whose magic is right, writes the checksum of its
// payload and, if `fix_lengths`, first stretches its length to reach the next magic (or the end).
void repair_frames(std::uint8_t* data, std::size_t size, bool fix_lengths) {
  const std::size_t header = io::kFrameHeaderSize;
  std::size_t at = 0;
  while (size - at >= header && load_u32(data + at) == io::kFrameMagic) {
    const std::size_t payload = at + header;
    std::size_t length = load_u32(data + at + 4);
    if (fix_lengths) {
      static constexpr std::uint8_t kMagic[] = {'F', 'K', 'P', '1'};
      const std::uint8_t* next =
          std::search(data + payload, data + size, std::begin(kMagic), std::end(kMagic));
      length = static_cast<std::size_t>(next - (data + payload));
      store_u32(data + at + 4, static_cast<std::uint32_t>(length));
    }
    if (length > size - payload) return;
    const std::span<const char> bytes(reinterpret_cast<const char*>(data + payload), length);
    store_u32(data + at + 12, io::frame_checksum(bytes));
    at = payload + length;
  }
}

}  // namespace
}  // namespace forkpool::fuzz

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size,
                                               std::size_t max_size, unsigned int seed) {
  // Grow inputs gradually, as libFuzzer's -len_control does for targets without a custom
  // mutator: small streams run faster, and most bugs need only a few frames.
  const std::size_t limit = std::min(max_size, std::max<std::size_t>(2 * size, 1024));
  size = LLVMFuzzerMutate(data, size, limit);
  // One mutant in eight is left alone, so that bad checksums and lengths stay covered.
  switch (seed % 8) {
    case 0:
      break;
    case 1:
    case 2:
    case 3:
      forkpool::fuzz::repair_frames(data, size, false);
      break;
    default:
      forkpool::fuzz::repair_frames(data, size, true);
      break;
  }
  return size;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fuzz = forkpool::fuzz;
  const forkpool::io::Fd fd = fuzz::pipe_holding({reinterpret_cast<const char*>(data), size});
  fuzz::read_and_decode_frames(fd);
  return 0;
}
