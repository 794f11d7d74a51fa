// A template's words compiled into tokens, after GNU parallel 20221122's
// CommandLine::replace_placeholders(): which text is a replacement string, and the lengths
// CommandLine::len() works with.
#include <algorithm>
#include <array>
#include <string>

#include "cli/job_internal.h"

namespace forkpool::cli::internal {
namespace {

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

bool is_equal(const Replacement& a, const Replacement& b) {
  return a.transform == b.transform && a.position == b.position;
}

}  // namespace

bool Replacement::positional() const { return !position.empty() && position != "0"; }

namespace {

// One word of a template, split into text, whitespace and replacement strings.
std::vector<Token> tokenize_word(const std::string& word) {
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
  return toks;
}

bool has_replacement(const std::vector<Token>& toks) {
  return std::any_of(toks.begin(), toks.end(),
                     [](const Token& t) { return t.kind == Token::Kind::kReplacement; });
}

}  // namespace

CompiledTemplate::CompiledTemplate(const std::vector<std::string>& words, bool append_if_none) {
  refuse_perl_expressions(words);
  std::vector<std::vector<Token>> per_word;
  for (const std::string& word : words) per_word.push_back(tokenize_word(word));
  if (append_if_none && std::none_of(per_word.begin(), per_word.end(), has_replacement))
    per_word.push_back({Token{Token::Kind::kReplacement, "", Replacement{}}});
  words_ = per_word.size();
  for (std::size_t w = 0; w < per_word.size(); ++w) {
    if (w > 0) tokens_.push_back(Token{Token::Kind::kWordBreak, "", {}});
    append_word(std::move(per_word[w]));
  }
  replacement_leads_ = find_replacement_leads();
}

void CompiledTemplate::append_word(std::vector<Token> word) {
  if (word.empty()) tokens_.push_back(Token{Token::Kind::kEmpty, "", {}});
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
  for (Token& t : word) {
    if (t.kind == Token::Kind::kReplacement) {
      group_has_marker = true;
      count_replacement(t.replacement);
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

void CompiledTemplate::count_replacement(const Replacement& r) {
  auto found = std::find_if(counts_.begin(), counts_.end(),
                            [&](const Count& c) { return is_equal(c.replacement, r); });
  if (found == counts_.end()) {
    counts_.push_back(Count{r, 1});
  } else {
    ++found->uses;
  }
}

bool CompiledTemplate::find_replacement_leads() const {
  for (const Token& t : tokens_) {
    if (t.kind == Token::Kind::kReplacement) return true;
    if (t.kind == Token::Kind::kWordBreak || t.kind == Token::Kind::kEmpty) return false;
    if (t.kind == Token::Kind::kSpace && (t.text == " " || t.text == "\t" || t.text == "\n"))
      return false;
    if (t.kind == Token::Kind::kText && t.text.find('=') != std::string::npos) return false;
  }
  return false;
}

}  // namespace forkpool::cli::internal
