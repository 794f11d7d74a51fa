#include "cli/command_sources.h"

#include <algorithm>
#include <optional>

namespace forkpool::cli {
namespace {

// ::: and :::: (or --arg-sep, --arg-file-sep), each also with a '+'.
struct Separators {
  std::string values, files;
  bool is_files(std::string_view w) const { return w == files || w == files + "+"; }
  bool is_values(std::string_view w) const { return w == values || w == values + "+"; }
  bool is_separator(std::string_view w) const { return is_values(w) || is_files(w); }
};

// One group of values (after ::: or :::+) or files (after :::: or ::::+): a source per file.
void add_group(const Separators& seps, const std::string& separator, std::vector<std::string> group,
               std::vector<InputSource>& sources, std::vector<bool>& link_flags) {
  const bool linked = separator == seps.values + "+" || separator == seps.files + "+";
  if (seps.is_files(separator)) {
    for (std::string& file : group) {
      InputSource s;
      s.kind = InputSource::Kind::kFile;
      s.path = std::move(file);
      sources.push_back(std::move(s));
      link_flags.push_back(linked);
    }
    return;
  }
  InputSource s;
  s.kind = InputSource::Kind::kValues;
  s.values = std::move(group);
  sources.push_back(std::move(s));
  link_flags.push_back(linked);
}

}  // namespace

void split_command_and_sources(std::span<const std::string> words, RunOptions& o,
                               const std::vector<std::string>& arg_files) {
  std::vector<InputSource> sources;
  std::vector<bool> link_flags;
  for (const std::string& file : arg_files) {
    InputSource s;
    s.kind = InputSource::Kind::kFile;
    s.path = file;
    sources.push_back(std::move(s));
  }
  const Separators seps{o.arg_sep, o.arg_file_sep};
  bool any_separator = std::any_of(words.begin(), words.end(),
                                   [&](const std::string& w) { return seps.is_separator(w); });
  if (!any_separator) {
    o.command.assign(words.begin(), words.end());
  } else {
    std::size_t next = 0;
    std::string arg = words[next++];
    while (next < words.size()) {
      if (!seps.is_separator(arg)) {
        o.command.push_back(arg);
        arg = words[next++];
        continue;
      }
      // One group of values or files, up to the next separator.
      std::string separator = arg;
      std::vector<std::string> group;
      std::optional<std::string> following;
      while (next < words.size()) {
        const std::string& w = words[next++];
        if (seps.is_separator(w)) {
          following = w;
          break;
        }
        group.push_back(w);
      }
      add_group(seps, separator, std::move(group), sources, link_flags);
      if (!following) break;
      arg = *following;
      // GNU parallel `redo`es here without re-testing the loop condition, so a separator
      // that ends the words still opens an (empty) source.
      if (next == words.size()) {
        InputSource s;
        if (seps.is_values(arg)) {
          sources.push_back(InputSource{});
          link_flags.push_back(arg == seps.values + "+");
        }
        break;
      }
    }
  }
  for (std::size_t i = 0; i < sources.size(); ++i) {
    sources[i].linked = i > 0 && ((i < link_flags.size() && link_flags[i]) || o.link);
  }
  o.sources = std::move(sources);
}

}  // namespace forkpool::cli
