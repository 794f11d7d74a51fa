// --color, --ctag, --ctagstring and --color-failed: the colours GNU parallel 20221122 gives a
// job's output lines, byte for byte.
#pragma once

#include <cstdint>
#include <string>

namespace forkpool::cli {

// The escape sequences around a coloured line: the job's colour (background and foreground,
// then "clear to end of line"), and the one that ends it.
struct LineColor {
  std::string start;  // "" for no colour
  std::string reset;
  bool on() const { return !start.empty(); }
};

// The terminal's "clear to end of line" and "reset attributes" sequences, as GNU parallel asks
// tput for them on /dev/tty; ESC [ K and ESC [ m when there is no terminal (or no tput).
// Asks once; later calls return the same.
const LineColor& terminal_codes();

// Job `seq`'s colour: one of GNU parallel's 307 readable background/foreground pairs, chosen
// by seq, in its order (adjacent seqs get dissimilar colours).
LineColor color_of_job(std::uint64_t seq);

// --color-failed: white on red, for a job whose exit value is not 0.
LineColor failed_color();

}  // namespace forkpool::cli
