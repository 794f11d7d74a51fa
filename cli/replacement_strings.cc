#include "cli/replacement_strings.h"

#include <algorithm>
#include <utility>

#include "cli/perl_evaluator.h"

namespace forkpool::cli {
namespace {

using Table = std::vector<std::pair<std::string, std::string>>;

Table default_table() {
  return {{"{}", ""},
          {"{#}", "1 " + std::string(kPerlSeq)},
          {"{%}", "1 " + std::string(kPerlSlot)},
          {"{/}", std::string(kPerlBase)},
          {"{//}", std::string(kPerlDir)},
          {"{/.}", std::string(kPerlBaseDot)},
          {"{.}", std::string(kPerlDot)}};
}

// --plus, verbatim from GNU parallel 20221122.
Table plus_table() {
  return {
      {"{+/}", "s:/[^/]*$:: || s:.*$::"},
      {"{+.}", "s:.*\\.:: || s:.*$::"},
      {"{+..}", "s:.*\\.([^/.]*\\.[^/.]*)$:$1: || s:.*$::"},
      {"{+...}", "s:.*\\.([^/.]*\\.[^/.]*\\.[^/.]*)$:$1: || s:.*$::"},
      {"{..}", "s:\\.[^/.]*\\.[^/.]*$::"},
      {"{...}", "s:\\.[^/.]*\\.[^/.]*\\.[^/.]*$::"},
      {"{/..}", "s:.*/::; s:\\.[^/.]*\\.[^/.]*$::"},
      {"{/...}", "s:.*/::; s:\\.[^/.]*\\.[^/.]*\\.[^/.]*$::"},
      {"{choose_k}", "for $t (2..$#arg){ if($arg[$t-1] ge $arg[$t]) { skip() } }"},
      {"{uniq}", "if(::uniq(@arg) != @arg) { skip(); }"},
      {"{##}", "1 $_=total_jobs()"},
      {"{0%}",
       "1 $f=1+int((log($Global::max_jobs_running||1)/log(10)));$_=sprintf(\"%0${f}d\",slot())"},
      {"{0#}", "1 $f=1+int((log(total_jobs())/log(10)));$_=sprintf(\"%0${f}d\",seq())"},
      {"{:-([^}]+?)}", "$_ ||= $$1"},
      {"{:(\\d+?)}", "substr($_,0,$$1) = \"\""},
      {"{:(\\d+?):(\\d+?)}", "$_ = substr($_,$$1,$$2);"},
      {"{#([^#}][^}]*?)}", "$nongreedy=::make_regexp_ungreedy($$1);s/^$nongreedy(.*)/$1/;"},
      {"{##([^#}][^}]*?)}", "s/^$$1//;"},
      {"{%([^}]+?)}", "$nongreedy=::make_regexp_ungreedy($$1);s/(.*)$nongreedy$/$1/;"},
      {"{%%([^}]+?)}", "s/$$1$//;"},
      {"{/([^#%}/]+?)/([^}]*?)}", "s/$$1/$$2/;"},
      {"{/#([^}]+?)/([^}]*?)}", "s/^$$1/$$2/g;"},
      {"{/%([^}]+?)/([^}]*?)}", "s/$$1$/$$2/g;"},
      {"{//([^}]+?)/([^}]*?)}", "s/$$1/$$2/g;"},
      {"{^([^}]+?)}", "s/^($$1)/uc($1)/e;"},
      {"{^^([^}]+?)}", "s/($$1)/uc($1)/eg;"},
      {"{,([^}]+?)}", "s/^($$1)/lc($1)/e;"},
      {"{,,([^}]+?)}", "s/($$1)/lc($1)/eg;"},
      {"{slot}", "1 $_=\"\\${PARALLEL_JOBSLOT}\";uq()"},
      {"{host}", "1 $_=\"\\${PARALLEL_SSHHOST}\";uq()"},
      {"{sshlogin}", "1 $_=\"\\${PARALLEL_SSHLOGIN}\";uq()"},
      {"{hgrp}", "1 $_=\"\\${PARALLEL_HOSTGROUPS}\";uq()"},
      {"{agrp}", "1 $_=\"\\${PARALLEL_ARGHOSTGROUPS}\";uq()"},
  };
}

// GNU parallel's rpl($old, $new): the string `from` is now spelled `to`.
void rename(Table& table, const std::string& from, const std::optional<std::string>& to) {
  if (!to || *to == from) return;
  for (auto& [key, value] : table) {
    if (key != from) continue;
    std::string perl = std::move(value);
    table.erase(
        std::find_if(table.begin(), table.end(), [&](const auto& e) { return e.first == from; }));
    std::erase_if(table, [&](const auto& e) { return e.first == *to; });
    table.emplace_back(*to, std::move(perl));
    return;
  }
}

// Sets or replaces `key`, as a Perl hash assignment does.
void put(Table& table, std::string key, std::string perl) {
  for (auto& [k, v] : table) {
    if (k == key) {
      v = std::move(perl);
      return;
    }
  }
  table.emplace_back(std::move(key), std::move(perl));
}

Table table_for(const RunOptions& o) {
  const ReplacementOptions& r = o.replacements;
  Table table = default_table();
  if (r.plus)
    for (auto& [key, perl] : plus_table()) put(table, key, perl);
  rename(table, "{}", r.replace);
  // -i after -I, as GNU parallel renames them: {} is gone then, and -i's string gets its
  // (empty) Perl, so it stands for the argument too.
  if (r.replace_i && !r.replace_i->empty()) {
    if (r.replace && *r.replace != "{}") {
      put(table, *r.replace_i, "");
    } else {
      rename(table, "{}", r.replace_i);
    }
  }
  rename(table, "{.}", r.extension);
  rename(table, "{/}", r.basename);
  rename(table, "{//}", r.dirname);
  rename(table, "{#}", r.seq);
  rename(table, "{%}", r.slot);
  rename(table, "{/.}", r.basename_extension);
  for (const std::string& spec : r.rpl) {
    const std::size_t space = spec.find_first_of(" \t\n\r\f\v");
    put(table, spec.substr(0, space), space == std::string::npos ? "" : spec.substr(space + 1));
  }
  return table;
}

std::string quote_meta(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

// One replacement string: its key split as GNU parallel splits it (prefix, a group regexp,
// postfix), matched plain and with a position ({2...}).
struct ReplacementStrings::Rpl {
  std::string key;
  std::string perl;
  Regex plain;
  std::optional<Regex> positional;  // only for a key that starts with '{'
};

ReplacementStrings::ReplacementStrings(const RunOptions& options) : parens_(parens_of(options)) {
  Table table = table_for(options);
  std::stable_sort(table.begin(), table.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  for (auto& [key, perl] : table) {
    // An empty string matches everywhere without moving on: the expansion never ended (GNU
    // parallel 20221122 hangs on -I '' too).
    if (key.empty()) {
      throw UsageError("a replacement string cannot be empty (-I, -i, --rpl, --er and the like)");
    }
    // ^([^(]*)(\(.*\))?([^)]*)$
    const std::size_t open = key.find('(');
    const std::size_t close = key.rfind(')');
    std::string prefix = key, group, postfix;
    if (open != std::string::npos && close != std::string::npos && close > open) {
      prefix = key.substr(0, open);
      group = "(?x:" + key.substr(open, close + 1 - open) + ")";
      postfix = key.substr(close + 1);
    }
    const std::string body = quote_meta(prefix) + group + quote_meta(postfix);
    auto rpl =
        std::make_unique<Rpl>(Rpl{key, perl, Regex::compile(body, "replacement string"), {}});
    if (!prefix.empty() && prefix[0] == '{') {
      rpl->positional = Regex::compile(
          "\\{(-?\\d+)\\s*" + quote_meta(prefix.substr(1)) + group + quote_meta(postfix),
          "replacement string");
    }
    table_.push_back(std::move(rpl));
  }
}

ReplacementStrings::~ReplacementStrings() = default;
ReplacementStrings::ReplacementStrings(ReplacementStrings&&) noexcept = default;

namespace {

// "$_pAr_gRp1 = \"...\";" for each captured group up to the first unset one, and the Perl
// with $$N turned into $_pAr_gRpN.
std::string expression_for(const std::string& perl, std::string_view text,
                           const std::vector<std::pair<std::size_t, std::size_t>>& groups,
                           std::size_t first_group) {
  std::string code;
  for (std::size_t g = first_group, n = 1;
       g < groups.size() && groups[g].first != std::string_view::npos; ++g, ++n) {
    code += "$_pAr_gRp" + std::to_string(n) + " = \"" +
            perl_quote(text.substr(groups[g].first, groups[g].second - groups[g].first)) + "\";";
  }
  for (std::size_t i = 0; i < perl.size(); ++i) {
    if (perl.compare(i, 2, "$$") == 0 && i + 2 < perl.size() &&
        std::isdigit(static_cast<unsigned char>(perl[i + 2]))) {
      code += "$_pAr_gRp";
      i += 1;
      continue;
    }
    code += perl[i];
  }
  return code;
}

}  // namespace

void ReplacementStrings::expand_text(const Rpl& rpl, std::vector<WordPiece>& pieces) const {
  for (const bool with_position : {false, true}) {
    const Regex* regex = with_position ? (rpl.positional ? &*rpl.positional : nullptr) : &rpl.plain;
    if (regex == nullptr) continue;
    std::vector<WordPiece> out;
    for (WordPiece& piece : pieces) {
      if (piece.expression) {
        out.push_back(std::move(piece));
        continue;
      }
      std::size_t at = 0;
      for (;;) {
        auto groups = regex->search_groups(piece.text, at);
        if (groups.empty()) break;
        if (groups[0].first > at)
          out.push_back({false, piece.text.substr(at, groups[0].first - at)});
        std::string code;
        if (with_position)
          code = piece.text.substr(groups[1].first, groups[1].second - groups[1].first);
        code += expression_for(rpl.perl, piece.text, groups, with_position ? 2 : 1);
        out.push_back({true, std::move(code)});
        at = groups[0].second;
      }
      if (at < piece.text.size()) out.push_back({false, piece.text.substr(at)});
    }
    pieces = std::move(out);
  }
}

std::vector<WordPiece> ReplacementStrings::expand(const std::string& word) const {
  // {= ... =}: the shortest, so that "{={==}" and "{={==}=}" pair as GNU parallel pairs them.
  const std::string& left = parens_.left;
  const std::string& right = parens_.right;
  std::vector<WordPiece> pieces;
  std::size_t at = 0, from = 0;
  for (;;) {
    const std::size_t close = word.find(right, from);
    if (close == std::string::npos) break;
    const std::size_t open =
        close < left.size() ? std::string::npos : word.rfind(left, close - left.size());
    if (open == std::string::npos || open < at) {
      from = close + 1;  // no {= of its own: text
      continue;
    }
    if (open > at) pieces.push_back({false, word.substr(at, open - at)});
    pieces.push_back({true, word.substr(open + left.size(), close - open - left.size())});
    at = from = close + right.size();
  }
  if (at < word.size()) pieces.push_back({false, word.substr(at)});
  for (const auto& rpl : table_) expand_text(*rpl, pieces);
  return pieces;
}

Parens parens_of(const RunOptions& options) {
  const std::string& both = options.replacements.parens;
  return Parens{both.substr(0, both.size() / 2), both.substr(both.size() / 2)};
}

std::vector<std::string> merge_expression_words(const std::vector<std::string>& words,
                                                const Parens& parens) {
  // Whether `s` has a {= left open once every {= ... =} in it is removed.
  auto open_left = [&](std::string s) {
    for (;;) {
      const std::size_t open = s.rfind(parens.left);
      if (open == std::string::npos) return false;
      const std::size_t close = s.find(parens.right, open + parens.left.size());
      if (close == std::string::npos) return true;
      s.erase(open, close + parens.right.size() - open);
    }
  };
  std::vector<std::string> out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    std::string s = words[i];
    while (open_left(s) && i + 1 < words.size()) s += " " + words[++i];
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace forkpool::cli
