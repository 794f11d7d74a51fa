// --header outside --pipe, as GNU parallel 20221122's set_input_source_header(): the first
// record of each input source names its columns (split on --colsep, which --header sets to a
// tab when it is not given), and {name} in the command and --tagstring becomes {N}, the
// column's number counted across the sources; so do {name.} {name/} {name//} {name/.} and
// {= name ... =}. --header 0 reads no header (but still sets the tab).
#pragma once

#include "cli/run_options.h"

namespace forkpool::cli {

// Reads each source's header record and rewrites `options` as above; marks each file source
// whose header a reader must still skip (InputSource::skip_header: a regular file, opened
// again by the job source) and drops the header from ::: values. From stdin or a pipe the
// header is consumed here, byte by byte, so that nothing after it is taken from the job
// source. Does nothing without --header, or with --pipe. Throws UsageError for an input that
// cannot be read, or a bad --colsep.
RunOptions with_input_headers(RunOptions options);

}  // namespace forkpool::cli
