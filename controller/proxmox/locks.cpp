#include "proxmox/locks.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace dnsctl {

bool lock_is_judgeable(std::string_view lock) { return lock == "clone" || lock == "create"; }

bool any_task_running(const std::vector<TaskSummary>& tasks, std::string_view type) {
    return std::any_of(tasks.begin(), tasks.end(), [&](const TaskSummary& task) {
        bool running = task.status == "running" || task.status.empty();
        return running && (type.empty() || task.type == type);
    });
}

std::string stale_lock_message(std::string_view node, Vmid vmid, std::string_view lock) {
    return fmt::format(
        "stale lock: VM {0} on node {1} is locked ({2}) but no task is running for it: the task that set the lock "
        "was cut off (its node or API restarted), so the lock never goes away by itself and dnsctl does not wait "
        "for it. An interrupted {2} leaves the VM incomplete: on node {1} run `qm unlock {0}` and then "
        "`qm destroy {0}` (dnsctl then creates it afresh), or only `qm unlock {0}` once you have checked the VM is "
        "whole; then run apply again",
        vmid.value, node, lock);
}

}  // namespace dnsctl
