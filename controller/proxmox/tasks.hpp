// Waiting for a Proxmox task (a UPID) to finish, through the injected Clock,
// and the pacing every poll loop of the executor shares.
#pragma once

#include <chrono>
#include <optional>
#include <stop_token>
#include <string>

#include "core/clock.hpp"
#include "proxmox/proxmox_api.hpp"

namespace dnsctl {

struct PollOptions {
    Clock::duration interval = std::chrono::milliseconds(500);
    // Polls failing with transient errors (595 node unreachable, timeouts,
    // 503) for this long in a row end the wait: the node is out of reach, and
    // waiting for it until the operation's deadline (30 minutes for a clone)
    // would hold up everything behind it. The cluster's retry budget
    // (RetryPolicy::max_elapsed).
    Clock::duration failure_budget = std::chrono::minutes(2);
    // Failing polls back off: the interval doubled per failure in a row, up to
    // this (never below the interval).
    Clock::duration max_failure_backoff = std::chrono::seconds(10);
    std::stop_token stop;  // requested: end the wait at once (SIGINT, SIGTERM)
};

// Why a poll loop ended without what it waited for.
enum class PollEnd { deadline, out_of_reach, stopped };

// Paces one poll loop: after every poll that did not succeed, next() either
// sleeps until the next poll (returns nullopt) or says why the loop ends.
// It never sleeps past the deadline nor past the end of the failure budget,
// and wakes at once on a stop request.
class PollPacer {
public:
    PollPacer(Clock& clock, Clock::time_point deadline, const PollOptions& options);

    // `failure`: the transient error of the poll that just failed; nullptr
    // when it answered "not yet".
    std::optional<PollEnd> next(const Error* failure);

    // Since the first poll of the current run of failures (zero when the last
    // poll answered).
    [[nodiscard]] Clock::duration failing_for() const;
    [[nodiscard]] const std::string& last_failure() const { return last_failure_; }
    [[nodiscard]] int failures_in_a_row() const { return failures_; }

private:
    Clock& clock_;
    Clock::time_point deadline_;
    PollOptions options_;
    Clock::time_point poll_started_;
    Clock::time_point failing_since_{};
    int failures_ = 0;
    std::string last_failure_;
};

// Polls GET …/tasks/{upid}/status on `node` (the UPID's node: see upid_node)
// through api.without_retries() (the loop is the retry: a poll retried below
// it would overshoot both the deadline and the failure budget).
//   OK             -> the status
//   WARNINGS: n    -> the status with its task log kept in TaskStatus::log
//                     (the task succeeded; the caller logs the warnings)
//   any other exit -> classify_task_failure: the exitstatus text; a lock
//                     timeout inside the task is `unavailable`
//   deadline       -> `unavailable` with maybe_applied set: the task may still
//                     be running (the message names its UPID)
//   polls failing for the failure budget (node unreachable)
//                  -> `unavailable`, maybe_applied, naming the node and the
//                     last failure
//   stop requested -> `unavailable`, maybe_applied: not waited for to the end
// Transient errors while polling are polled through (backing off) within the
// failure budget; any other error is returned at once.
// `ended`, when given, is set to why the wait ended early (deadline, node out
// of reach, stop), and left alone otherwise.
Result<TaskStatus> wait_for_task(ProxmoxApi& api, const std::string& node, const std::string& upid, Clock& clock,
                                 Clock::time_point deadline, const PollOptions& options,
                                 std::optional<PollEnd>* ended = nullptr);

// The same with default PollOptions at `poll_interval`.
Result<TaskStatus> wait_for_task(ProxmoxApi& api, const std::string& node, const std::string& upid, Clock& clock,
                                 Clock::time_point deadline, Clock::duration poll_interval);

}  // namespace dnsctl
