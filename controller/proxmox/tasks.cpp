#include "proxmox/tasks.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "proxmox/error_classification.hpp"

namespace dnsctl {

namespace {

bool has_warnings(const TaskStatus& status) { return status.exitstatus.rfind("WARNINGS: ", 0) == 0; }

}  // namespace

Result<TaskStatus> wait_for_task(ProxmoxApi& api, const std::string& node, const std::string& upid, Clock& clock,
                                 Clock::time_point deadline, Clock::duration poll_interval) {
    std::string last_problem;
    for (;;) {
        auto status = api.task_status(node, upid);
        if (status && !status->running) {
            if (!status->succeeded()) {
                Error error = classify_task_failure(status->exitstatus);
                return std::unexpected(error.within(fmt::format("task {}", upid)));
            }
            if (has_warnings(*status)) {
                auto log = api.task_log(node, upid);
                status->log = log ? std::move(*log)
                                  : std::vector<std::string>{
                                        fmt::format("(the task log could not be read: {})", log.error().message)};
            }
            return status;
        }
        if (!status) {
            if (!status.error().transient()) return std::unexpected(status.error().within(fmt::format("task {}", upid)));
            last_problem = status.error().message;
        } else {
            last_problem.clear();
        }
        const auto now = clock.now();
        if (now >= deadline) {
            return std::unexpected(Error{
                ErrorKind::unavailable,
                fmt::format("task {} did not finish before its deadline; it may still be running: re-observe before "
                            "trying again{}",
                            upid, last_problem.empty() ? "" : fmt::format(" (last poll failed: {})", last_problem)),
                true});
        }
        clock.sleep_for(std::min(poll_interval, deadline - now));
    }
}

}  // namespace dnsctl
