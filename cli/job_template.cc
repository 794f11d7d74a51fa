// The command template and --tagstring of a run (CommandTemplate), built on the compiled
// templates of job_internal.h, and the --results directory of a job.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>
#include <string>

#include "cli/job_internal.h"
#include "cli/job_source.h"
#include "cli/perl_evaluator.h"
#include "cli/replacement_strings.h"

namespace forkpool::cli {

struct CommandTemplate::Impl {
  Impl(const RunOptions& o)
      // --pipe gives a job its block, not an argument: nothing to append (but --cat's and
      // --fifo's file name is {}).
      : rpl(o),
        command(merge_expression_words(o.command, parens_of(o)),
                !o.pipe.on() || o.pipe.cat || o.pipe.fifo, rpl, expressions),
        tagstring(o.tagstring ? std::optional<internal::CompiledTemplate>(
                                    std::in_place, std::vector<std::string>{*o.tagstring}, false,
                                    rpl, expressions)
                              : std::nullopt),
        results(o.results.find('{') != std::string::npos
                    ? std::optional<internal::CompiledTemplate>(std::in_place,
                                                                std::vector<std::string>{o.results},
                                                                false, rpl, expressions)
                    : std::nullopt) {
    if (!expressions.empty()) perl.emplace(expressions, o.job_slots, o.csh_quoting);
    command_mode.quote_words = o.quote;
    // With --cat and --fifo, GNU parallel quotes no value: {} is the shell's $PARALLEL_TMP.
    command_mode.quote_values =
        !o.quote && !command.replacement_leads() && !o.pipe.cat && !o.pipe.fifo;
    command_mode.context = o.args_per_job.context;
    command_mode.csh = tag_mode.csh = o.csh_quoting;
    tag_mode.quote_values = false;
    tag_mode.context = o.args_per_job.context;
    command_mode.perl = tag_mode.perl = perl ? &*perl : nullptr;
    trim = internal::trim_of(o);
    results_option = o.results;
    column_names = o.column_names;
  }
  ReplacementStrings rpl;
  std::vector<std::string> expressions;  // for perl, in the order it compiled them
  internal::CompiledTemplate command;
  std::optional<internal::CompiledTemplate> tagstring;
  std::optional<internal::CompiledTemplate> results;  // --results with replacement strings
  std::optional<PerlEvaluator> perl;                  // only when an expression needs it
  internal::RenderMode command_mode;
  internal::RenderMode tag_mode;
  internal::Trim trim = internal::Trim::kNone;
  std::string results_option = {};
  std::vector<std::optional<std::string>> column_names = {};  // --header's
};

CommandTemplate::CommandTemplate(const RunOptions& options)
    : impl_(std::make_unique<Impl>(options)) {}
CommandTemplate::~CommandTemplate() = default;
CommandTemplate::CommandTemplate(CommandTemplate&&) noexcept = default;

bool CommandTemplate::needs_total_jobs() const {
  return std::any_of(
      impl_->expressions.begin(), impl_->expressions.end(),
      [](const std::string& e) { return e.find("total_jobs") != std::string::npos; });
}

void CommandTemplate::set_total_jobs(std::uint64_t total) {
  impl_->command_mode.total_jobs = impl_->tag_mode.total_jobs = total;
}

std::string CommandTemplate::command(const JobInput& job, unsigned slot, bool* skipped) const {
  if (skipped != nullptr) *skipped = false;
  return impl_->command.render(job, slot, impl_->command_mode, impl_->trim, skipped);
}

std::string CommandTemplate::tag(const JobInput& job, unsigned slot) const {
  if (!impl_->tagstring) return "";
  return impl_->tagstring->render(job, slot, impl_->tag_mode, impl_->trim);
}

std::string CommandTemplate::results_name(const JobInput& job, unsigned slot) const {
  if (!impl_->results) return impl_->results_option;
  return impl_->results->render(job, slot, impl_->tag_mode, impl_->trim);
}

namespace {

// Perl's numeric value of a string, as `<=>` takes it: the leading number, if any (after
// whitespace; decimal only, "Inf" and "NaN" included), else 0.
double perl_number(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size() && internal::is_perl_space(text[i])) ++i;
  std::size_t end = i;
  if (end < text.size() && (text[end] == '+' || text[end] == '-')) ++end;
  const std::size_t digits = end;
  while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
  if (end < text.size() && text[end] == '.') ++end;
  while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
  const bool mantissa = end > digits && !(end == digits + 1 && text[digits] == '.');
  if (mantissa && end < text.size() && (text[end] == 'e' || text[end] == 'E')) {
    std::size_t e = end + 1;
    if (e < text.size() && (text[e] == '+' || text[e] == '-')) ++e;
    if (e < text.size() && std::isdigit(static_cast<unsigned char>(text[e]))) {
      while (e < text.size() && std::isdigit(static_cast<unsigned char>(text[e]))) ++e;
      end = e;
    }
  }
  std::string word = text.substr(digits, 3);
  for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!mantissa && (word == "inf" || word == "nan")) return std::strtod(text.c_str() + i, nullptr);
  return mantissa ? std::strtod(text.substr(i, end - i).c_str(), nullptr) : 0;
}

// GNU parallel's header_indexes_sorted(): the columns (0-based) ordered by their names,
// numerically and then as strings (a NaN compares equal to every number).
std::vector<std::size_t> columns_by_name(const std::vector<std::string>& names) {
  std::vector<std::size_t> order(names.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const double x = perl_number(names[a]), y = perl_number(names[b]);
    if (x < y) return true;
    if (y < x) return false;
    return names[a] < names[b];
  });
  return order;
}

}  // namespace

std::string CommandTemplate::results_subdir(const JobInput& job) const {
  // GNU parallel's args_as_dirname(): "NAME/value" per column in the order of their names
  // (the column's number without --header), the untrimmed values with \ → \\, TAB → \t,
  // NUL → \0 and / → \_ so that each is one directory name.
  std::string out;
  for (const std::vector<std::string>& record : job.args) {
    std::vector<std::string> names(record.size());
    for (std::size_t col = 0; col < record.size(); ++col) {
      const auto& given = impl_->column_names;
      names[col] = col < given.size() && given[col] ? *given[col] : std::to_string(col + 1);
    }
    for (const std::size_t col : columns_by_name(names)) {
      if (!out.empty()) out += '/';
      out += names[col];
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
