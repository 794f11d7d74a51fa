// The words after `forkpool run`'s options: the command, and the ::: / :::: input sources.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "cli/run_options.h"

namespace forkpool::cli {

// Splits the words after the options into the command and the ::: / :::: sources, the way
// GNU parallel's read_args_from_command_line() does, quirks included:
//  - each file after :::: is a source of its own; after ::::+ each is linked;
//  - a separator that is the very last word, before any other separator, is dropped;
//  - link flags are counted over these sources only, but applied to the list that starts
//    with the -a files, so with -a a later :::+ links one source early (as GNU parallel does).
void split_command_and_sources(std::span<const std::string> words, RunOptions& o,
                               const std::vector<std::string>& arg_files);

}  // namespace forkpool::cli
