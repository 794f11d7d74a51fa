// Every way forkpool decodes a payload, for the fuzz targets: the message decoder of each frame
// kind, as the pool and the worker call it, and the bounded archive into argument and result
// types of the kinds users pass.
//
// The contract under test: a payload either decodes or throws forkpool::ProtocolError, and
// decoding holds heap in proportion to the payload (see heap_budget.h). Every decoder here
// swallows ProtocolError and lets anything else escape to the fuzzer as a finding
// (std::bad_alloc, std::length_error, any other exception), besides what the sanitizers catch.
#pragma once

#include <cstdint>
#include <span>

namespace forkpool::fuzz {

// One way of decoding a payload; `name` says which in a finding's report.
struct Decoder {
  const char* name;
  void (*decode)(std::span<const char> payload, const char* name);
};

// Every message decoder (Hello, Task, Error, Log, an empty kind) and every value decoder, in a
// fixed order: decode_fuzz picks one by the first byte of its input.
std::span<const Decoder> all_decoders();
// The value decoders alone: all_decoders() less its message decoders.
std::span<const Decoder> value_decoders();

// Runs the decoder for a frame of `kind` (decode_hello, decode_task, ..., expect_empty); a Task's
// arguments then go through decode_as_values(). An unknown kind decodes nothing.
void decode_as_message(std::uint8_t kind, std::span<const char> payload);

// Decodes `payload` with the bounded archive into each of the common value types in turn.
void decode_as_values(std::span<const char> payload);

// Runs value_decoders()[choice % value_decoders().size()] on `payload`.
void decode_as_value(std::uint64_t choice, std::span<const char> payload);

}  // namespace forkpool::fuzz
