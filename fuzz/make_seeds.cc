// Writes the seed corpora of frame_fuzz and decode_fuzz: valid frames and payloads of every
// message kind and of the value types payload_decoders.cc decodes, so that the fuzzers start
// from inputs that get past the magic, the checksum and the first length.
//
// A decode_fuzz seed starts with the index of its decoder in all_decoders(): regenerate the seeds
// when that list changes.
//
// Usage: make_seeds FRAME_DIR DECODE_DIR  (the committed seeds are fuzz/corpus/frame_fuzz/ and
// fuzz/corpus/decode_fuzz/; regenerate them after a payload layout changes).
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "forkpool/detail/archive.h"
#include "fuzz/payload_decoders.h"
#include "fuzz/sample_types.h"
#include "io/frame_format.h"
#include "serialization/messages.h"

namespace forkpool::fuzz {
namespace {

using detail::Payload;
using serialization::Kind;

struct FrameSpec {
  Kind kind;
  std::uint64_t task_id;
  Payload payload;
};

Payload frame(const FrameSpec& spec) {
  io::FrameHeader header;
  header.payload_length = static_cast<std::uint32_t>(spec.payload.size());
  header.kind = static_cast<std::uint8_t>(spec.kind);
  header.checksum = io::frame_checksum(spec.payload);
  header.task_id = spec.task_id;
  const io::HeaderBytes bytes = io::encode_header(header);
  Payload out(bytes.begin(), bytes.end());
  out.insert(out.end(), spec.payload.begin(), spec.payload.end());
  return out;
}

Payload frames(const std::vector<FrameSpec>& specs) {
  Payload out;
  for (const FrameSpec& spec : specs) {
    const Payload one = frame(spec);
    out.insert(out.end(), one.begin(), one.end());
  }
  return out;
}

template <typename... T>
Payload values(const T&... v) {
  Payload out;
  detail::encode_values(out, v...);
  return out;
}

void write(const std::string& path, const Payload& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::size_t index_of(std::span<const Decoder> decoders, const std::string& name) {
  for (std::size_t i = 0; i < decoders.size(); ++i) {
    if (decoders[i].name == name) return i;
  }
  throw std::runtime_error("no decoder named " + name);
}

// A decode_fuzz input: the index of the decoder called `name`, then the payload.
Payload for_decoder(const std::string& name, const Payload& payload) {
  Payload out{static_cast<char>(index_of(all_decoders(), name))};
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// The task id of a Result frame whose payload frame_fuzz should decode as `name`.
std::uint64_t result_of(const std::string& name) { return index_of(value_decoders(), name); }

Tree sample_tree() {
  Tree leaf{.label = "leaf", .children = {}};
  Tree middle{.label = "middle", .children = {leaf, leaf}};
  return Tree{.label = "root", .children = {middle, leaf}};
}

// The payloads both kinds of seed are made of.
struct Samples {
  Samples();
  Payload hello;
  Payload error;
  Payload error_no_such_task;
  Payload error_too_large;
  Payload log;
  Payload task;
  Payload run;  // two calls of one function (serialization::kTaskRun)
  Payload result;
  Payload empty;
};

Samples::Samples() {
  namespace s = forkpool::serialization;
  hello = s::encode(s::Hello{.pid = 4242,
                             .worker_id = 3,
                             .build_id = "forkpool protocol 1 seed",
                             .registry_hash = 0x1234567890abcdefull,
                             .max_frame = 1 << 20});
  error = s::encode(s::TaskThrew{.type_name = "std::runtime_error", .message = "boom"});
  error_no_such_task =
      s::encode(s::NoSuchTask{.function = 0x0123456789abcdefull, .as_chunk = true});
  error_too_large = s::encode(s::ResultTooLarge{.size = 1 << 21, .max = 1 << 20});
  log = s::encode(s::LogLine{.level = 2, .text = "worker 3 started"});
  task = s::encode_task(0x0123456789abcdefull, values(7, std::string("seven")));
  s::begin_run(run, 0x0123456789abcdefull);
  s::append_run_call(run, values(std::string("seven")));
  s::append_run_call(run, values(std::string("eight")));
  result = values(std::vector<std::string>{"a", "bb", ""});
}

// Whole frames for frame_fuzz, one kind each, and a stream of several.
void write_frame_seeds(const std::string& frame_dir, const Samples& p) {
  write(frame_dir + "/hello", frame({Kind::kHello, 0, p.hello}));
  write(frame_dir + "/task", frame({Kind::kTask, 17, p.task}));
  write(frame_dir + "/log", frame({Kind::kLog, 0, p.log}));
  write(frame_dir + "/error", frame({Kind::kError, 18, p.error}));
  write(frame_dir + "/error_no_such_task", frame({Kind::kError, 19, p.error_no_such_task}));
  write(frame_dir + "/error_too_large", frame({Kind::kError, 20, p.error_too_large}));
  const std::uint64_t strings_id = result_of("vector<string>");
  write(frame_dir + "/result", frame({Kind::kResult, strings_id, p.result}));
  write(frame_dir + "/result_tree",
        frame({Kind::kResult, result_of("Tree (a recursive type)"), values(sample_tree())}));
  // Above 32 KiB, so that the reader reads the payload straight into the frame's buffer.
  write(frame_dir + "/result_large", frame({Kind::kResult, result_of("vector<int64_t>"),
                                            values(std::vector<std::int64_t>(5000, -2))}));
  write(frame_dir + "/stream", frames({{Kind::kHello, 0, p.hello},
                                       {Kind::kTask, strings_id, p.task},
                                       {Kind::kLog, 0, p.log},
                                       {Kind::kResult, strings_id, p.result},
                                       {Kind::kCancelAck, strings_id, p.empty},
                                       {Kind::kShutdown, 0, p.empty}}));
}

// Inputs for decode_fuzz: a decoder's name and the payload it is to decode.
void write_decoder_seeds(const std::string& decode_dir, const Samples& p) {
  write(decode_dir + "/hello", for_decoder("Hello", p.hello));
  write(decode_dir + "/error", for_decoder("Error", p.error));
  write(decode_dir + "/error_no_such_task", for_decoder("Error", p.error_no_such_task));
  write(decode_dir + "/error_too_large", for_decoder("Error", p.error_too_large));
  write(decode_dir + "/log", for_decoder("Log", p.log));
  write(decode_dir + "/task", for_decoder("Task", p.task));
  write(decode_dir + "/run", for_decoder("run", p.run));
  write(decode_dir + "/strings", for_decoder("vector<string>", p.result));
  write(
      decode_dir + "/map",
      for_decoder("map<string, int>", values(std::map<std::string, int>{{"one", 1}, {"two", 2}})));
  write(decode_dir + "/int64s",
        for_decoder("vector<int64_t>", values(std::vector<std::int64_t>{-1, 0, 1ll << 40})));
  write(decode_dir + "/unordered_map",
        for_decoder("unordered_map<string, int64_t>",
                    values(std::unordered_map<std::string, std::int64_t>{{"k", 5}})));
  write(decode_dir + "/sequence", for_decoder("int32_t, string, vector<vector<int>>",
                                              values(std::int32_t{-3}, std::string("x"),
                                                     std::vector<std::vector<int>>{{1}, {}})));
  write(decode_dir + "/flags",
        for_decoder("Flags (a bool array)",
                    values(Flags{.bits = {true, false, true, false}, .count = 2})));
  write(decode_dir + "/tree", for_decoder("Tree (a recursive type)", values(sample_tree())));
}

}  // namespace
}  // namespace forkpool::fuzz

int main(int argc, char** argv) {
  using namespace forkpool::fuzz;
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_seeds FRAME_DIR DECODE_DIR\n");
    return 2;
  }
  const Samples samples;
  write_frame_seeds(argv[1], samples);
  write_decoder_seeds(argv[2], samples);
  return 0;
}
