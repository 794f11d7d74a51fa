// A template's words compiled into tokens, after GNU parallel 20221122's
// CommandLine::replace_placeholders(): which text is a replacement string, and the lengths
// CommandLine::len() works with.
#include <algorithm>
#include <cctype>
#include <string>

#include "cli/job_internal.h"
#include "cli/replacement_strings.h"

namespace forkpool::cli::internal {
namespace {

bool is_equal(const Replacement& a, const Replacement& b) {
  return a.transform == b.transform && a.position == b.position && a.perl == b.perl;
}

}  // namespace

bool Replacement::positional() const { return !position.empty() && position != "0"; }

namespace {

// A replacement as the Perl GNU parallel would run: its position, and either one of the
// transforms forkpool does itself or an expression for perl.
Replacement replacement_of(std::string_view code, std::vector<std::string>& expressions) {
  // GNU parallel's Arg::replace(): s/^(-?\d+)? *//.
  std::size_t i = (!code.empty() && code[0] == '-') ? 1 : 0;
  const std::size_t digits = i;
  while (i < code.size() && std::isdigit(static_cast<unsigned char>(code[i]))) ++i;
  Replacement r;
  if (i > digits) {
    r.position = std::string(code.substr(0, i));
  } else {
    i = 0;
  }
  while (i < code.size() && code[i] == ' ') ++i;
  const std::string_view body = code.substr(i);
  static const std::pair<std::string_view, Transform> kBuiltin[] = {
      {"", Transform::kNone},        {kPerlSeq, Transform::kSeq},
      {kPerlSlot, Transform::kSlot}, {kPerlBase, Transform::kBase},
      {kPerlDir, Transform::kDir},   {kPerlBaseDot, Transform::kBaseDot},
      {kPerlDot, Transform::kDot}};
  for (const auto& [perl, transform] : kBuiltin) {
    if (body == perl) {
      r.transform = transform;
      return r;
    }
  }
  r.transform = Transform::kPerl;
  auto found = std::find(expressions.begin(), expressions.end(), body);
  r.perl = static_cast<std::size_t>(found - expressions.begin());
  if (found == expressions.end()) expressions.emplace_back(body);
  return r;
}

// One word of a template, split into text, whitespace and replacement strings.
std::vector<Token> tokenize_word(const std::string& word, const ReplacementStrings& rpl,
                                 std::vector<std::string>& expressions) {
  std::vector<Token> toks;
  for (const WordPiece& piece : rpl.expand(word)) {
    if (piece.expression) {
      toks.push_back(Token{Token::Kind::kReplacement, "", replacement_of(piece.text, expressions)});
      continue;
    }
    std::string text;
    for (char c : piece.text) {
      if (!is_perl_space(c)) {
        text += c;
        continue;
      }
      if (!text.empty()) toks.push_back(Token{Token::Kind::kText, std::move(text), {}});
      text.clear();
      toks.push_back(Token{Token::Kind::kSpace, std::string(1, c), {}});
    }
    if (!text.empty()) toks.push_back(Token{Token::Kind::kText, std::move(text), {}});
  }
  return toks;
}

bool has_replacement(const std::vector<Token>& toks) {
  return std::any_of(toks.begin(), toks.end(),
                     [](const Token& t) { return t.kind == Token::Kind::kReplacement; });
}

}  // namespace

CompiledTemplate::CompiledTemplate(const std::vector<std::string>& words, bool append_if_none,
                                   const ReplacementStrings& rpl,
                                   std::vector<std::string>& expressions) {
  std::vector<std::vector<Token>> per_word;
  per_word.reserve(words.size() + 1);
  for (const std::string& word : words) per_word.push_back(tokenize_word(word, rpl, expressions));
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
