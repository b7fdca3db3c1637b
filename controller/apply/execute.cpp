#include "apply/execute.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>
#include <variant>

#include "core/text.hpp"
#include "proxmox/locks.hpp"
#include "proxmox/tasks.hpp"

namespace dnsctl {

namespace {

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Limits concurrent clones on one node.
class CloneSlots {
public:
    explicit CloneSlots(int limit) : free_(std::max(limit, 1)) {}
    // False when a stop was requested while waiting (no slot taken).
    bool acquire(const std::stop_token& stop) {
        std::unique_lock lock(mutex_);
        freed_.wait(lock, stop, [&] { return free_ > 0; });
        if (stop.stop_requested() || free_ == 0) return false;  // a slot freed as the stop came is not taken
        --free_;
        return true;
    }
    void release() {
        {
            std::lock_guard lock(mutex_);
            ++free_;
        }
        freed_.notify_one();
    }

private:
    std::mutex mutex_;
    std::condition_variable_any freed_;
    int free_;
};

// A clone slot held from the clone request until its task has ended (or the
// change has failed).
class SlotHold {
public:
    SlotHold() = default;
    SlotHold(const SlotHold&) = delete;
    SlotHold& operator=(const SlotHold&) = delete;
    ~SlotHold() { release(); }
    bool hold(CloneSlots& slots, const std::stop_token& stop) {
        release();
        if (!slots.acquire(stop)) return false;
        slots_ = &slots;
        return true;
    }
    void release() {
        if (slots_ != nullptr) slots_->release();
        slots_ = nullptr;
    }

private:
    CloneSlots* slots_ = nullptr;
};

std::string describe_step(const Step& step, const std::vector<Step>& steps) {
    if (const auto* s = std::get_if<CloneStep>(&step)) {
        return fmt::format("clone template {} on {} as VM {} ({} clone)", s->source.value, s->node,
                           s->request.newid.value, s->request.full ? "full" : "linked");
    }
    if (const auto* s = std::get_if<WaitTaskStep>(&step)) {
        auto kind = s->step < steps.size() ? step_kind(steps[s->step]) : std::string_view("?");
        return fmt::format("wait for the {} task", kind);
    }
    if (const auto* s = std::get_if<ConfirmUnlockedStep>(&step)) {
        return fmt::format("confirm VM {} is unlocked", s->vmid.value);
    }
    if (const auto* s = std::get_if<ConfigureStep>(&step)) {
        std::vector<std::string> keys;
        for (const auto& [key, value] : s->update.set) keys.push_back(key);
        for (const auto& key : s->update.remove) keys.push_back("-" + key);
        return fmt::format("configure {}", join(keys, ", "));
    }
    if (std::get_if<VerifyCloudinitStep>(&step) != nullptr) return "verify no cloud-init value is pending";
    if (const auto* s = std::get_if<ResizeDiskStep>(&step)) return fmt::format("grow {} to {}", s->disk, s->size);
    if (const auto* s = std::get_if<StartStep>(&step)) return fmt::format("start VM {}", s->vmid.value);
    if (const auto* s = std::get_if<ShutdownStep>(&step)) {
        return fmt::format("shut down VM {}{}", s->vmid.value, s->force_stop ? " (force-stop after the timeout)" : "");
    }
    if (const auto* s = std::get_if<StopStep>(&step)) return fmt::format("stop VM {}", s->vmid.value);
    if (const auto* s = std::get_if<DestroyStep>(&step)) return fmt::format("destroy VM {} (purge)", s->vmid.value);
    if (const auto* s = std::get_if<ConfirmAbsentStep>(&step)) {
        return fmt::format("confirm VM {} is gone", s->vmid.value);
    }
    if (const auto* s = std::get_if<WaitIdleStep>(&step)) {
        return fmt::format("wait until the work in flight on VM {} has ended", s->vmid.value);
    }
    return std::string(step_kind(step));
}

std::string describe_actions(const std::vector<Action>& actions) {
    if (actions.size() == 2 && actions[0] == Action::destroy && actions[1] == Action::create) return "replace";
    std::vector<std::string> names;
    for (auto action : actions) names.emplace_back(action == Action::destroy ? "destroy" : to_string(action));
    return join(names, "+");
}

std::optional<std::string> lock_in(const VmConfig& config) {
    auto it = config.find("lock");
    if (it == config.end() || it->second.empty()) return std::nullopt;
    return it->second;
}

// What a poll check says: satisfied (nullopt), or still waiting (why).
using PollVerdict = Result<std::optional<std::string>>;

constexpr const char* kStoppedNotStarted = "not started: apply was stopped (SIGINT/SIGTERM)";

class Executor {
public:
    Executor(const Plan& plan, const ClusterApis& apis, Clock& clock, spdlog::logger& logger,
             const ExecuteOptions& options, const ProgressSink& progress)
        : plan_(plan), apis_(apis), clock_(clock), logger_(logger), options_(options), progress_(progress) {}

    ApplyReport run() {
        start_ = clock_.now();
        ApplyReport report;
        std::vector<const ResourceChange*> changes;
        for (const auto& change : plan_.changes) {
            if (change.is_no_op()) continue;
            ChangeReport entry;
            entry.address = change.address;
            entry.name = change.name;
            entry.actions = change.actions;
            entry.steps_total = change.steps.size();
            report.changes.push_back(std::move(entry));
            changes.push_back(&change);
        }

        if (auto refusal = refusal_reason()) {
            for (auto& entry : report.changes) entry.skipped_because = *refusal;
            report.stopped = stop_requested();
            report.elapsed = clock_.now() - start_;
            return report;
        }

        // Clone slots, one set per node the plan clones on.
        for (const auto* change : changes) {
            for (const auto& step : change->steps) {
                if (const auto* clone = std::get_if<CloneStep>(&step)) {
                    auto key = slot_key(change->cluster, clone->node);
                    if (!slots_.contains(key)) slots_.emplace(key, std::make_unique<CloneSlots>(options_.clones_per_node));
                }
            }
        }

        std::vector<std::size_t> concurrent;
        std::vector<std::size_t> one_at_a_time;
        for (std::size_t i = 0; i < changes.size(); ++i) {
            if (changes[i]->role != VmRole::primary && changes[i]->touches_in_service_nameserver) {
                one_at_a_time.push_back(i);
            } else {
                concurrent.push_back(i);
            }
        }

        // 1. Everything that takes no nameserver out of service, the hidden
        // primary's change included, in parallel across clusters.
        run_concurrently(changes, concurrent, report);
        std::optional<std::string> primary_failed;
        for (auto i : concurrent) {
            const auto outcome = report.changes[i].outcome;
            if (changes[i]->role == VmRole::primary &&
                (outcome == ChangeOutcome::failed || outcome == ChangeOutcome::interrupted)) {
                primary_failed = changes[i]->address;
            }
        }

        // 2. In-service nameservers, one at a time.
        std::optional<std::string> stopped_by;
        for (auto i : one_at_a_time) {
            auto& entry = report.changes[i];
            if (stop_requested()) {
                entry.skipped_because = kStoppedNotStarted;
                continue;
            }
            if (primary_failed) {
                entry.skipped_because =
                    fmt::format("not started: the hidden primary's change ({}) failed", *primary_failed);
                continue;
            }
            if (stopped_by) {
                entry.skipped_because = fmt::format(
                    "not started: {} failed, and in-service nameservers are changed one at a time", *stopped_by);
                continue;
            }
            run_change(*changes[i], entry);
            if (entry.outcome == ChangeOutcome::ok && changes[i]->after) {
                auto status = changes[i]->after->find(std::string(attr::kStatus));
                if (status != changes[i]->after->end() && status->second == "running") {
                    if (auto running = wait_running(*changes[i]); !running) {
                        entry.outcome = stop_requested() ? ChangeOutcome::interrupted : ChangeOutcome::failed;
                        entry.error = running.error();
                    }
                }
            }
            if (entry.outcome != ChangeOutcome::ok) stopped_by = changes[i]->address;
        }

        report.stopped = stop_requested();
        report.elapsed = clock_.now() - start_;
        return report;
    }

private:
    static std::string slot_key(const std::string& cluster, const std::string& node) { return cluster + "/" + node; }

    bool stop_requested() const { return options_.stop.stop_requested(); }

    PollOptions poll_options() const {
        PollOptions out;
        out.interval = options_.poll_interval;
        out.failure_budget = options_.failure_budget;
        out.stop = options_.stop;
        return out;
    }

    std::optional<std::string> refusal_reason() const {
        if (!plan_.errors.empty()) return std::string("not started: the plan has errors; nothing was applied");
        if (!plan_.complete()) {
            std::vector<std::string> names;
            for (const auto& cluster : plan_.incomplete) names.push_back(cluster.cluster);
            return fmt::format("not started: cluster {} could not be observed completely; nothing was applied",
                               join(names, ", "));
        }
        if (stop_requested()) return std::string(kStoppedNotStarted);
        return std::nullopt;
    }

    // A bounded pool of workers. Each free worker takes, in plan order, the
    // next change of a cluster with the fewest changes under way: every
    // cluster gets a worker before any gets a second, so a cluster whose
    // node hangs holds up only its own changes.
    void run_concurrently(const std::vector<const ResourceChange*>& changes, const std::vector<std::size_t>& indices,
                          ApplyReport& report) {
        std::mutex mutex;
        std::vector<std::size_t> pending = indices;
        std::map<std::string, int> under_way;
        auto take = [&]() -> std::optional<std::size_t> {
            std::lock_guard lock(mutex);
            if (pending.empty()) return std::nullopt;
            auto best = pending.begin();
            for (auto it = pending.begin(); it != pending.end(); ++it) {
                if (under_way[changes[*it]->cluster] < under_way[changes[*best]->cluster]) best = it;
            }
            auto index = *best;
            pending.erase(best);
            ++under_way[changes[index]->cluster];
            return index;
        };
        auto work = [&] {
            while (auto index = take()) {
                auto& entry = report.changes[*index];
                if (stop_requested()) {
                    entry.skipped_because = kStoppedNotStarted;
                } else {
                    run_change(*changes[*index], entry);
                }
                std::lock_guard lock(mutex);
                --under_way[changes[*index]->cluster];
            }
        };
        const auto workers = std::min<std::size_t>(static_cast<std::size_t>(std::max(options_.parallel_changes, 1)),
                                                   indices.size());
        std::vector<std::jthread> threads;
        threads.reserve(workers);
        for (std::size_t i = 0; i < workers; ++i) threads.emplace_back(work);
    }  // jthreads join here

    void emit(ProgressEvent event) {
        event.elapsed = clock_.now() - start_;
        std::lock_guard lock(progress_mutex_);
        logger_.debug("{}", format_progress(event));
        if (progress_) progress_(event);
    }

    void run_change(const ResourceChange& change, ChangeReport& report) {
        const auto began = clock_.now();
        auto it = apis_.find(change.cluster);
        if (it == apis_.end() || it->second == nullptr) {
            report.outcome = ChangeOutcome::failed;
            report.error = Error{ErrorKind::invalid, fmt::format("no API connection for cluster {}", change.cluster)};
            return;
        }
        ProxmoxApi& api = *it->second;
        std::vector<std::string> upids(change.steps.size());
        SlotHold clone_slot;
        bool waited = false;
        for (std::size_t i = 0; i < change.steps.size(); ++i) {
            const auto& step = change.steps[i];
            const auto where = fmt::format("step {}/{} ({})", i + 1, change.steps.size(), step_kind(step));
            // A clone waits for a slot on its node first (a stop ends that wait).
            const auto* clone = std::get_if<CloneStep>(&step);
            CloneSlots* slots = clone != nullptr ? slots_.at(slot_key(change.cluster, clone->node)).get() : nullptr;
            if (stop_requested() || (slots != nullptr && !clone_slot.hold(*slots, options_.stop))) {
                stopped_before(report, i, where, upids, change);
                report.elapsed = clock_.now() - began;
                return;
            }
            // A node another change found out of reach is not tried again:
            // its cluster's trouble must not cost a retry budget per VM.
            if (auto lost = out_of_reach(change.cluster, clone != nullptr ? clone->node : change.node)) {
                if (i == 0) {
                    report.skipped_because = fmt::format("not started: {}", *lost);
                } else {
                    report.outcome = ChangeOutcome::failed;
                    report.error = Error{ErrorKind::unavailable, fmt::format("stopped before {}: {}", where, *lost),
                                         false};
                }
                report.elapsed = clock_.now() - began;
                return;
            }
            ProgressEvent event;
            event.address = change.address;
            event.step = i;
            event.steps = change.steps.size();
            event.kind = step_kind(step);
            event.what = describe_step(step, change.steps);
            event.phase = StepPhase::started;
            emit(event);

            const auto step_began = clock_.now();
            std::string detail;
            auto result = run_step(api, change, i, upids, clone_slot, report, detail);
            event.step_elapsed = clock_.now() - step_began;
            if (!result) {
                clone_slot.release();
                Error error = result.error().within(where);
                event.phase = StepPhase::failed;
                event.detail = error.message;
                emit(event);
                report.outcome = stop_requested() ? ChangeOutcome::interrupted : ChangeOutcome::failed;
                report.error = std::move(error);
                report.elapsed = clock_.now() - began;
                return;
            }
            event.phase = StepPhase::done;
            event.detail = std::move(detail);
            emit(event);
            ++report.steps_done;
            if (std::holds_alternative<WaitIdleStep>(step)) waited = true;
        }
        report.outcome = waited ? ChangeOutcome::waited : ChangeOutcome::ok;
        report.elapsed = clock_.now() - began;
    }

    // Why the node is not tried any more (which change found it out of
    // reach), or nothing.
    std::optional<std::string> out_of_reach(const std::string& cluster, const std::string& node) {
        std::lock_guard lock(reach_mutex_);
        auto it = out_of_reach_.find(slot_key(cluster, node));
        if (it == out_of_reach_.end()) return std::nullopt;
        return it->second;
    }
    void mark_out_of_reach(const ResourceChange& change, const std::string& node) {
        std::lock_guard lock(reach_mutex_);
        out_of_reach_.try_emplace(
            slot_key(change.cluster, node),
            fmt::format("node {} of cluster {} is out of reach ({} gave up waiting for it after the retry budget)",
                        node, change.cluster, change.address));
    }

    // A stop came before step `index`: nothing more is sent for this change.
    void stopped_before(ChangeReport& report, std::size_t index, const std::string& where,
                        const std::vector<std::string>& upids, const ResourceChange& change) {
        if (index == 0) {
            report.skipped_because = kStoppedNotStarted;
            return;
        }
        report.outcome = ChangeOutcome::interrupted;
        std::string message = fmt::format("stopped before {}: apply was stopped", where);
        // A task whose wait comes later was started and not waited for.
        for (std::size_t later = index; later < change.steps.size(); ++later) {
            const auto* wait = std::get_if<WaitTaskStep>(&change.steps[later]);
            if (wait != nullptr && wait->step < upids.size() && !upids[wait->step].empty()) {
                message += fmt::format("; task {} was not waited for and may still be running", upids[wait->step]);
            }
        }
        // A restart cut between its shutdown and its start leaves the VM down.
        const auto cut = change.steps.begin() + static_cast<long>(index);
        auto done_before = [&](auto is) { return std::any_of(change.steps.begin(), cut, is); };
        auto left = [&](auto is) { return std::any_of(cut, change.steps.end(), is); };
        const bool shut = done_before([](const Step& s) {
            return std::holds_alternative<ShutdownStep>(s) || std::holds_alternative<StopStep>(s);
        });
        const bool starts = left([](const Step& s) { return std::holds_alternative<StartStep>(s); });
        if (shut && starts) {
            message += "; the VM was shut down and stays stopped (out of service) until the next apply starts it";
        }
        report.error = Error{ErrorKind::unavailable, std::move(message), true};
    }

    Clock::duration deadline_for(const Step& step) const {
        const auto& d = options_.deadlines;
        if (std::holds_alternative<CloneStep>(step)) return d.clone;
        if (std::holds_alternative<ResizeDiskStep>(step)) return d.resize;
        if (std::holds_alternative<StartStep>(step)) return d.start;
        if (std::holds_alternative<ShutdownStep>(step)) return d.shutdown;
        if (std::holds_alternative<StopStep>(step)) return d.stop;
        if (std::holds_alternative<DestroyStep>(step)) return d.destroy;
        return d.unlock;
    }

    // Polls `check` until it is satisfied, `limit` passes, its polls have
    // failed for the retry budget in a row (`node` is out of reach: marked
    // so) or a stop is requested. Transient errors count as "not yet"; others
    // end the wait. `check` reads through api.without_retries(): this loop is
    // the retry.
    template <class Check>
    Result<void> poll_until(const ResourceChange& change, const std::string& node, std::string_view what,
                            Clock::duration limit, Check&& check) {
        PollPacer pacer(clock_, clock_.now() + limit, poll_options());
        std::string last;
        for (;;) {
            PollVerdict verdict = check();
            if (verdict && !*verdict) return {};
            if (!verdict && !verdict.error().transient()) return std::unexpected(verdict.error());
            if (verdict) last = **verdict;
            auto end = pacer.next(verdict ? nullptr : &verdict.error());
            if (!end) continue;
            switch (*end) {
            case PollEnd::stopped:
                return fail(ErrorKind::unavailable, fmt::format("{}: not waited for, apply is stopping", what));
            case PollEnd::out_of_reach:
                mark_out_of_reach(change, node);
                return fail(ErrorKind::unavailable,
                            fmt::format("{}: gave up after its polls failed for {:.0f}s (the retry budget): {}", what,
                                        seconds(pacer.failing_for()), pacer.last_failure()));
            case PollEnd::deadline:
                return fail(ErrorKind::unavailable,
                            fmt::format("{}: gave up after {:.0f}s ({})", what, seconds(limit),
                                        pacer.last_failure().empty() ? last : pacer.last_failure()));
            }
        }
    }

    Result<void> task_started(Result<std::string> upid, std::vector<std::string>& upids, std::size_t index) {
        if (!upid) return std::unexpected(upid.error());
        upids[index] = std::move(*upid);
        return {};
    }

    Result<void> run_step(ProxmoxApi& api, const ResourceChange& change, std::size_t index,
                          std::vector<std::string>& upids, SlotHold& clone_slot, ChangeReport& report,
                          std::string& detail) {
        const auto& step = change.steps[index];
        ProxmoxApi& poll = api.without_retries();
        if (const auto* s = std::get_if<CloneStep>(&step)) {
            return task_started(api.clone(s->node, s->source, s->request), upids, index);
        }
        if (const auto* s = std::get_if<WaitTaskStep>(&step)) return wait_task(api, change, *s, upids, clone_slot, report, detail);
        if (const auto* s = std::get_if<ConfirmUnlockedStep>(&step)) {
            return poll_until(change, s->node, fmt::format("VM {} still locked", s->vmid.value),
                              options_.deadlines.unlock,
                              [&]() -> PollVerdict {
                                  auto config = poll.get_config(s->node, s->vmid);
                                  if (!config) return std::unexpected(config.error());
                                  if (auto lock = lock_in(*config)) return fmt::format("lock: {}", *lock);
                                  return std::optional<std::string>();
                              });
        }
        if (const auto* s = std::get_if<ConfigureStep>(&step)) return api.update_config(s->node, s->vmid, s->update);
        if (const auto* s = std::get_if<VerifyCloudinitStep>(&step)) {
            auto entries = api.get_cloudinit(s->node, s->vmid);
            if (!entries) return std::unexpected(entries.error());
            auto problems = check_cloudinit(s->expected, *entries);
            if (!problems.empty()) {
                return fail(ErrorKind::conflict,
                            fmt::format("the VM would boot with other cloud-init values than those written: {}",
                                        join(problems, "; ")));
            }
            return {};
        }
        if (const auto* s = std::get_if<ResizeDiskStep>(&step)) {
            return task_started(api.resize_disk(s->node, s->vmid, s->disk, s->size), upids, index);
        }
        if (const auto* s = std::get_if<StartStep>(&step)) return task_started(api.start(s->node, s->vmid), upids, index);
        if (const auto* s = std::get_if<ShutdownStep>(&step)) {
            return task_started(api.shutdown(s->node, s->vmid, s->force_stop), upids, index);
        }
        if (const auto* s = std::get_if<StopStep>(&step)) {
            auto upid = api.stop(s->node, s->vmid);
            if (!upid && upid.error().kind == ErrorKind::not_found) return {};  // gone already: nothing to stop
            return task_started(std::move(upid), upids, index);
        }
        if (const auto* s = std::get_if<DestroyStep>(&step)) {
            auto upid = api.destroy(s->node, s->vmid);
            if (!upid && upid.error().kind == ErrorKind::not_found) return {};  // "does not exist" = destroyed
            return task_started(std::move(upid), upids, index);
        }
        if (const auto* s = std::get_if<ConfirmAbsentStep>(&step)) {
            return poll_until(change, change.node, fmt::format("VM {} still listed", s->vmid.value),
                              options_.deadlines.absent,
                              [&]() -> PollVerdict {
                                  auto vms = poll.list_vms();
                                  if (!vms) return std::unexpected(vms.error());
                                  for (const auto& vm : *vms) {
                                      if (vm.vmid == s->vmid) return std::optional<std::string>("still listed");
                                  }
                                  return std::optional<std::string>();
                              });
        }
        if (const auto* s = std::get_if<WaitIdleStep>(&step)) return wait_idle(poll, change, *s);
        return fail(ErrorKind::internal, fmt::format("unknown step {}", step_kind(step)));
    }

    Result<void> wait_task(ProxmoxApi& api, const ResourceChange& change, const WaitTaskStep& s,
                           const std::vector<std::string>& upids, SlotHold& clone_slot, ChangeReport& report,
                           std::string& detail) {
        if (s.step >= upids.size()) return fail(ErrorKind::internal, "wait_task names a step that does not exist");
        const auto& upid = upids[s.step];
        const auto& waited_for = change.steps[s.step];
        if (upid.empty()) {  // the step found nothing to do (a VM already gone) and started no task
            if (std::holds_alternative<CloneStep>(waited_for)) clone_slot.release();
            return {};
        }
        auto node = upid_node(upid);
        if (!node) return std::unexpected(node.error());
        std::optional<PollEnd> ended;
        auto status =
            wait_for_task(api, *node, upid, clock_, clock_.now() + deadline_for(waited_for), poll_options(), &ended);
        if (ended == PollEnd::out_of_reach) mark_out_of_reach(change, *node);
        if (std::holds_alternative<CloneStep>(waited_for)) clone_slot.release();
        if (!status) return std::unexpected(status.error());
        if (status->exitstatus != "OK") {
            std::string warning = fmt::format("task {} ended with {}", upid, status->exitstatus);
            for (const auto& line : status->log) warning += "\n" + line;
            logger_.warn("{}: {}", change.address, warning);
            detail = fmt::format("{} (task log kept)", status->exitstatus);
            report.warnings.push_back(std::move(warning));
        }
        return {};
    }

    // Work of an earlier run: waits until the VM has no lock and no task runs
    // for it. Tasks are read before the config in every poll, so a lock seen
    // after every task has ended has no task behind it: a judgeable lock
    // (clone, create) seen so twice in a row is stale, and the wait ends with
    // what to do instead of lasting until the deadline.
    Result<void> wait_idle(ProxmoxApi& poll, const ResourceChange& change, const WaitIdleStep& s) {
        int stale_polls = 0;
        return poll_until(
            change, s.node, fmt::format("work in flight on VM {}", s.vmid.value), options_.deadlines.idle,
            [&]() -> PollVerdict {
                std::vector<std::string> busy;
                // Tasks named in the plan, the VM's own active tasks, and for a
                // clone the template's (a clone's task names its source VMID).
                for (const auto& upid : s.tasks) {
                    auto node = upid_node(upid);
                    if (!node) continue;
                    auto status = poll.task_status(*node, upid);
                    if (!status) {
                        if (status.error().transient()) return std::unexpected(status.error());
                        continue;  // no such task any more: it has ended
                    }
                    if (status->running) busy.push_back(fmt::format("task {} running", upid));
                }
                auto tasks = poll.active_tasks(s.node, s.vmid);
                if (!tasks) return std::unexpected(tasks.error());
                for (const auto& task : *tasks) {
                    if (task.status == "running" || task.status.empty()) {
                        busy.push_back(fmt::format("task {} running", task.upid));
                    }
                }
                bool source_read = false;
                if (s.clone_source) {
                    auto source_tasks = poll.active_tasks(s.node, *s.clone_source);
                    if (!source_tasks) return std::unexpected(source_tasks.error());
                    source_read = true;
                    for (const auto& task : *source_tasks) {
                        if ((task.status == "running" || task.status.empty()) && task.type == "qmclone") {
                            busy.push_back(fmt::format("clone task {} running", task.upid));
                        }
                    }
                }
                auto config = poll.get_config(s.node, s.vmid);
                std::optional<std::string> lock;
                if (config) {
                    lock = lock_in(*config);
                } else if (config.error().kind != ErrorKind::not_found) {
                    return std::unexpected(config.error());
                }
                if (lock && busy.empty() && lock_is_judgeable(*lock) && (*lock != "clone" || source_read)) {
                    if (++stale_polls >= 2) {
                        return fail(ErrorKind::conflict, stale_lock_message(s.node, s.vmid, *lock));
                    }
                } else {
                    stale_polls = 0;
                }
                if (lock) busy.push_back(fmt::format("lock: {}", *lock));
                if (busy.empty()) return std::optional<std::string>();
                std::sort(busy.begin(), busy.end());
                busy.erase(std::unique(busy.begin(), busy.end()), busy.end());
                return std::optional<std::string>(join(busy, ", "));
            });
    }

    // After an in-service nameserver's change: its VM must be running before
    // the next one is touched.
    Result<void> wait_running(const ResourceChange& change) {
        ProxmoxApi& poll = apis_.at(change.cluster)->without_retries();
        auto result = poll_until(change, change.node, fmt::format("{} is not running again", change.address),
                                 options_.deadlines.running,
                                 [&]() -> PollVerdict {
                                     auto vms = poll.list_vms();
                                     if (!vms) return std::unexpected(vms.error());
                                     for (const auto& vm : *vms) {
                                         if (vm.vmid != change.vmid) continue;
                                         if (vm.status == "running") return std::optional<std::string>();
                                         return std::optional<std::string>(fmt::format("status {}", vm.status));
                                     }
                                     return std::optional<std::string>("not listed");
                                 });
        if (!result) return std::unexpected(result.error().within("before the next nameserver"));
        return {};
    }

    const Plan& plan_;
    const ClusterApis& apis_;
    Clock& clock_;
    spdlog::logger& logger_;
    const ExecuteOptions& options_;
    const ProgressSink& progress_;
    Clock::time_point start_{};
    std::mutex progress_mutex_;
    std::map<std::string, std::unique_ptr<CloneSlots>> slots_;
    std::mutex reach_mutex_;
    std::map<std::string, std::string> out_of_reach_;  // cluster/node -> why it is not tried any more
};

}  // namespace

std::string format_progress(const ProgressEvent& event) {
    // Node names, task logs and API messages come from outside: escaped.
    std::string head = fmt::format("[{:7.1f}s] {} {}/{} {}", seconds(event.elapsed), escape_control(event.address),
                                   event.step + 1, event.steps, escape_control(event.what));
    switch (event.phase) {
    case StepPhase::started: return head + " ...";
    case StepPhase::done:
        return fmt::format("{}: done in {:.1f}s{}", head, seconds(event.step_elapsed),
                           event.detail.empty() ? "" : fmt::format(" ({})", escape_control(event.detail)));
    case StepPhase::failed:
        return fmt::format("{}: FAILED after {:.1f}s: {}", head, seconds(event.step_elapsed),
                           escape_control(event.detail));
    }
    return head;
}

std::string_view to_string(ChangeOutcome outcome) {
    switch (outcome) {
    case ChangeOutcome::ok: return "ok";
    case ChangeOutcome::waited: return "waited";
    case ChangeOutcome::failed: return "failed";
    case ChangeOutcome::skipped: return "skipped";
    case ChangeOutcome::interrupted: return "interrupted";
    }
    return "skipped";
}

bool ApplyReport::all_done() const {
    return std::all_of(changes.begin(), changes.end(),
                       [](const ChangeReport& c) { return c.outcome == ChangeOutcome::ok; });
}

bool ApplyReport::replan_needed() const {
    return std::any_of(changes.begin(), changes.end(), [](const ChangeReport& c) {
        return c.outcome == ChangeOutcome::waited || c.outcome == ChangeOutcome::interrupted ||
               (c.error && c.error->maybe_applied);
    });
}

int ApplyReport::count(ChangeOutcome outcome) const {
    return static_cast<int>(
        std::count_if(changes.begin(), changes.end(), [&](const ChangeReport& c) { return c.outcome == outcome; }));
}

const ChangeReport* ApplyReport::find(std::string_view address) const {
    auto it = std::find_if(changes.begin(), changes.end(), [&](const ChangeReport& c) { return c.address == address; });
    return it == changes.end() ? nullptr : &*it;
}

std::string render_apply_report(const ApplyReport& report) {
    std::size_t outcome_width = 7;
    std::size_t address_width = 0;
    std::size_t name_width = 0;
    std::size_t action_width = 0;
    for (const auto& c : report.changes) {
        outcome_width = std::max(outcome_width, to_string(c.outcome).size());
        address_width = std::max(address_width, escape_control(c.address).size());
        name_width = std::max(name_width, escape_control(c.name).size());
        action_width = std::max(action_width, describe_actions(c.actions).size());
    }
    const std::string indent(outcome_width + 4, ' ');
    std::string out = "Apply summary:\n";
    if (report.changes.empty()) out += "  nothing to do\n";
    for (const auto& c : report.changes) {
        out += fmt::format("  {:<{}}  {:<{}}  {:<{}}  {:<{}}  {}/{} steps  {:.1f}s\n", to_string(c.outcome),
                           outcome_width, escape_control(c.address), address_width, escape_control(c.name),
                           name_width, describe_actions(c.actions), action_width, c.steps_done, c.steps_total,
                           seconds(c.elapsed));
        if (c.error) {
            out += fmt::format("{}{}: {}\n", indent, c.outcome == ChangeOutcome::interrupted ? "interrupted" : "error",
                               escape_control(c.error->message));
            if (c.error->maybe_applied) {
                out += indent + "the request may have taken effect: the next run observes again before it acts, "
                                "so running apply again is safe\n";
            }
        }
        if (!c.skipped_because.empty()) out += fmt::format("{}{}\n", indent, escape_control(c.skipped_because));
        if (c.outcome == ChangeOutcome::waited) {
            out += indent + "work of an earlier run has ended: plan again to see what is left\n";
        }
        for (const auto& warning : c.warnings) {
            std::string_view rest = warning;
            bool first = true;
            while (!rest.empty()) {
                auto end = rest.find('\n');
                auto line = rest.substr(0, end);
                out += fmt::format("{}{}{}\n", indent, first ? "warning: " : "  ", escape_control(line));
                first = false;
                if (end == std::string_view::npos) break;
                rest.remove_prefix(end + 1);
            }
        }
    }
    const int interrupted = report.count(ChangeOutcome::interrupted);
    out += fmt::format("Apply: {} ok, {} failed, {} skipped, {} waited for{} ({:.1f}s).\n",
                       report.count(ChangeOutcome::ok), report.count(ChangeOutcome::failed),
                       report.count(ChangeOutcome::skipped), report.count(ChangeOutcome::waited),
                       interrupted > 0 ? fmt::format(", {} interrupted", interrupted) : std::string(),
                       seconds(report.elapsed));
    if (report.stopped) {
        out += "Stopped on request: no new step was started after the stop. Requests in flight got their answer; "
               "tasks already started were not waited for and may still be running (the next apply finds them "
               "and waits for them).\n";
    }
    return out;
}

ApplyReport execute(const Plan& plan, const ClusterApis& apis, Clock& clock, spdlog::logger& logger,
                    const ExecuteOptions& options, const ProgressSink& progress) {
    return Executor(plan, apis, clock, logger, options, progress).run();
}

}  // namespace dnsctl
