// libFuzzer target: the decoders on their own, as if every payload had arrived in a frame with a
// valid checksum. The first input byte picks one decoder of all_decoders() (a message kind's, or
// the bounded archive's for one value type); the rest is the payload. Anything but
// ProtocolError escaping, too much heap, or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz/payload_decoders.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::span<const forkpool::fuzz::Decoder> decoders = forkpool::fuzz::all_decoders();
  const forkpool::fuzz::Decoder& decoder = decoders[data[0] % decoders.size()];
  decoder.decode({reinterpret_cast<const char*>(data + 1), size - 1}, decoder.name);
  return 0;
}
