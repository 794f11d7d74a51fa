// micro_bench: Google Benchmark micro-benchmarks of forkpool's pieces, from the frame codec up
// to a Pool. Unlike core_bench these print absolute figures with no peer: they are for
// comparing one build of forkpool with another (before and after a change, on one machine),
// not forkpool with other tools.
//
//   micro_bench [--benchmark_filter=REGEX] [--benchmark_min_time=0.1s] [other Google Benchmark
//               options]
//
// Families:
//   BM_FrameHeader*, BM_FrameChecksum, BM_FrameEncode, BM_FrameVerify   io/frame_format.h
//   BM_TaskCallEncode, BM_TaskCallDecodeRun, BM_ResultDecode            the archive helpers
//   BM_BlockingReader                       frames through a real pipe from a writer thread
//   BM_PoolRoundTrip, BM_PoolSubmits, BM_PoolBatch, BM_PoolMap          a running Pool
#include <benchmark/benchmark.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "forkpool/detail/archive.h"
#include "forkpool/forkpool.h"
#include "io/blocking_reader.h"
#include "io/frame_format.h"
#include "io/frame_writer.h"
#include "io/pipe.h"
#include "serialization/messages.h"

namespace forkpool_bench {
namespace {

// ---------------------------------------------------------------------------------------------
// Tasks, registered in every process that runs this program, workers included.

int noop(int x) { return x; }
FORKPOOL_TASK(noop_task, noop);

// A small task with more than one argument: what most calls look like on the wire.
std::string tag(int number, std::string label) { return label + std::to_string(number); }
FORKPOOL_TASK(tag_task, tag);

constexpr std::int64_t kSmall = 16;
constexpr std::int64_t kPage = 4 << 10;
constexpr std::int64_t kLarge = 1 << 20;

forkpool::detail::Payload payload_of(std::int64_t bytes) {
  return forkpool::detail::Payload(static_cast<std::size_t>(bytes), 'p');
}

// ---------------------------------------------------------------------------------------------
// The frame format: header encode/decode and the checksum every frame carries.

void BM_FrameHeaderEncode(benchmark::State& state) {
  forkpool::io::FrameHeader header{.payload_length = 16, .kind = 2, .task_id = 12345};
  for (auto _ : state) {
    benchmark::DoNotOptimize(header);
    benchmark::DoNotOptimize(forkpool::io::encode_header(header));
  }
}
BENCHMARK(BM_FrameHeaderEncode);

void BM_FrameHeaderDecode(benchmark::State& state) {
  auto bytes = forkpool::io::encode_header({.payload_length = 16, .kind = 2, .task_id = 12345});
  for (auto _ : state) {
    benchmark::DoNotOptimize(bytes);
    benchmark::DoNotOptimize(forkpool::io::decode_header(bytes));
  }
}
BENCHMARK(BM_FrameHeaderDecode);

void BM_FrameChecksum(benchmark::State& state) {
  const auto payload = payload_of(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(forkpool::io::frame_checksum(payload));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_FrameChecksum)->Arg(kSmall)->Arg(kPage)->Arg(kLarge);

// What the sender does per frame before writev: checksum the payload, encode the header.
void BM_FrameEncode(benchmark::State& state) {
  const auto payload = payload_of(state.range(0));
  for (auto _ : state) {
    const forkpool::io::FrameHeader header{
        .payload_length = static_cast<std::uint32_t>(payload.size()),
        .kind = 4,
        .checksum = forkpool::io::frame_checksum(payload),
        .task_id = 7};
    benchmark::DoNotOptimize(forkpool::io::encode_header(header));
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_FrameEncode)->Arg(kSmall)->Arg(kPage)->Arg(kLarge);

// What the reader does per frame once the bytes are in: decode the header, verify the payload.
void BM_FrameVerify(benchmark::State& state) {
  const auto payload = payload_of(state.range(0));
  const auto bytes =
      forkpool::io::encode_header({.payload_length = static_cast<std::uint32_t>(payload.size()),
                                   .kind = 4,
                                   .checksum = forkpool::io::frame_checksum(payload),
                                   .task_id = 7});
  for (auto _ : state) {
    const forkpool::io::FrameHeader header = forkpool::io::decode_header(bytes);
    if (header.checksum != forkpool::io::frame_checksum(payload)) {
      state.SkipWithError("checksum mismatch");
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_FrameVerify)->Arg(kSmall)->Arg(kPage)->Arg(kLarge);

// ---------------------------------------------------------------------------------------------
// Payloads: a small call through the archive helpers, as the parent and the worker run it.

forkpool::detail::Payload encoded_tag_call() {
  forkpool::detail::Payload args;
  forkpool::detail::encode_values(args, 42, std::string("item-"));
  return forkpool::serialization::encode_task(tag_task.id(), args);
}

// Parent side of submit: arguments into an archive, then the Task payload.
void BM_TaskCallEncode(benchmark::State& state) {
  const std::string label = "item-";
  for (auto _ : state) {
    forkpool::detail::Payload args;
    forkpool::detail::encode_values(args, 42, label);
    benchmark::DoNotOptimize(forkpool::serialization::encode_task(tag_task.id(), args));
  }
}
BENCHMARK(BM_TaskCallEncode);

// Worker side: decode the Task payload, find the function, decode its arguments, call it and
// encode its result, as the worker loop does between read_frame and write_frame.
void BM_TaskCallDecodeRun(benchmark::State& state) {
  const forkpool::detail::Payload call_payload = encoded_tag_call();
  const auto& registry = forkpool::detail::TaskRegistry::instance();
  for (auto _ : state) {
    const forkpool::serialization::TaskCall call =
        forkpool::serialization::decode_task(call_payload);
    const forkpool::detail::TaskEntry* entry = registry.find(call.function);
    forkpool::detail::Payload result;
    entry->invoke(entry->function, call.args, result);
    benchmark::DoNotOptimize(result.data());
  }
}
BENCHMARK(BM_TaskCallDecodeRun);

// Parent side of get(): the result payload decoded through the bounded archive.
void BM_ResultDecode(benchmark::State& state) {
  forkpool::detail::Payload encoded;
  forkpool::detail::encode_values(encoded, std::string("item-42"));
  for (auto _ : state) {
    std::string value;
    forkpool::detail::decode_with(encoded, "result",
                                  [&](forkpool::detail::BoundedIArchive& in) { in >> value; });
    benchmark::DoNotOptimize(value.data());
  }
}
BENCHMARK(BM_ResultDecode);

// ---------------------------------------------------------------------------------------------
// BlockingReader over a real pipe. A writer thread sends frames of one size until the reader
// closes its end (its next write fails with PeerGone); the loop reads one frame per iteration,
// so the figures include the pipe, the reader's buffering and checksum verification.

void write_until_reader_gone(const forkpool::io::Fd& fd, std::size_t bytes) {
  forkpool::io::FrameWriter writer(fd);
  const auto payload = payload_of(static_cast<std::int64_t>(bytes));
  try {
    for (std::uint64_t id = 1;; ++id) writer.write_frame(4, 0, id, payload);
  } catch (const forkpool::PeerGone&) {
    // The reader is done: the expected end.
  }
}

void BM_BlockingReader(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  forkpool::io::Pipe pipe = forkpool::io::Pipe::create();
  std::thread writer([&] { write_until_reader_gone(pipe.write, bytes); });
  try {
    forkpool::io::BlockingReader reader(pipe.read);
    for (auto _ : state) {
      std::optional<forkpool::io::Frame> frame = reader.read_frame();
      if (!frame || frame->payload.size() != bytes) {
        state.SkipWithError("short stream");
        break;
      }
    }
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());  // and still stop the writer: a joinable thread must not die
  }
  pipe.read.reset();  // the writer's next write fails: it returns
  writer.join();
  const auto frames = static_cast<double>(state.iterations());
  state.SetBytesProcessed(state.iterations() *
                          static_cast<std::int64_t>(bytes + forkpool::io::kFrameHeaderSize));
  state.counters["frames/s"] = benchmark::Counter(frames, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_BlockingReader)->Arg(kSmall)->Arg(kPage)->Arg(64 << 10)->Arg(kLarge)->UseRealTime();

// ---------------------------------------------------------------------------------------------
// A running Pool. Real time, not CPU time: the work happens in other processes and threads.

// One no-op submit + get at a time, on one worker: the latency of the whole path.
void BM_PoolRoundTrip(benchmark::State& state) {
  forkpool::Pool pool({.workers = 1});
  pool.submit(noop_task, 0).get();  // the worker is up
  for (auto _ : state) {
    if (pool.submit(noop_task, 7).get() != 7) state.SkipWithError("wrong value");
  }
  pool.close();
}
BENCHMARK(BM_PoolRoundTrip)->UseRealTime();

// N single submits, then N gets: one frame per task each way.
void BM_PoolSubmits(benchmark::State& state) {
  const auto count = static_cast<int>(state.range(0));
  forkpool::Pool pool({.workers = 2});
  pool.submit(noop_task, 0).get();
  std::vector<forkpool::Future<int>> futures;
  futures.reserve(static_cast<std::size_t>(count));
  for (auto _ : state) {
    futures.clear();
    for (int i = 0; i < count; ++i) futures.push_back(pool.submit(noop_task, i));
    for (auto& f : futures) benchmark::DoNotOptimize(f.get());
  }
  pool.close();
  state.SetItemsProcessed(state.iterations() * count);
}
BENCHMARK(BM_PoolSubmits)->Arg(10'000)->UseRealTime()->Unit(benchmark::kMillisecond);

// The same N calls as BM_PoolSubmits, sent in batches of `range(1)` calls (Pool::batch()), all
// batches sent before the first get: its items/s reads directly against BM_PoolSubmits.
void BM_PoolBatch(benchmark::State& state) {
  const auto count = static_cast<int>(state.range(0));
  const auto per_batch = static_cast<int>(state.range(1));
  forkpool::Pool pool({.workers = 2});
  pool.submit(noop_task, 0).get();
  std::vector<forkpool::Future<int>> futures;
  futures.reserve(static_cast<std::size_t>(count));
  for (auto _ : state) {
    futures.clear();
    for (int i = 0; i < count;) {
      forkpool::Batch batch = pool.batch();
      for (int j = 0; j < per_batch && i < count; ++j, ++i) {
        futures.push_back(batch.submit(noop_task, i));
      }
      batch.send();
    }
    for (auto& f : futures) benchmark::DoNotOptimize(f.get());
  }
  pool.close();
  state.SetItemsProcessed(state.iterations() * count);
}
BENCHMARK(BM_PoolBatch)
    ->Args({10'000, 16})
    ->Args({10'000, 256})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// pool.map over N ints: whatever chunking Pool::map does, this is the figure it moves.
void BM_PoolMap(benchmark::State& state) {
  const auto count = static_cast<int>(state.range(0));
  forkpool::Pool pool({.workers = 2});
  pool.submit(noop_task, 0).get();
  for (auto _ : state) {
    std::int64_t sum = 0;
    for (int value : pool.map(noop_task, std::views::iota(0, count))) sum += value;
    if (sum != std::int64_t{count} * (count - 1) / 2) state.SkipWithError("wrong sum");
  }
  pool.close();
  state.SetItemsProcessed(state.iterations() * count);
}
BENCHMARK(BM_PoolMap)->Arg(10'000)->UseRealTime()->Unit(benchmark::kMillisecond);

// BM_PoolSubmits, read back through as_completed (a watcher on every future) instead of get()
// in order: the cost of waiting on many futures at once.
void BM_PoolSubmitsAsCompleted(benchmark::State& state) {
  const auto count = static_cast<int>(state.range(0));
  forkpool::Pool pool({.workers = 2});
  pool.submit(noop_task, 0).get();
  std::vector<forkpool::Future<int>> futures;
  futures.reserve(static_cast<std::size_t>(count));
  for (auto _ : state) {
    futures.clear();
    for (int i = 0; i < count; ++i) futures.push_back(pool.submit(noop_task, i));
    for (auto& f : forkpool::as_completed(futures)) benchmark::DoNotOptimize(f.get());
  }
  pool.close();
  state.SetItemsProcessed(state.iterations() * count);
}
BENCHMARK(BM_PoolSubmitsAsCompleted)->Arg(10'000)->UseRealTime()->Unit(benchmark::kMillisecond);

// BM_PoolMap with a progress observer: its items/s reads directly against BM_PoolMap.
void BM_PoolMapProgress(benchmark::State& state) {
  const auto count = static_cast<int>(state.range(0));
  forkpool::Pool pool({.workers = 2});
  pool.submit(noop_task, 0).get();
  for (auto _ : state) {
    std::int64_t sum = 0;
    std::size_t reported = 0;
    auto results = pool.map(noop_task, std::views::iota(0, count));
    results.on_progress([&](const forkpool::MapProgress& p) { reported = p.completed; });
    for (int value : results) sum += value;
    if (sum != std::int64_t{count} * (count - 1) / 2 || reported != std::size_t(count)) {
      state.SkipWithError("wrong sum or progress");
    }
  }
  pool.close();
  state.SetItemsProcessed(state.iterations() * count);
}
BENCHMARK(BM_PoolMapProgress)->Arg(10'000)->UseRealTime()->Unit(benchmark::kMillisecond);

// Every pool closed: this process has no child left, not even a zombie. WNOWAIT looks without
// reaping.
bool has_children() {
  siginfo_t info{};
  return !(::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == -1 && errno == ECHILD);
}

}  // namespace
}  // namespace forkpool_bench

// Not BENCHMARK_MAIN(): workers of the spawn start method run this program again, and must be
// diverted into the worker loop before Google Benchmark parses the command line.
int main(int argc, char** argv) {
  if (auto code = forkpool::worker_main_if_requested(argc, argv)) return *code;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  // Workers that exit at close() are not news in a benchmark's output.
  forkpool::task_logger().set_level(spdlog::level::err);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (forkpool_bench::has_children()) {
    std::fputs("micro_bench: LEAK: a child process was still there at the end\n", stderr);
    return 1;
  }
  return 0;
}
