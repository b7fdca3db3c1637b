// Waiting for a Proxmox task (a UPID) to finish, through the injected Clock.
#pragma once

#include <string>

#include "core/clock.hpp"
#include "proxmox/proxmox_api.hpp"

namespace dnsctl {

// Polls GET …/tasks/{upid}/status on `node` (the UPID's node: see upid_node)
// every `poll_interval` until the task stops or `deadline` passes.
//   OK             -> the status
//   WARNINGS: n    -> the status with its task log kept in TaskStatus::log
//                     (the task succeeded; the caller logs the warnings)
//   any other exit -> classify_task_failure: the exitstatus text; a lock
//                     timeout inside the task is `unavailable`
//   deadline       -> `unavailable` with maybe_applied set: the task may still
//                     be running (the message names its UPID)
// Transient errors while polling are polled through until the deadline; any
// other error is returned at once.
Result<TaskStatus> wait_for_task(ProxmoxApi& api, const std::string& node, const std::string& upid, Clock& clock,
                                 Clock::time_point deadline, Clock::duration poll_interval);

}  // namespace dnsctl
