#include "proxmox/tasks.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "proxmox/error_classification.hpp"

namespace dnsctl {

namespace {

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

bool has_warnings(const TaskStatus& status) { return status.exitstatus.rfind("WARNINGS: ", 0) == 0; }

}  // namespace

PollPacer::PollPacer(Clock& clock, Clock::time_point deadline, const PollOptions& options)
    : clock_(clock), deadline_(deadline), options_(options), poll_started_(clock.now()) {}

Clock::duration PollPacer::failing_for() const {
    if (failures_ == 0) return Clock::duration::zero();
    return clock_.now() - failing_since_;
}

std::optional<PollEnd> PollPacer::next(const Error* failure) {
    if (options_.stop.stop_requested()) return PollEnd::stopped;
    const auto now = clock_.now();
    if (failure != nullptr) {
        if (failures_++ == 0) failing_since_ = poll_started_;
        last_failure_ = failure->message;
        if (now - failing_since_ >= options_.failure_budget) return PollEnd::out_of_reach;
    } else {
        failures_ = 0;
        last_failure_.clear();
    }
    if (now >= deadline_) return PollEnd::deadline;

    Clock::duration delay = options_.interval;
    if (failures_ > 0) {
        const auto cap = std::max(options_.interval, options_.max_failure_backoff);
        for (int i = 1; i < failures_ && delay < cap; ++i) delay *= 2;
        delay = std::min(delay, cap);
        delay = std::min(delay, failing_since_ + options_.failure_budget - now);
    }
    delay = std::min(delay, deadline_ - now);
    if (clock_.sleep_for_unless_stopped(delay, options_.stop)) return PollEnd::stopped;
    poll_started_ = clock_.now();
    return std::nullopt;
}

Result<TaskStatus> wait_for_task(ProxmoxApi& api, const std::string& node, const std::string& upid, Clock& clock,
                                 Clock::time_point deadline, const PollOptions& options,
                                 std::optional<PollEnd>* ended) {
    ProxmoxApi& poll = api.without_retries();
    PollPacer pacer(clock, deadline, options);
    for (;;) {
        auto status = poll.task_status(node, upid);
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
        if (!status && !status.error().transient()) {
            return std::unexpected(status.error().within(fmt::format("task {}", upid)));
        }
        auto end = pacer.next(status ? nullptr : &status.error());
        if (!end) continue;
        if (ended != nullptr) *ended = *end;
        switch (*end) {
        case PollEnd::stopped:
            return std::unexpected(Error{
                ErrorKind::unavailable,
                fmt::format("task {} not waited for: apply is stopping; the task may still be running", upid), true});
        case PollEnd::out_of_reach:
            return std::unexpected(Error{
                ErrorKind::unavailable,
                fmt::format("task {}: node {} did not answer for {:.0f}s (the retry budget): {}; gave up waiting, the "
                            "task may still be running: re-observe before trying again",
                            upid, node, seconds(pacer.failing_for()), pacer.last_failure()),
                true});
        case PollEnd::deadline:
            return std::unexpected(Error{
                ErrorKind::unavailable,
                fmt::format("task {} did not finish before its deadline; it may still be running: re-observe before "
                            "trying again{}",
                            upid,
                            pacer.last_failure().empty() ? ""
                                                         : fmt::format(" (last poll failed: {})", pacer.last_failure())),
                true});
        }
    }
}

Result<TaskStatus> wait_for_task(ProxmoxApi& api, const std::string& node, const std::string& upid, Clock& clock,
                                 Clock::time_point deadline, Clock::duration poll_interval) {
    PollOptions options;
    options.interval = poll_interval;
    return wait_for_task(api, node, upid, clock, deadline, options);
}

}  // namespace dnsctl
