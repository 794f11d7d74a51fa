// Pipe: a close-on-exec pipe(2) pair.
#pragma once

#include "io/fd.h"

namespace forkpool::io {

struct Pipe {
  Fd read;
  Fd write;

  // Both ends close-on-exec and blocking. Throws std::system_error.
  static Pipe create();
};

}  // namespace forkpool::io
