#include "cli/job_source.h"

namespace forkpool::cli {

struct JobSource::Impl {};
JobSource::JobSource(const RunOptions&) : impl_(std::make_unique<Impl>()) {}
JobSource::~JobSource() = default;
std::optional<JobInput> JobSource::next() { return std::nullopt; }

struct CommandTemplate::Impl {};
CommandTemplate::CommandTemplate(const RunOptions&) : impl_(std::make_unique<Impl>()) {}
CommandTemplate::~CommandTemplate() = default;
CommandTemplate::CommandTemplate(CommandTemplate&&) noexcept = default;
std::string CommandTemplate::command(const JobInput&, unsigned) const { return {}; }
std::string CommandTemplate::tag(const JobInput&, unsigned) const { return {}; }
std::string CommandTemplate::results_subdir(const JobInput&) const { return {}; }

}  // namespace forkpool::cli
