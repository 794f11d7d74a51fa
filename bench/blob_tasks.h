// The 64 MiB result tasks that core_bench's bandwidth rows, frame_split and remote_bench time: one
// built in fresh memory, one sent from memory the worker already holds.
#pragma once

#include <boost/serialization/split_member.hpp>
#include <boost/serialization/vector.hpp>
#include <cstdint>
#include <vector>

#include "forkpool/forkpool.h"

namespace forkpool_bench {

// A result built in fresh memory, as most tasks build theirs.
inline std::vector<char> blob(std::uint64_t bytes) { return std::vector<char>(bytes, 'x'); }
FORKPOOL_TASK(blob_task, blob);

// A result whose bytes the worker already holds in warm memory, as the raw writer's reused
// buffer: the row that uses it measures what forkpool adds to moving 64 MiB (encode, frame,
// pipe, decode into a new vector), not the task faulting in 64 MiB of fresh pages, which on
// some virtual machines costs more than the transfer itself.
struct WarmBlob {
  std::uint64_t size = 0;   // worker side: how many bytes to send
  std::vector<char> bytes;  // parent side: what arrived

  template <typename Archive>
  void save(Archive& archive, unsigned int /*version*/) const {
    static std::vector<char> warm;  // one per worker process, built by the first call
    if (warm.size() != size) warm.assign(size, 'x');
    archive << warm;
  }
  template <typename Archive>
  void load(Archive& archive, unsigned int /*version*/) {
    archive >> bytes;
  }
  BOOST_SERIALIZATION_SPLIT_MEMBER()
};

inline WarmBlob warm_blob(std::uint64_t bytes) { return WarmBlob{.size = bytes, .bytes = {}}; }
FORKPOOL_TASK(warm_blob_task, warm_blob);

}  // namespace forkpool_bench
