// User types of the shapes the bounded archive has special cases for, decoded by the fuzz
// targets and encoded by the seed generator.
#pragma once

#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <string>
#include <vector>

namespace forkpool::fuzz {

// A recursive type: decoding recurses once per level, which BoundedIArchive caps.
struct Tree {
  std::string label;
  std::vector<Tree> children;

  template <typename Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& label& children;
  }
};

// A bool array arrives as raw bytes through load_array, not load(bool&).
struct Flags {
  bool bits[4] = {};
  int count = 0;

  template <typename Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& bits& count;
  }
};

}  // namespace forkpool::fuzz
