// The command template and --tagstring of a run (CommandTemplate), built on the compiled
// templates of job_internal.h, and the --results directory of a job.
#include <algorithm>
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
    if (!expressions.empty()) perl.emplace(expressions, o.job_slots);
    command_mode.quote_words = o.quote;
    // With --cat and --fifo, GNU parallel quotes no value: {} is the shell's $PARALLEL_TMP.
    command_mode.quote_values =
        !o.quote && !command.replacement_leads() && !o.pipe.cat && !o.pipe.fifo;
    command_mode.context = o.args_per_job.context;
    tag_mode.quote_values = false;
    tag_mode.context = o.args_per_job.context;
    command_mode.perl = tag_mode.perl = perl ? &*perl : nullptr;
    trim = internal::trim_of(o);
    results_option = o.results;
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
