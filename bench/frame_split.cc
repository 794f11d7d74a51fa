// frame_split: where the time of one large result goes, step by step, each step timed alone
// with the library's own code, beside the whole round (a task's result through a Pool) and the
// raw pipe it is measured against, in the same run and taking turns.
//
// Usage: frame_split [--mib N] [--repeats N]
//
// Steps, in the order a result travels:
//   worker  build      the task fills a new std::vector<char> (its own work, not forkpool's)
//           encode     the result archived into a Payload: new, or reused across replies
//           checksum   XXH3 over the payload (writer and reader each do it once)
//   pipe    transfer   a forked child writes N MiB from warm memory; read into a reused
//                      buffer, or into a new Payload (first touch of its pages)
//   parent  decode     the Payload decoded into the std::vector<char> get() returns
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "blob_tasks.h"
#include "forkpool/detail/archive.h"
#include "forkpool/forkpool.h"
#include "io/frame_format.h"
#include "raw_peers.h"

namespace {

using Clock = std::chrono::steady_clock;
using forkpool::detail::Payload;
using forkpool_bench::blob;
using forkpool_bench::blob_task;
using forkpool_bench::RawChild;
using forkpool_bench::RawPipe;
using forkpool_bench::warm_blob_task;

double millis(const std::function<void()>& step) {
  const auto start = Clock::now();
  step();
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void full_write(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w <= 0) std::_Exit(1);
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

void full_read(int fd, char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t r = ::read(fd, p, std::min<std::size_t>(n, std::size_t{1} << 20));
    if (r <= 0) throw std::runtime_error("short read from the writer");
    p += r;
    n -= static_cast<std::size_t>(r);
  }
}

// A child that writes `bytes` from warm memory each time it reads a byte on `go`.
struct Writer {
  explicit Writer(std::size_t bytes, bool big_pipe)
      : source(bytes, 'x'), go(RawPipe::create()), data(RawPipe::create()) {
    if (big_pipe) ::fcntl(data.write.get(), F_SETPIPE_SZ, 1 << 20);
    child = RawChild::fork([&] {
      go.write.reset();  // else the child never sees EOF on `go`
      char c;
      while (::read(go.read.get(), &c, 1) == 1) full_write(data.write.get(), source.data(), bytes);
    });
  }
  ~Writer() {
    go.write.reset();
    child.wait();
  }
  void transfer(char* into) {
    full_write(go.write.get(), "g", 1);
    full_read(data.read.get(), into, source.size());
  }
  std::vector<char> source;
  RawPipe go, data;
  RawChild child;
};

}  // namespace

int main(int argc, char** argv) {
  std::size_t mib = 64;
  int repeats = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--mib") == 0) mib = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--repeats") == 0) repeats = std::atoi(argv[i + 1]);
  }
  const std::size_t bytes = mib << 20;
  Writer small_pipe(bytes, false), big_pipe(bytes, true);
  forkpool::Pool pool({.workers = 1, .max_frame = bytes + (std::size_t{1} << 20)});

  std::vector<std::pair<std::string, std::vector<double>>> rows = {
      {"worker: build the result (std::vector<char>(n, 'x'))", {}},
      {"worker: encode into a new Payload", {}},
      {"worker: encode into a reused Payload", {}},
      {"both:   checksum (XXH3, once per side)", {}},
      {"pipe:   64 KiB pipe, reused buffer (the raw peer)", {}},
      {"pipe:   1 MiB pipe, reused buffer", {}},
      {"pipe:   1 MiB pipe, into a new Payload", {}},
      {"parent: decode into a new std::vector<char>", {}},
      {"whole:  pool.submit(warm).get(), result from warm memory", {}},
      {"whole:  pool.submit(blob).get(), result built fresh", {}},
  };
  const std::vector<char> value(bytes, 'x');
  Payload reused;
  std::vector<char> sink(bytes, 0);
  for (int r = 0; r <= repeats; ++r) {
    std::vector<double> t;
    t.push_back(millis([&] { blob(bytes).swap(sink); }));
    Payload encoded;
    t.push_back(millis([&] { forkpool::detail::encode_values(encoded, value); }));
    t.push_back(millis([&] {
      reused.clear();
      forkpool::detail::encode_values(reused, value);
    }));
    volatile std::uint32_t sum = 0;
    t.push_back(millis([&] { sum = forkpool::io::frame_checksum(encoded); }));
    t.push_back(millis([&] { small_pipe.transfer(sink.data()); }));
    t.push_back(millis([&] { big_pipe.transfer(sink.data()); }));
    t.push_back(millis([&] {
      Payload fresh(bytes);
      big_pipe.transfer(fresh.data());
    }));
    t.push_back(millis([&] {
      std::vector<char> out;
      forkpool::detail::decode_values(encoded, "result", out);
    }));
    t.push_back(millis([&] { pool.submit(warm_blob_task, std::uint64_t{bytes}).get(); }));
    t.push_back(millis([&] { pool.submit(blob_task, std::uint64_t{bytes}).get(); }));
    if (r == 0) continue;  // warm-up
    for (std::size_t i = 0; i < t.size(); ++i) rows[i].second.push_back(t[i]);
  }
  std::printf("%zu MiB, median of %d (ms)\n", mib, repeats);
  for (auto& [name, v] : rows) std::printf("%-58s %8.1f\n", name.c_str(), median(v));
  return 0;
}
