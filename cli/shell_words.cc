#include "cli/shell_words.h"

#include <algorithm>
#include <array>

namespace forkpool::cli {
namespace {

// Characters that mean nothing special to the shell anywhere in an unquoted word. Notably
// absent: whitespace, quotes, backslash, $ ` ; & | < > ( ) * ? [ ] ~ # ! { } and '='
// (checked separately: only a first word with '=' is an assignment).
bool plain(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '/' || c == ',' || c == ':' || c == '+' || c == '@' ||
         c == '%' || c == '^' || c == '=';
}

// dash's and bash's builtins and reserved words.
constexpr std::array<std::string_view, 72> kShellOwn = {
    "bind",     "builtin",   "caller",  "compgen",  "complete", "compopt", "declare", "dirs",
    "disown",   "enable",    "help",    "history",  "let",      "logout",  "mapfile", "popd",
    "pushd",    "readarray", "shopt",   "source",   "suspend",  "typeset", "coproc",  "select",
    "function", "[[",        ".",       ":",        "[",        "alias",   "bg",      "break",
    "cd",       "chdir",     "command", "continue", "echo",     "eval",    "exec",    "exit",
    "export",   "fc",        "fg",      "getopts",  "hash",     "jobs",    "kill",    "local",
    "printf",   "pwd",       "read",    "readonly", "return",   "set",     "shift",   "test",
    "times",    "trap",      "type",    "ulimit",   "umask",    "unalias", "unset",   "wait",
    "!",        "case",      "do",      "done",     "elif",     "else",    "esac",    "fi"};
constexpr std::array<std::string_view, 7> kKeywords = {"for",   "if",    "in",  "then",
                                                       "until", "while", "time"};

bool shell_own(std::string_view word) {
  return std::find(kShellOwn.begin(), kShellOwn.end(), word) != kShellOwn.end() ||
         std::find(kKeywords.begin(), kKeywords.end(), word) != kKeywords.end();
}

}  // namespace

std::optional<std::vector<std::string>> direct_argv(std::string_view command) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < command.size()) {
    if (command[i] == ' ') {
      ++i;
      continue;
    }
    std::string word;
    while (i < command.size() && command[i] != ' ') {
      const char c = command[i];
      if (c == '\'') {
        const std::size_t close = command.find('\'', i + 1);
        if (close == std::string_view::npos) return std::nullopt;
        word.append(command.substr(i + 1, close - i - 1));
        i = close + 1;
      } else if (plain(c)) {
        word += c;
        ++i;
      } else {
        return std::nullopt;
      }
    }
    words.push_back(std::move(word));
  }
  if (words.empty() || words.front().empty()) return std::nullopt;
  const std::string& program = words.front();
  // Checked on the unquoted spelling: quoting would make 'a=b' or 'echo' a program name to
  // the shell, so this only ever sends more commands to the shell than it must.
  if (program.find('=') != std::string::npos || shell_own(program)) return std::nullopt;
  if ((program == "true" || program == "false") && words.size() == 2 &&
      (words[1] == "--help" || words[1] == "--version"))
    return std::nullopt;
  return words;
}

}  // namespace forkpool::cli
