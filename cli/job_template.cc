// Replacement strings, quoting and the command template, after GNU parallel 20221122's
// CommandLine::replace_placeholders(), Arg::replace() and shell_quote_scalar_default().
#include <regex.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

#include "cli/job_internal.h"
#include "cli/job_source.h"

namespace forkpool::cli {
namespace internal {
namespace {

bool is_quote_safe(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '+' || c == '/';
}

// Perl's \s (without Unicode rules): space, \t, \n, \v, \f, \r.
bool is_perl_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// File::Basename's _strip_trailing_sep(): s{(.)/*\z}{$1}s.
void strip_trailing_slashes(std::string& dir) {
  std::size_t end = dir.size();
  while (end > 1 && dir[end - 1] == '/') --end;
  dir.resize(end);
}

// File::Basename's fileparse() on Unix: m{^(.*/)?(.*)}s, with "./" for no directory.
std::pair<std::string, std::string> fileparse(const std::string& path) {
  std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {"./", path};
  return {path.substr(0, slash + 1), path.substr(slash + 1)};
}

std::string perl_dirname(const std::string& path) {
  auto [dir, base] = fileparse(path);
  strip_trailing_slashes(dir);
  if (base.empty()) {
    std::tie(dir, base) = fileparse(dir);
    strip_trailing_slashes(dir);
  }
  return dir;
}

// s:.*/:: without /s: '.' stops at newlines, so the match lies in the first line that has a
// slash, and runs from that line's start to its last slash.
std::string strip_to_basename(const std::string& value) {
  std::size_t line_start = 0;
  while (line_start <= value.size()) {
    std::size_t line_end = value.find('\n', line_start);
    if (line_end == std::string::npos) line_end = value.size();
    std::size_t slash = value.rfind('/', line_end == 0 ? 0 : line_end - 1);
    if (slash != std::string::npos && slash >= line_start && slash < line_end) {
      return value.substr(0, line_start) + value.substr(slash + 1);
    }
    line_start = line_end + 1;
  }
  return value;
}

// s:\.[^/.]*$:: — the last dot, unless a slash follows it.
std::string strip_extension(const std::string& value) {
  std::size_t dot = value.rfind('.');
  if (dot == std::string::npos || value.find('/', dot) != std::string::npos) return value;
  return value.substr(0, dot);
}

struct RplName {
  std::string_view text;  // without the leading '{'
  Transform transform;
};

// Longest first, as GNU parallel substitutes them.
constexpr std::array<RplName, 7> kPlain = {{{"//}", Transform::kDir},
                                            {"/.}", Transform::kBaseDot},
                                            {"#}", Transform::kSeq},
                                            {"%}", Transform::kSlot},
                                            {"/}", Transform::kBase},
                                            {".}", Transform::kDot},
                                            {"}", Transform::kNone}}};
// {N...}: the suffixes a position may take ({N#} and {N%} are not replacement strings).
constexpr std::array<RplName, 5> kPositional = {{{"//}", Transform::kDir},
                                                 {"/.}", Transform::kBaseDot},
                                                 {"/}", Transform::kBase},
                                                 {".}", Transform::kDot},
                                                 {"}", Transform::kNone}}};

// Matches a replacement string at word[at] == '{'; returns its length, or 0.
std::size_t match_replacement(std::string_view word, std::size_t at, Replacement& out) {
  std::string_view rest = word.substr(at + 1);
  for (const RplName& r : kPlain) {
    if (rest.substr(0, r.text.size()) == r.text) {
      out = Replacement{r.transform, ""};
      return 1 + r.text.size();
    }
  }
  std::size_t i = 0;
  if (i < rest.size() && rest[i] == '-') ++i;
  std::size_t digits_start = i;
  while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') ++i;
  if (i == digits_start) return 0;
  std::string position(rest.substr(0, i));
  while (i < rest.size() && is_perl_space(rest[i])) ++i;
  for (const RplName& r : kPositional) {
    if (rest.substr(i, r.text.size()) == r.text) {
      out = Replacement{r.transform, position};
      return 1 + i + r.text.size();
    }
  }
  return 0;
}

// {= perl =} is GNU parallel's escape hatch into Perl; forkpool has no Perl to run it.
void refuse_perl_expressions(const std::vector<std::string>& words) {
  auto refuse = [](const std::string& expression) {
    throw UsageError("perl expressions are not supported: '" + expression + "'");
  };
  for (std::size_t w = 0; w < words.size(); ++w) {
    std::size_t open = words[w].find("{=");
    if (open == std::string::npos) continue;
    std::size_t close = words[w].find("=}", open + 2);
    if (close != std::string::npos) refuse(words[w].substr(open, close + 2 - open));
    // Like GNU parallel's merge_rpl_parts(), the closing =} may be in a later word.
    std::string expression = words[w].substr(open);
    for (std::size_t later = w + 1; later < words.size(); ++later) {
      close = words[later].find("=}");
      if (close != std::string::npos) refuse(expression + " " + words[later].substr(0, close + 2));
      expression += " " + words[later];
    }
  }
}

// A parsed position: the index into the job's flat argument list (Perl semantics for
// negative indexes), or nullopt when out of range.
std::optional<std::size_t> flat_index(const std::string& position, std::size_t n) {
  long long p = 0;
  const char* begin = position.data();
  const char* end = begin + position.size();
  if (*begin == '-') ++begin;
  auto [ptr, ec] = std::from_chars(begin, end, p);
  if (ec != std::errc() || ptr != end) return std::nullopt;  // absurdly large
  if (position[0] == '-') p = -p;
  long long i = p > 0 ? p - 1 : static_cast<long long>(n) + p;
  if (i < 0) i += static_cast<long long>(n);  // $array[-k] counts from the end
  if (i < 0 || i >= static_cast<long long>(n)) return std::nullopt;
  return static_cast<std::size_t>(i);
}

}  // namespace

std::string shell_quote(std::string_view value) {
  if (value.empty()) return "''";
  if (std::all_of(value.begin(), value.end(), [](char c) { return is_quote_safe(c); })) {
    return std::string(value);
  }
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') {
      out += "'\"'\"'";
    } else {
      out += c;
    }
  }
  out += '\'';
  if (out.compare(0, 2, "''") == 0) out.erase(0, 2);
  if (out.size() >= 2 && out.compare(out.size() - 2, 2, "''") == 0) out.resize(out.size() - 2);
  return out;
}

std::string trim_space(std::string_view value) {
  std::size_t begin = 0;
  std::size_t end = value.size();
  while (begin < end && is_perl_space(value[begin])) ++begin;
  while (end > begin && is_perl_space(value[end - 1])) --end;
  return std::string(value.substr(begin, end - begin));
}

std::string apply_transform(std::string value, Transform transform) {
  switch (transform) {
    case Transform::kDot:
      return strip_extension(value);
    case Transform::kBase:
      return strip_to_basename(value);
    case Transform::kDir:
      return perl_dirname(value);
    case Transform::kBaseDot:
      return strip_extension(strip_to_basename(value));
    default:
      return value;
  }
}

bool Replacement::positional() const { return !position.empty() && position != "0"; }

namespace {

bool is_equal(const Replacement& a, const Replacement& b) {
  return a.transform == b.transform && a.position == b.position;
}

// {#} and {%} are positional in GNU parallel ("1 $_=$job->seq()"): rendered once, not per
// argument.
bool renders_once(const Replacement& r) {
  return r.positional() || r.transform == Transform::kSeq || r.transform == Transform::kSlot;
}

}  // namespace

CompiledTemplate::CompiledTemplate(const std::vector<std::string>& words, bool append_if_none) {
  refuse_perl_expressions(words);
  std::vector<std::vector<Token>> per_word;
  for (const std::string& word : words) {
    std::vector<Token> toks;
    std::string text;
    auto flush_text = [&] {
      if (!text.empty()) toks.push_back(Token{Token::Kind::kText, std::move(text), {}});
      text.clear();
    };
    for (std::size_t i = 0; i < word.size();) {
      Replacement r;
      std::size_t len = word[i] == '{' ? match_replacement(word, i, r) : 0;
      if (len > 0) {
        flush_text();
        toks.push_back(Token{Token::Kind::kReplacement, "", r});
        i += len;
      } else if (is_perl_space(word[i])) {
        flush_text();
        toks.push_back(Token{Token::Kind::kSpace, std::string(1, word[i]), {}});
        ++i;
      } else {
        text += word[i++];
      }
    }
    flush_text();
    per_word.push_back(std::move(toks));
  }
  bool any = std::any_of(per_word.begin(), per_word.end(), [](const std::vector<Token>& toks) {
    return std::any_of(toks.begin(), toks.end(),
                       [](const Token& t) { return t.kind == Token::Kind::kReplacement; });
  });
  std::vector<std::string> word_texts = words;
  if (!any && append_if_none) {
    per_word.push_back({Token{Token::Kind::kReplacement, "", Replacement{}}});
    word_texts.emplace_back();
  }
  words_ = per_word.size();

  // Tokens as replace_placeholders() sees them, and the lengths CommandLine::len() uses.
  for (std::size_t w = 0; w < per_word.size(); ++w) {
    if (w > 0) tokens_.push_back(Token{Token::Kind::kWordBreak, "", {}});
    if (per_word[w].empty()) tokens_.push_back(Token{Token::Kind::kEmpty, "", {}});
    // The word with each replacement string as one marker, split into \S* groups.
    std::size_t group_length = 0;
    bool group_has_marker = false;
    auto end_group = [&] {
      if (group_has_marker) {
        context_length_ += group_length;
        ++context_groups_;
      } else {
        noncontext_length_ += group_length;
      }
      group_length = 0;
      group_has_marker = false;
    };
    for (Token& t : per_word[w]) {
      if (t.kind == Token::Kind::kReplacement) {
        group_has_marker = true;
        auto found = std::find_if(counts_.begin(), counts_.end(), [&](const Count& c) {
          return is_equal(c.replacement, t.replacement);
        });
        if (found == counts_.end()) {
          counts_.push_back(Count{t.replacement, 1});
        } else {
          ++found->uses;
        }
      } else if (t.kind == Token::Kind::kSpace) {
        end_group();
        noncontext_length_ += 1;
      } else {
        group_length += t.text.size();
      }
      tokens_.push_back(std::move(t));
    }
    end_group();
  }

  // GNU parallel: if "@command" =~ /^[^ \t\n=]*\257</, no value is quoted.
  for (const Token& t : tokens_) {
    if (t.kind == Token::Kind::kReplacement) {
      replacement_leads_ = true;
      break;
    }
    if (t.kind == Token::Kind::kWordBreak || t.kind == Token::Kind::kEmpty) break;
    if (t.kind == Token::Kind::kSpace && (t.text == " " || t.text == "\t" || t.text == "\n")) break;
    if (t.kind == Token::Kind::kText && t.text.find('=') != std::string::npos) break;
  }
}

namespace {

// One rendered piece: text, or the unquoted break between two words.
struct Piece {
  bool word_break = false;
  std::string text;
};

struct RenderContext {
  std::vector<const std::string*> flat;  // nullptr: an argument that renders as nothing
  std::uint64_t seq = 0;
  unsigned slot = 0;
  RenderMode mode;
  bool trim = false;
};

// The value of one replacement string for `arg`; nullopt when it renders as nothing.
std::optional<std::string> value_for(const Replacement& r, const std::string* arg,
                                     const RenderContext& rc) {
  if (r.transform == Transform::kSeq) return std::to_string(rc.seq);
  if (r.transform == Transform::kSlot) return std::to_string(rc.slot);
  if (arg == nullptr) return std::nullopt;
  std::string v = apply_transform(rc.trim ? trim_space(*arg) : *arg, r.transform);
  return rc.mode.quote_values ? shell_quote(v) : v;
}

// The value of `r` when the current argument (for {} {.} ...) is `arg`.
std::optional<std::string> render_one(const Replacement& r, const std::string* arg,
                                      const RenderContext& rc) {
  if (r.positional()) {
    std::optional<std::size_t> i = flat_index(r.position, rc.flat.size());
    if (!i) return std::string();  // an argument that does not exist is "", never ''
    return value_for(r, rc.flat[*i], rc);
  }
  if (r.transform == Transform::kSeq || r.transform == Transform::kSlot) {
    return value_for(r, rc.flat[0], rc);
  }
  return value_for(r, arg, rc);
}

void push_token_text(const Token& t, std::vector<Piece>& out) {
  out.push_back(Piece{false, t.kind == Token::Kind::kEmpty ? std::string() : t.text});
}

void render_plain(const std::vector<Token>& tokens, const RenderContext& rc,
                  std::vector<Piece>& out) {
  for (const Token& t : tokens) {
    if (t.kind == Token::Kind::kWordBreak) {
      out.push_back(Piece{true, ""});
    } else if (t.kind != Token::Kind::kReplacement) {
      push_token_text(t, out);
    } else if (renders_once(t.replacement)) {
      if (auto v = render_one(t.replacement, rc.flat[0], rc)) out.push_back(Piece{false, *v});
    } else {
      for (std::size_t k = 0; k < rc.flat.size(); ++k) {
        if (k > 0) out.push_back(Piece{true, ""});
        if (auto v = render_one(t.replacement, rc.flat[k], rc)) out.push_back(Piece{false, *v});
      }
    }
  }
}

// -X / -N: each run of tokens between spaces that holds a replacement string is repeated
// once per argument.
void render_context(const std::vector<Token>& tokens, const RenderContext& rc,
                    std::vector<Piece>& out) {
  std::vector<const Token*> group;
  auto flush = [&] {
    bool has_replacement = std::any_of(group.begin(), group.end(), [](const Token* t) {
      return t->kind == Token::Kind::kReplacement;
    });
    if (!has_replacement) {
      for (const Token* t : group) push_token_text(*t, out);
    } else {
      for (std::size_t k = 0; k < rc.flat.size(); ++k) {
        if (k > 0) out.push_back(Piece{true, ""});
        bool per_argument = false;
        for (const Token* t : group) {
          if (t->kind != Token::Kind::kReplacement) {
            push_token_text(*t, out);
            continue;
          }
          if (!renders_once(t->replacement)) per_argument = true;
          if (auto v = render_one(t->replacement, rc.flat[k], rc)) out.push_back(Piece{false, *v});
        }
        if (!per_argument) break;
      }
    }
    group.clear();
  };
  for (const Token& t : tokens) {
    bool blank = t.kind == Token::Kind::kSpace && (t.text == " " || t.text == "\t");
    if (blank || t.kind == Token::Kind::kWordBreak) {
      flush();
      if (t.kind == Token::Kind::kWordBreak) {
        out.push_back(Piece{true, ""});
        continue;
      }
      if (t.text == " ") {
        out.push_back(Piece{false, " "});
        continue;
      }
    }
    group.push_back(&t);  // a tab starts the next group, as in GNU parallel
  }
  flush();
}

}  // namespace

std::string CompiledTemplate::render(const JobInput& job, unsigned slot, const RenderMode& mode,
                                     bool trim) const {
  RenderContext rc;
  rc.seq = job.seq;
  rc.slot = slot;
  rc.mode = mode;
  rc.trim = trim;
  for (const std::vector<std::string>& record : job.args) {
    for (const std::string& value : record) rc.flat.push_back(job.no_args ? nullptr : &value);
  }
  static const std::string kEmptyArgument;
  if (rc.flat.empty()) rc.flat.push_back(&kEmptyArgument);

  std::vector<Piece> pieces;
  if (mode.context) {
    render_context(tokens_, rc, pieces);
  } else {
    render_plain(tokens_, rc, pieces);
  }
  // Words are the runs between breaks; -q quotes each (and drops the empty ones).
  std::string out;
  bool first = true;
  std::string word;
  bool word_has_pieces = false;
  auto end_word = [&] {
    if (mode.quote_words && !word_has_pieces) return;
    if (!first) out += ' ';
    out += mode.quote_words ? shell_quote(word) : word;
    first = false;
  };
  for (const Piece& p : pieces) {
    if (p.word_break) {
      end_word();
      word.clear();
      word_has_pieces = false;
    } else {
      word += p.text;
      word_has_pieces = true;
    }
  }
  end_word();
  return out;
}

CompiledTemplate::Length::Length(const CompiledTemplate& t, const RenderMode& mode, bool trim,
                                 bool no_args)
    : t_(t), mode_(mode), trim_(trim), no_args_(no_args), lengths_(t.counts_.size(), 0) {}

void CompiledTemplate::Length::reset() { std::fill(lengths_.begin(), lengths_.end(), 0); }

void CompiledTemplate::Length::push(const std::vector<std::string>& record, std::uint64_t seq) {
  // GNU parallel measures a -n 0 argument as its internal marker "\0noarg".
  static const std::string kNoArg = std::string(1, '\0') + "noarg";
  auto measure = [&](const Replacement& r, const std::string& value) {
    if (r.transform == Transform::kSeq) return std::to_string(seq).size();
    if (r.transform == Transform::kSlot) return std::size_t{1};
    std::string v = apply_transform(trim_ ? trim_space(value) : value, r.transform);
    return mode_.quote_values ? shell_quote(v).size() : v.size();
  };
  for (std::size_t k = 0; k < t_.counts_.size(); ++k) {
    const Replacement& r = t_.counts_[k].replacement;
    bool positional =
        !r.position.empty() || r.transform == Transform::kSeq || r.transform == Transform::kSlot;
    if (positional) {
      // The position counts within this record here (not the flat list), as GNU does.
      long long p = r.position.empty() ? 1 : std::strtoll(r.position.c_str(), nullptr, 10);
      long long col = p < 0 ? p : p - 1;
      long long n = static_cast<long long>(record.size());
      if (col < 0) col += n;
      if (col >= 0 && col < n) lengths_[k] += measure(r, no_args_ ? kNoArg : record[col]);
    } else {
      for (const std::string& value : record) lengths_[k] += measure(r, no_args_ ? kNoArg : value);
    }
  }
}

std::size_t CompiledTemplate::Length::total(std::size_t records,
                                            std::size_t columns_of_first) const {
  long long recargs = static_cast<long long>(records) * static_cast<long long>(columns_of_first);
  long long len = static_cast<long long>(t_.noncontext_length_ + t_.words_) - 1;
  if (mode_.context) {
    len += recargs * static_cast<long long>(t_.context_length_);
    for (std::size_t k = 0; k < lengths_.size(); ++k) {
      len += static_cast<long long>(lengths_[k] * t_.counts_[k].uses);
    }
    len += (recargs - 1) * static_cast<long long>(t_.context_groups_);
  } else {
    len += static_cast<long long>(t_.context_length_);
    for (std::size_t k = 0; k < lengths_.size(); ++k) {
      len += (recargs - 1 + static_cast<long long>(lengths_[k])) *
             static_cast<long long>(t_.counts_[k].uses);
    }
  }
  if (mode_.quote_words) len *= 3;
  return len < 0 ? 0 : static_cast<std::size_t>(len);
}

std::size_t CompiledTemplate::Length::upper_bound(std::size_t records, std::size_t columns_of_first,
                                                  std::size_t bytes, std::size_t columns) const {
  const std::size_t recargs = records * columns_of_first;
  // A value grows at most fivefold when quoted (' is '"'"') plus its quotes, {//} may turn
  // "" into ".", and {#} adds up to 20 digits per record.
  const std::size_t per_use = 5 * bytes + 3 * columns + 21 * records + recargs;
  std::size_t len = t_.noncontext_length_ + t_.words_ +
                    t_.context_length_ * std::max<std::size_t>(recargs, 1) +
                    t_.context_groups_ * (recargs + 1);
  for (const Count& c : t_.counts_) len += per_use * c.uses;
  return mode_.quote_words ? 3 * len : len;
}

// --- --colsep ---------------------------------------------------------------------------

std::string perl_to_posix_regex(const std::string& perl) {
  std::string out;
  bool in_bracket = false;
  std::size_t bracket_start = 0;
  for (std::size_t i = 0; i < perl.size(); ++i) {
    char c = perl[i];
    if (c == '\\' && i + 1 < perl.size()) {
      char d = perl[++i];
      switch (d) {
        case 't':
          out += '\t';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 'f':
          out += '\f';
          break;
        case 'e':
          out += '\x1b';
          break;
        case 's':
          out += in_bracket ? "[:space:]" : "[[:space:]]";
          break;
        case 'd':
          out += in_bracket ? "0-9" : "[0-9]";
          break;
        case 'w':
          out += in_bracket ? "[:alnum:]_" : "[[:alnum:]_]";
          break;
        case 'S':
        case 'D':
        case 'W':
          if (in_bracket) {
            throw UsageError("--colsep '" + perl + "': \\" + std::string(1, d) +
                             " inside [...] is not supported");
          }
          out += d == 'S' ? "[^[:space:]]" : d == 'D' ? "[^0-9]" : "[^[:alnum:]_]";
          break;
        default:
          if (std::isalnum(static_cast<unsigned char>(d))) {
            throw UsageError("--colsep '" + perl + "': the escape \\" + std::string(1, d) +
                             " is not supported");
          }
          if (in_bracket) {
            out += d;
          } else {
            out += '\\';
            out += d;
          }
      }
      continue;
    }
    if (!in_bracket && c == '[') {
      in_bracket = true;
      out += c;
      if (i + 1 < perl.size() && perl[i + 1] == '^') out += perl[++i];
      bracket_start = out.size();
      continue;
    }
    if (in_bracket && c == ']' && out.size() > bracket_start) in_bracket = false;
    out += c;
  }
  return out;
}

struct ColumnSplitter::Impl {
  regex_t regex;
};

ColumnSplitter::ColumnSplitter(const std::string& perl_regex) {
  // Owned here until regcomp succeeds: either step may throw.
  auto impl = std::make_unique<Impl>();
  std::string posix = perl_to_posix_regex(perl_regex);
  if (int rc = ::regcomp(&impl->regex, posix.c_str(), REG_EXTENDED); rc != 0) {
    char message[256];
    ::regerror(rc, &impl->regex, message, sizeof message);
    throw UsageError("invalid --colsep regex '" + perl_regex + "': " + message);
  }
  impl_ = impl.release();
}

ColumnSplitter::~ColumnSplitter() {
  ::regfree(&impl_->regex);
  delete impl_;
}

std::vector<std::string> ColumnSplitter::split(const std::string& line) const {
  // Perl's split /RE/, $line, -1: empty fields are kept, except that an empty match never
  // makes a field at the start of the line or right where the previous match ended.
  std::vector<std::string> fields;
  std::size_t field_start = 0;
  std::size_t pos = 0;
  while (pos <= line.size()) {
    regmatch_t m;
    int flags = pos > 0 ? REG_NOTBOL : 0;
    if (::regexec(&impl_->regex, line.c_str() + pos, 1, &m, flags) != 0) break;
    std::size_t start = pos + static_cast<std::size_t>(m.rm_so);
    std::size_t end = pos + static_cast<std::size_t>(m.rm_eo);
    if (end == start) {
      if (start >= line.size()) break;
      if (start == field_start) {
        pos = start + 1;
        continue;
      }
    }
    fields.push_back(line.substr(field_start, start - field_start));
    field_start = end;
    pos = end == start ? end + 1 : end;
    if (end == start) field_start = start;
  }
  fields.push_back(line.substr(field_start));
  return fields;
}

}  // namespace internal

// --- CommandTemplate ----------------------------------------------------------------------

struct CommandTemplate::Impl {
  Impl(const RunOptions& o)
      // --pipe gives a job its block, not an argument: nothing to append (but --cat's and
      // --fifo's file name is {}).
      : command(o.command, !o.pipe.on() || o.pipe.cat || o.pipe.fifo),
        tagstring(o.tagstring ? std::optional<internal::CompiledTemplate>(
                                    std::in_place, std::vector<std::string>{*o.tagstring}, false)
                              : std::nullopt) {
    command_mode.quote_words = o.quote;
    command_mode.quote_values = !o.quote && !command.replacement_leads();
    command_mode.context = o.args_per_job.context;
    tag_mode.quote_values = false;
    tag_mode.context = o.args_per_job.context;
    trim = o.colsep.has_value();
  }
  internal::CompiledTemplate command;
  std::optional<internal::CompiledTemplate> tagstring;
  internal::RenderMode command_mode;
  internal::RenderMode tag_mode;
  bool trim = false;
};

CommandTemplate::CommandTemplate(const RunOptions& options)
    : impl_(std::make_unique<Impl>(options)) {}
CommandTemplate::~CommandTemplate() = default;
CommandTemplate::CommandTemplate(CommandTemplate&&) noexcept = default;

std::string CommandTemplate::command(const JobInput& job, unsigned slot) const {
  return impl_->command.render(job, slot, impl_->command_mode, impl_->trim);
}

std::string CommandTemplate::tag(const JobInput& job, unsigned slot) const {
  if (!impl_->tagstring) return "";
  return impl_->tagstring->render(job, slot, impl_->tag_mode, impl_->trim);
}

std::string CommandTemplate::results_subdir(const JobInput& job) const {
  // GNU parallel's args_as_dirname(): "N/value" per column, the untrimmed values with
  // \ → \\, TAB → \t, NUL → \0 and / → \_ so that each is one directory name.
  std::string out;
  for (const std::vector<std::string>& record : job.args) {
    for (std::size_t col = 0; col < record.size(); ++col) {
      if (!out.empty()) out += '/';
      out += std::to_string(col + 1);
      out += '/';
      std::string value = job.no_args ? std::string(1, '\0') + "noarg" : record[col];
      for (char c : value) {
        switch (c) {
          case '\\':
            out += "\\\\";
            break;
          case '\t':
            out += "\\t";
            break;
          case '\0':
            out += "\\0";
            break;
          case '/':
            out += "\\_";
            break;
          default:
            out += c;
        }
      }
    }
  }
  return out;
}

}  // namespace forkpool::cli
