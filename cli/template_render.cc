// Rendering a compiled template for one job: the values put in, quoted or not, and the
// context replace of -X / -N.
#include <algorithm>
#include <charconv>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli/job_internal.h"
#include "cli/perl_evaluator.h"

namespace forkpool::cli::internal {
namespace {

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

// {#} and {%} are positional in GNU parallel ("1 $_=$job->seq()"): rendered once, not per
// argument.
bool renders_once(const Replacement& r) {
  return r.positional() || r.transform == Transform::kSeq || r.transform == Transform::kSlot;
}

// One rendered piece: text, or the unquoted break between two words.
struct Piece {
  bool word_break = false;
  std::string text;
};

struct RenderContext {
  std::vector<const std::string*> flat;
  std::uint64_t seq = 0;
  unsigned slot = 0;
  RenderMode mode;
  Trim trim = Trim::kNone;
  std::vector<std::string_view> all_args;  // @arg of {= =}: the untrimmed values
  std::vector<std::size_t> record_ends;    // per flat index: where its record ends in all_args
  bool* skipped = nullptr;                 // set when an expression calls skip()
};

// GNU parallel's value of a -n 0 argument ("nothing, not the empty string"). Its
// replacement strings are computed on it like on any value ({//} gives ".", {= =} sees it in
// $_), and a result that is still the marker itself, quoted or not, is dropped from the
// command.
const std::string& no_arg() {
  static const std::string marker = std::string(1, '\0') + "noarg";
  return marker;
}

std::optional<std::string> unless_no_arg(std::string value) {
  static const std::string quoted = "'" + no_arg() + "'";
  if (value == no_arg() || value == quoted) return std::nullopt;
  return value;
}

// The value of one replacement string for `arg`; nullopt when it renders as nothing.
std::optional<std::string> value_for(const Replacement& r, std::size_t k, const RenderContext& rc) {
  const std::string* arg = rc.flat[k];
  if (r.transform == Transform::kSeq) return std::to_string(rc.seq);
  if (r.transform == Transform::kSlot) return std::to_string(rc.slot);
  if (r.transform == Transform::kPerl) {
    // GNU parallel computes (and caches) the value as it adds the argument's record to the
    // job: @arg holds the records up to that one.
    const std::span<const std::string_view> all_args(rc.all_args.data(), rc.record_ends[k]);
    PerlEvaluator::Value v = rc.mode.perl->eval(r.perl, trim_value(*arg, rc.trim), rc.seq, rc.slot,
                                                rc.mode.total_jobs, all_args);
    if (v.skip && rc.skipped != nullptr) *rc.skipped = true;
    return unless_no_arg((v.unquoted || !rc.mode.quote_values) ? v.text
                                                               : quote_for(v.text, rc.mode.csh));
  }
  std::string v = apply_transform(trim_value(*arg, rc.trim), r.transform);
  return unless_no_arg(rc.mode.quote_values ? quote_for(v, rc.mode.csh) : v);
}

// The value of `r` when the current argument (for {} {.} ...) is flat[k].
std::optional<std::string> render_one(const Replacement& r, std::size_t k,
                                      const RenderContext& rc) {
  if (r.positional()) {
    std::optional<std::size_t> i = flat_index(r.position, rc.flat.size());
    if (!i) return std::string();  // an argument that does not exist is "", never ''
    return value_for(r, *i, rc);
  }
  if (r.transform == Transform::kSeq || r.transform == Transform::kSlot) {
    return value_for(r, 0, rc);
  }
  return value_for(r, k, rc);
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
      if (auto v = render_one(t.replacement, 0, rc)) out.push_back(Piece{false, *v});
    } else {
      for (std::size_t k = 0; k < rc.flat.size(); ++k) {
        if (k > 0) out.push_back(Piece{true, ""});
        if (auto v = render_one(t.replacement, k, rc)) out.push_back(Piece{false, *v});
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
          if (auto v = render_one(t->replacement, k, rc)) out.push_back(Piece{false, *v});
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
                                     Trim trim, bool* skipped) const {
  RenderContext rc;
  rc.seq = job.seq;
  rc.slot = slot;
  rc.mode = mode;
  rc.trim = trim;
  rc.skipped = skipped;
  for (const std::vector<std::string>& record : job.args) {
    for (const std::string& value : record) {
      const std::string& v = job.no_args ? no_arg() : value;
      rc.flat.push_back(&v);
      if (mode.perl != nullptr) rc.all_args.emplace_back(v);
    }
    if (mode.perl != nullptr) rc.record_ends.resize(rc.flat.size(), rc.flat.size());
  }
  static const std::string kEmptyArgument;
  if (rc.flat.empty()) {
    rc.flat.push_back(&kEmptyArgument);
    rc.record_ends.push_back(0);  // @arg has no argument then
  }

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
    out += mode.quote_words ? quote_for(word, mode.csh) : word;
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
}  // namespace forkpool::cli::internal
