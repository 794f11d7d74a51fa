// Picking a worker count: time the same batch with 1, 2, 4, ... workers, several times each,
// and use the smallest count whose throughput is within 5% of the best. The batch here hashes
// blocks of pseudo-random bytes; put your own task in its place.
//
//   pick_workers [--blocks N] [--runs N] [--workers 1,2,4]
#include <forkpool/forkpool.h>
#include <forkpool/sweep.h>  // not in forkpool.h: links forkpool::sweep

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

namespace {

// FNV-1a over 4 MiB of xorshift bytes seeded by `block`: a few milliseconds of CPU.
std::uint64_t hash_block(std::uint64_t block) {
  std::uint64_t state = block * 0x9E3779B97F4A7C15ull + 1, hash = 0xcbf29ce484222325ull;
  for (int i = 0; i < 4 * 1024 * 1024; ++i) {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    hash = (hash ^ (state & 0xff)) * 0x100000001b3ull;
  }
  return hash;
}
FORKPOOL_TASK(hash_block_task, hash_block);

// "1,2,4" -> {1, 2, 4}; throws std::invalid_argument for a word that is not a number.
std::vector<unsigned> parse_counts(const std::string& text) {
  std::vector<unsigned> counts;
  std::istringstream items(text);
  for (std::string item; std::getline(items, item, ',');) {
    counts.push_back(static_cast<unsigned>(std::stoul(item)));
  }
  return counts;
}

}  // namespace

int main(int argc, char** argv) {
  if (auto code = forkpool::worker_main_if_requested(argc, argv)) return *code;
  try {
    std::uint64_t blocks = 64;
    forkpool::SweepOptions options{.runs = 3};  // no .workers: 1, 2, 4, ... up to the CPUs
    for (int i = 1; i + 1 < argc; i += 2) {
      if (std::strcmp(argv[i], "--blocks") == 0) blocks = std::stoull(argv[i + 1]);
      if (std::strcmp(argv[i], "--runs") == 0)
        options.runs = static_cast<unsigned>(std::stoul(argv[i + 1]));
      if (std::strcmp(argv[i], "--workers") == 0) options.workers = parse_counts(argv[i + 1]);
    }
    options.on_progress = [](const forkpool::SweepProgress& p) {
      std::fprintf(stderr, "measuring %u workers, run %u of %u\n", p.workers, p.run, p.runs);
    };
    std::vector<std::uint64_t> inputs;
    for (std::uint64_t b = 0; b < blocks; ++b) inputs.push_back(b);
    const forkpool::SweepReport report = forkpool::sweep_workers(hash_block_task, inputs, options);
    std::fputs(report.table().c_str(), stdout);
    std::printf("recommended: %u workers\n", *report.recommended_workers);
    return 0;
  } catch (const std::exception& e) {  // a bad option or count, a failed task
    std::fprintf(stderr, "pick_workers: %s\n", e.what());
    return 1;
  }
}
