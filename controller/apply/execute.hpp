// execute: carries out a Plan's steps against the clusters' Proxmox APIs and
// reports, per VM, what was done (DESIGN §6).
//
// Order:
//   1. every change that takes no public nameserver out of service (creations
//      above all, the hidden primary's change included), in parallel across
//      clusters: a small pool of workers (ExecuteOptions::parallel_changes)
//      takes them in plan order, each time from the cluster with the fewest
//      changes under way, so one slow cluster never holds up the others. The
//      primary comes first in plan order but holds nothing up: a new VM
//      serves nothing yet. Clones are limited per node
//      (ExecuteOptions::clones_per_node) from the clone request until its
//      task has ended;
//   2. every change that touches an in-service nameserver (restart, replace,
//      destroy of a running one), one nameserver at a time, in plan order: the
//      next starts only once the previous VM is running again.
// A failure ends that change only: other clusters go on. A failure in step 2
// stops the one-at-a-time sequence (the rest is skipped), and so does a failed
// primary. Nothing is retried here (the RetryingProxmoxApi below the port
// repeats what is known to pass); after any failure the next run observes
// afresh and plans what is left, so it converges without duplicate VMs: a
// clone request already carries the ownership marker.
//
// Every wait ends: task and state polls give up at the operation's deadline,
// when their polls have failed for the retry budget in a row (a node out of
// reach), or when a lock turns out to have no task behind it (stale).
//
// Stopping (ExecuteOptions::stop, requested on SIGINT/SIGTERM): no new step
// starts, a request in flight gets its answer (or its own timeout), a task
// already started is not waited for to the end (the report says it may still
// be running), and the report says per VM what was done and what was not.
//
// Time comes from the injected Clock (task polling, deadlines, elapsed times);
// progress goes to the sink, one event per step.
#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "plan/observed_state.hpp"
#include "plan/plan.hpp"

namespace dnsctl {

// How long each kind of operation may take before dnsctl gives up waiting
// (the operation may still finish: the error says so and the next run
// re-observes).
struct OperationDeadlines {
    Clock::duration clone = std::chrono::minutes(30);     // full clone task
    Clock::duration resize = std::chrono::minutes(10);
    Clock::duration start = std::chrono::minutes(5);
    Clock::duration shutdown = std::chrono::minutes(10);  // PVE force-stops after its own timeout
    Clock::duration stop = std::chrono::minutes(5);
    Clock::duration destroy = std::chrono::minutes(10);
    Clock::duration unlock = std::chrono::minutes(5);     // confirm_unlocked
    Clock::duration absent = std::chrono::minutes(5);     // confirm_absent
    Clock::duration idle = std::chrono::minutes(30);      // wait_idle: work of an earlier run
    Clock::duration running = std::chrono::minutes(5);    // an in-service VM is running again
};

struct ExecuteOptions {
    int clones_per_node = 1;   // concurrent clones on one node (pains.md #1: storage lock timeouts)
    int parallel_changes = 8;  // changes under way at once (worker threads), across clusters
    Clock::duration poll_interval = std::chrono::milliseconds(500);  // task status, locks, listings
    // Polls failing with transient errors (a node answering 595) for this long
    // in a row end the wait: the cluster's retry budget (RetryPolicy::max_elapsed).
    Clock::duration failure_budget = std::chrono::minutes(2);
    OperationDeadlines deadlines;
    std::stop_token stop;  // requested: start no new step, end waits (SIGINT, SIGTERM)
};

enum class StepPhase { started, done, failed };

// One step of one change, as it starts and as it ends.
struct ProgressEvent {
    std::string address;
    std::size_t step = 0;   // index in the change's steps
    std::size_t steps = 0;  // how many the change has
    std::string_view kind;  // step_kind()
    std::string what;       // "clone template 9000 on pve-th2 as VM 101", for humans
    StepPhase phase = StepPhase::started;
    Clock::duration step_elapsed{};  // done/failed: how long the step took
    Clock::duration elapsed{};       // since execute began
    std::string detail;              // failed: the error; done: task warnings, if any
};

// Called from worker threads, one call at a time.
using ProgressSink = std::function<void(const ProgressEvent&)>;

// "[  12.3s] vm[th2/101] 1/9 clone template 9000 on pve-th2 as VM 101: done in 0.4s"
std::string format_progress(const ProgressEvent& event);

// ok: every step done. waited: work of an earlier run was waited for; the VM
// needs a new plan. failed: a step failed (see error). skipped: not tried.
// interrupted: apply was stopped part-way through the change (see error: the
// step it stopped at; a task it started may still be running).
enum class ChangeOutcome { ok, waited, failed, skipped, interrupted };
std::string_view to_string(ChangeOutcome outcome);

struct ChangeReport {
    std::string address;
    std::string name;
    std::vector<Action> actions;
    ChangeOutcome outcome = ChangeOutcome::skipped;
    std::size_t steps_done = 0;
    std::size_t steps_total = 0;
    std::optional<Error> error;        // failed: what and at which step
    std::string skipped_because;       // skipped: why
    std::vector<std::string> warnings; // tasks that ended with "WARNINGS: n", each with its log
    Clock::duration elapsed{};
};

struct ApplyReport {
    std::vector<ChangeReport> changes;  // one per change that is not a no-op, in plan order
    Clock::duration elapsed{};
    bool stopped = false;  // a stop was requested before execute ended

    [[nodiscard]] bool all_done() const;  // every change ok
    // Something must be observed again before the estate can be judged: work
    // was waited for, or a failure may have taken effect.
    [[nodiscard]] bool replan_needed() const;
    [[nodiscard]] int count(ChangeOutcome outcome) const;
    [[nodiscard]] const ChangeReport* find(std::string_view address) const;
};

// The per-VM summary printed at the end of an apply.
std::string render_apply_report(const ApplyReport& report);

// Carries out `plan`. A plan with errors or an incomplete observation is not
// carried out at all (every change is reported skipped): the caller decides
// before asking. `apis` must hold every cluster the plan touches.
ApplyReport execute(const Plan& plan, const ClusterApis& apis, Clock& clock, spdlog::logger& logger,
                    const ExecuteOptions& options, const ProgressSink& progress);

}  // namespace dnsctl
