// PipeFeed: one job's side of `forkpool run --pipe` -- the named pipe that is the job's stdin
// (or its {} with --fifo), and the blocks still to be written into it. Written without ever
// blocking, so that a slow job holds back nobody but itself.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "cli/pipe_input.h"
#include "io/fd.h"

namespace forkpool::cli {

class PipeFeed {
 public:
  // Makes the named pipe `path` and opens both of its ends, without blocking: the write end to
  // feed it, and a read end kept so that what is written stays in the pipe until the job has
  // opened it (a named pipe drops its contents once nobody has it open). Throws
  // std::system_error. With `large_pipe`, the pipe takes 1 MiB instead of 64 KiB where the
  // system allows it.
  PipeFeed(std::string path, bool large_pipe);
  ~PipeFeed();  // closes both ends and removes the name
  PipeFeed(const PipeFeed&) = delete;
  PipeFeed& operator=(const PipeFeed&) = delete;

  const std::string& path() const { return path_; }
  // The write end while there is something to write or the pipe is still open, else -1.
  int fd() const { return writer_.get(); }

  // Queues `block`; with `with_header`, its header goes before it.
  void push(std::shared_ptr<const PipeBlock> block, bool with_header);
  // True while queued bytes are not yet in the pipe.
  bool pending() const { return !queue_.empty(); }
  // Writes what the pipe takes now (write(2) from memory, splice(2) from a --pipepart file).
  // Returns false if the pipe cannot take anything more (then wait for POLLOUT).
  // Throws std::system_error on a write error other than a full pipe.
  bool write_some();
  // No more blocks will come: the job sees end of file once the queue is written.
  void close_when_written() { closing_ = true; }
  // With --fifo the job opens the pipe itself, maybe only after everything was written; the
  // write end then stays open until the job has read it all (drained()).
  void hold_until_drained() { hold_ = true; }
  // The queue is written and (hold_until_drained) the job has read every byte: closes the
  // write end if close_when_written() was called. Returns true if it did now.
  bool close_if_done();
  // Gives up on this pipe after an error: nothing more is written, the job sees end of file.
  void abandon() {
    queue_.clear();
    writer_.reset();
  }
  bool waiting_for_drain() const { return writer_ && closing_ && queue_.empty() && hold_; }
  std::uint64_t bytes_written() const { return written_; }

 private:
  struct Item {
    std::shared_ptr<const PipeBlock> block;
    bool header = false;
    std::size_t offset = 0;  // into header + body
  };

  std::string path_;
  io::Fd keeper_, writer_;
  std::deque<Item> queue_;
  bool closing_ = false;
  bool hold_ = false;
  std::uint64_t written_ = 0;
};

}  // namespace forkpool::cli
