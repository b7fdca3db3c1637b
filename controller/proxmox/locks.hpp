// The `lock` key of a VM config: which locks always have a task behind them
// that dnsctl can find, and what an operator does about one that has none.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.hpp"
#include "proxmox/proxmox_api.hpp"

namespace dnsctl {

// A lock dnsctl may call stale when no task holds it: `clone` (its qmclone
// task lists under the *source* VMID) and `create` (qmcreate/qmrestore, under
// the VM's own). Other locks are left alone: `backup` may belong to a vzdump
// job of several guests, which lists under no single VMID, and `suspended`
// has no task by design.
bool lock_is_judgeable(std::string_view lock);

// Whether `tasks` (active tasks as /nodes/{node}/tasks?source=active lists
// them) holds one still running; `type` limits it to that task type.
bool any_task_running(const std::vector<TaskSummary>& tasks, std::string_view type = {});

// "stale lock: VM 101 on node pve-th2 is locked (clone) but no task is
// running for it …" with what to do (PVE's `qm unlock` on the node).
std::string stale_lock_message(std::string_view node, Vmid vmid, std::string_view lock);

}  // namespace dnsctl
