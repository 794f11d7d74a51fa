// CompiledTemplate::Length: GNU parallel's estimate of a command line's length, which -m
// and -X fill lines to and which refuses too-long lines.
#include <algorithm>
#include <cstdlib>
#include <string>

#include "cli/job_internal.h"

namespace forkpool::cli::internal {

CompiledTemplate::Length::Length(const CompiledTemplate& t, const RenderMode& mode, Trim trim,
                                 bool no_args)
    : t_(t), mode_(mode), trim_(trim), no_args_(no_args), lengths_(t.counts_.size(), 0) {}

void CompiledTemplate::Length::reset() { std::fill(lengths_.begin(), lengths_.end(), 0); }

void CompiledTemplate::Length::push(const std::vector<std::string>& record, std::uint64_t seq) {
  // GNU parallel measures a -n 0 argument as its internal marker "\0noarg".
  static const std::string kNoArg = std::string(1, '\0') + "noarg";
  auto measure = [&](const Replacement& r, const std::string& value) {
    if (r.transform == Transform::kSeq) return std::to_string(seq).size();
    if (r.transform == Transform::kSlot) return std::size_t{1};
    std::string v = apply_transform(trim_value(value, trim_), r.transform);
    return mode_.quote_values ? quote_for(v, mode_.csh).size() : v.size();
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

}  // namespace forkpool::cli::internal
