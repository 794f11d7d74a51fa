// How many CPUs this process may really use.
#pragma once

namespace forkpool::orchestrator {

// The smaller of the CPUs in this process's affinity mask and the cgroup CPU quota
// (cgroup v2 cpu.max, or v1 cpu.cfs_quota_us / cpu.cfs_period_us), rounded up; at least 1.
// nproc alone over-counts inside containers and under taskset.
unsigned usable_cpus();

}  // namespace forkpool::orchestrator
