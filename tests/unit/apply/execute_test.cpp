#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stop_token>

#include "apply/execute.hpp"
#include "unit/apply/apply_fakes.hpp"
#include "unit/plan/estate_fixture.hpp"

using namespace dnsctl;
using namespace dnsctl::test;
using namespace dnsctl::apply_test;

namespace {

// The estate's fakes, each behind a WatchedProxmoxApi, and a record of the
// progress events.
struct Run {
    Estate& estate;
    std::map<std::string, std::unique_ptr<WatchedProxmoxApi>> watched;
    SharedFakeClock clock;
    ExecuteOptions options;
    std::mutex mutex;
    std::vector<ProgressEvent> events;

    explicit Run(Estate& e) : estate(e) {
        for (auto& [name, api] : estate.clusters) watched.emplace(name, std::make_unique<WatchedProxmoxApi>(*api));
    }
    WatchedProxmoxApi& api(const std::string& cluster) { return *watched.at(cluster); }
    ClusterApis apis() {
        ClusterApis out;
        for (auto& [name, api] : watched) out[name] = api.get();
        return out;
    }
    ApplyReport execute(const Plan& plan) {
        events.clear();
        ProgressSink sink = [this](const ProgressEvent& event) {
            std::lock_guard lock(mutex);
            events.push_back(event);
        };
        return dnsctl::execute(plan, apis(), clock, *estate.logger, options, sink);
    }
    // Addresses in the order their first step started.
    std::vector<std::string> start_order() const {
        std::vector<std::string> out;
        for (const auto& e : events) {
            if (std::find(out.begin(), out.end(), e.address) == out.end()) out.push_back(e.address);
        }
        return out;
    }
    // Whether every event of `address` comes before any event of another in `others`.
    bool finished_before(const std::string& address, const std::vector<std::string>& others) const {
        std::size_t last = 0;
        std::size_t first_other = events.size();
        for (std::size_t i = 0; i < events.size(); ++i) {
            if (events[i].address == address) last = i;
            if (std::find(others.begin(), others.end(), events[i].address) != others.end()) {
                first_other = std::min(first_other, i);
            }
        }
        return last < first_other;
    }
};

std::vector<Vmid> vmids_of(FakeProxmoxApi& api) {
    auto set = api.vmids();
    return {set.begin(), set.end()};
}

const std::vector<std::string> kNameservers = {"vm[th2/101]", "vm[pa4/102]", "vm[pa5/103]", "vm[pa3/104]"};

// Every public nameserver VM that is not running, across the estate.
int nameservers_down(Estate& estate, Vmid except = Vmid{0}) {
    int down = 0;
    const std::pair<const char*, Vmid> where[] = {
        {"th2", Vmid{101}}, {"pa4", Vmid{102}}, {"pa5", Vmid{103}}, {"pa3", Vmid{104}}};
    for (const auto& [cluster, vmid] : where) {
        if (vmid == except) continue;
        auto vm = estate.cluster(cluster).vm(vmid);
        if (!vm || vm->status != "running") ++down;
    }
    return down;
}

}  // namespace

TEST_CASE("execute: creates the reference estate, then make_plan shows no changes", "[apply]") {
    Estate estate;
    Run run(estate);
    auto plan = estate.plan();
    REQUIRE(plan.applyable());
    auto report = run.execute(plan);
    REQUIRE(report.changes.size() == 5);
    for (const auto& change : report.changes) {
        INFO(change.address << ": " << (change.error ? change.error->message : ""));
        CHECK(change.outcome == ChangeOutcome::ok);
        CHECK(change.steps_done == change.steps_total);
        CHECK(change.steps_total == 9);
    }
    CHECK(report.all_done());
    CHECK_FALSE(report.replan_needed());
    CHECK_FALSE(report.stopped);
    // One started and one done event per step.
    CHECK(run.events.size() == 2 * 5 * 9);

    auto again = estate.plan();
    CHECK(again.errors.empty());
    CHECK_FALSE(again.has_changes());
    // One VM per VMID, each carrying the marker.
    CHECK(vmids_of(estate.cluster("pa5")) == std::vector<Vmid>{Vmid{103}, Vmid{110}, Vmid{9000}});
    CHECK(estate.cluster("th2").vm(Vmid{101})->config.at("description").starts_with(
        "managed-by: dnsctl estate=rdem-prod\n"));
}

TEST_CASE("execute: a failure in one cluster leaves the other clusters done, and a re-run converges", "[apply]") {
    Estate estate;
    Run run(estate);
    estate.cluster("pa4").fail_always(ProxmoxMethod::update_config,
                                      Error{ErrorKind::internal, "unexpected error 500 on PUT config", false});
    auto report = run.execute(estate.plan());
    const auto* failed = report.find("vm[pa4/102]");
    REQUIRE(failed);
    CHECK(failed->outcome == ChangeOutcome::failed);
    CHECK(failed->steps_done == 3);  // clone, wait, confirm unlocked
    REQUIRE(failed->error);
    CHECK_THAT(failed->error->message, Catch::StartsWith("step 4/9 (configure): unexpected error 500"));
    for (const auto* address : {"vm[pa5/110]", "vm[th2/101]", "vm[pa5/103]", "vm[pa3/104]"}) {
        INFO(address);
        CHECK(report.find(address)->outcome == ChangeOutcome::ok);
    }
    CHECK_FALSE(report.all_done());
    CHECK(report.count(ChangeOutcome::failed) == 1);
    auto summary = render_apply_report(report);
    CHECK_THAT(summary, Catch::Contains("failed   vm[pa4/102]"));
    CHECK_THAT(summary, Catch::Contains("Apply: 4 ok, 1 failed, 0 skipped"));

    // The half-made VM carries the marker (from the clone request): the next
    // plan finishes it instead of cloning again.
    estate.cluster("pa4").clear_failures();
    auto replan = estate.plan();
    REQUIRE(replan.errors.empty());
    REQUIRE(replan.summary().change == 1);
    CHECK(replan.find("vm[pa4/102]")->action_reason == "update_because_unfinished");
    auto second = run.execute(replan);
    CHECK(second.all_done());
    CHECK_FALSE(estate.plan().has_changes());
    CHECK(vmids_of(estate.cluster("pa4")) == std::vector<Vmid>{Vmid{102}, Vmid{9000}});
}

TEST_CASE("execute: changes to in-service nameservers run one at a time", "[apply]") {
    Estate estate;
    converge(estate);
    for (auto& ns : estate.inventory.nameservers) ns.resources.cores = 4;
    estate.inventory.primary.resources.cores = 4;
    auto plan = estate.plan();
    REQUIRE(plan.summary().change == 5);
    for (const auto& address : kNameservers) REQUIRE(plan.find(address)->touches_in_service_nameserver);

    Run run(estate);
    int worst = 0;
    std::mutex mutex;
    for (auto& [name, api] : run.watched) {
        api->before = [&](std::string_view method, Vmid vmid) -> std::optional<Error> {
            if (method == "shutdown" || method == "stop") {
                std::lock_guard lock(mutex);
                worst = std::max(worst, nameservers_down(estate, vmid) + (vmid == Vmid{110} ? 0 : 1));
            }
            return std::nullopt;
        };
    }
    auto report = run.execute(plan);
    CHECK(report.all_done());
    CHECK(worst == 1);  // never more than one public nameserver out of service
    CHECK(run.start_order() == std::vector<std::string>{"vm[pa5/110]", "vm[th2/101]", "vm[pa4/102]",
                                                        "vm[pa5/103]", "vm[pa3/104]"});
    for (std::size_t i = 0; i + 1 < kNameservers.size(); ++i) {
        CHECK(run.finished_before(kNameservers[i], {kNameservers.begin() + static_cast<long>(i) + 1,
                                                    kNameservers.end()}));
    }
    CHECK_FALSE(estate.plan().has_changes());
}

TEST_CASE("execute: a failure in the one-at-a-time sequence stops it", "[apply]") {
    Estate estate;
    converge(estate);
    for (auto& ns : estate.inventory.nameservers) ns.resources.cores = 4;
    auto plan = estate.plan();
    Run run(estate);
    estate.cluster("pa4").set_next_task_exitstatus(ProxmoxMethod::start, "start failed: QEMU exited with code 1");
    auto report = run.execute(plan);
    CHECK(report.find("vm[th2/101]")->outcome == ChangeOutcome::ok);
    const auto* failed = report.find("vm[pa4/102]");
    CHECK(failed->outcome == ChangeOutcome::failed);
    CHECK_THAT(failed->error->message, Catch::Contains("start failed: QEMU exited with code 1"));
    for (const auto* address : {"vm[pa5/103]", "vm[pa3/104]"}) {
        const auto* skipped = report.find(address);
        CHECK(skipped->outcome == ChangeOutcome::skipped);
        CHECK(skipped->steps_done == 0);
        CHECK_THAT(skipped->skipped_because, Catch::Contains("vm[pa4/102] failed"));
    }
    // Untouched: still running with the old settings.
    CHECK(estate.cluster("pa5").vm(Vmid{103})->status == "running");
    CHECK(estate.cluster("pa5").vm(Vmid{103})->config.at("cores") == "2");
    CHECK(nameservers_down(estate) == 1);

    // The next run starts the stopped one (no longer in service) and carries on.
    auto replan = estate.plan();
    CHECK(replan.find("vm[pa4/102]")->action_reason == "start_because_stopped");
    auto second = run.execute(replan);
    CHECK(second.all_done());
    CHECK_FALSE(estate.plan().has_changes());
}

TEST_CASE("execute: a failed primary skips the in-service sequence but not other clusters' creations",
          "[apply]") {
    Estate estate;
    converge(estate);
    estate.inventory.primary.resources.cores = 4;         // a restart of the primary
    estate.cluster("th2").remove_vm(Vmid{101});           // th2: a creation
    estate.inventory.nameservers[1].resources.cores = 4;  // pa4: an in-service restart
    auto plan = estate.plan();
    REQUIRE(plan.find("vm[th2/101]")->has(Action::create));
    REQUIRE(plan.find("vm[pa4/102]")->touches_in_service_nameserver);
    Run run(estate);
    estate.cluster("pa5").fail_always(ProxmoxMethod::shutdown,
                                      Error{ErrorKind::denied, "Permission check failed (VM.PowerMgmt)", false});
    auto report = run.execute(plan);
    CHECK(report.find("vm[pa5/110]")->outcome == ChangeOutcome::failed);
    CHECK(report.find("vm[th2/101]")->outcome == ChangeOutcome::ok);
    CHECK(report.find("vm[pa4/102]")->outcome == ChangeOutcome::skipped);
    CHECK_THAT(report.find("vm[pa4/102]")->skipped_because, Catch::Contains("hidden primary"));
}

TEST_CASE("execute: a request that may have been applied stops that change, and the re-run makes no duplicate",
          "[apply]") {
    Estate estate;
    Run run(estate);
    run.api("pa3").lose_next_answer(ProxmoxMethod::clone);  // the clone happens; its answer is lost
    auto report = run.execute(estate.plan());
    const auto* lost = report.find("vm[pa3/104]");
    REQUIRE(lost);
    CHECK(lost->outcome == ChangeOutcome::failed);
    CHECK(lost->steps_done == 0);
    REQUIRE(lost->error);
    CHECK(lost->error->maybe_applied);
    CHECK(report.replan_needed());
    CHECK(report.count(ChangeOutcome::ok) == 4);
    CHECK_THAT(render_apply_report(report), Catch::Contains("may have taken effect"));

    // The clone did happen: the next plan finishes that VM instead of cloning again.
    auto replan = estate.plan();
    const auto* change = replan.find("vm[pa3/104]");
    REQUIRE(change);
    CHECK(change->action_reason == "update_because_unfinished");
    CHECK_FALSE(std::holds_alternative<CloneStep>(change->steps.front()));
    CHECK(run.execute(replan).all_done());
    CHECK_FALSE(estate.plan().has_changes());
    CHECK(vmids_of(estate.cluster("pa3")) == std::vector<Vmid>{Vmid{104}, Vmid{9000}});
}

TEST_CASE("execute: a configuration whose answer was lost is not resent, the next plan checks it", "[apply]") {
    Estate estate;
    Run run(estate);
    run.api("th2").lose_next_answer(ProxmoxMethod::update_config);
    auto report = run.execute(estate.plan());
    const auto* lost = report.find("vm[th2/101]");
    CHECK(lost->outcome == ChangeOutcome::failed);
    CHECK(lost->steps_done == 3);
    CHECK(lost->error->maybe_applied);
    CHECK(estate.cluster("th2").calls(ProxmoxMethod::update_config) == 1);
    // It was applied: all that is left is the disk and the start.
    auto replan = estate.plan();
    const auto* change = replan.find("vm[th2/101]");
    CHECK(change->changed_attributes() == std::vector<std::string>{"scsi0_size", "status"});
    CHECK(run.execute(replan).all_done());
    CHECK_FALSE(estate.plan().has_changes());
}

TEST_CASE("execute: a task ending with WARNINGS counts as success and its log is kept", "[apply]") {
    Estate estate;
    Run run(estate);
    estate.cluster("pa3").set_next_task_exitstatus(ProxmoxMethod::start, "WARNINGS: 1");
    auto report = run.execute(estate.plan());
    const auto* change = report.find("vm[pa3/104]");
    REQUIRE(change);
    CHECK(change->outcome == ChangeOutcome::ok);
    REQUIRE(change->warnings.size() == 1);
    CHECK_THAT(change->warnings[0], Catch::StartsWith("task UPID:pve-pa3:"));
    CHECK_THAT(change->warnings[0], Catch::Contains("ended with WARNINGS: 1\nTASK OK"));
    CHECK(estate.cluster("pa3").calls(ProxmoxMethod::task_log) == 1);
    auto summary = render_apply_report(report);
    CHECK_THAT(summary, Catch::Contains("warning: task UPID:pve-pa3:"));
    bool progress_says_so = std::any_of(run.events.begin(), run.events.end(), [](const ProgressEvent& e) {
        return e.address == "vm[pa3/104]" && e.phase == StepPhase::done && e.detail == "WARNINGS: 1 (task log kept)";
    });
    CHECK(progress_says_so);
    CHECK(report.all_done());
}

TEST_CASE("execute: clones are serialised per node unless configured otherwise", "[apply]") {
    Estate estate;
    // Two more nameservers on cluster pa3's node: three clones there.
    auto extra = estate.inventory.nameservers[3];
    extra.fqdn = DnsName::parse("ns-extra.rdem-systems.net").value();
    extra.vmid = Vmid{105};
    estate.inventory.nameservers.push_back(extra);
    extra.fqdn = DnsName::parse("ns-extra2.rdem-systems.net").value();
    extra.vmid = Vmid{106};
    estate.inventory.nameservers.push_back(extra);
    auto plan = estate.plan();
    REQUIRE(plan.summary().add == 7);

    SECTION("one clone at a time by default") {
        Run run(estate);
        run.api("pa3").clone_polls = 5;
        auto report = run.execute(plan);
        CHECK(report.all_done());
        CHECK(run.api("pa3").max_concurrent_clones() == 1);
    }
    SECTION("a limit of three lets them overlap") {
        Run run(estate);
        run.options.clones_per_node = 3;
        run.api("pa3").hold_clone_tasks = true;
        // The clone tasks keep running until all three run at once (with a
        // lower limit, they would stay held until the clone deadline).
        run.clock.on_sleep = [&] {
            if (run.api("pa3").max_concurrent_clones() == 3) run.api("pa3").hold_clone_tasks = false;
        };
        auto report = run.execute(plan);
        CHECK(report.all_done());
        CHECK(run.api("pa3").max_concurrent_clones() == 3);
    }
    CHECK_FALSE(estate.plan().has_changes());
}

TEST_CASE("execute: work in flight is waited for, then a new plan finishes it", "[apply]") {
    Estate estate;
    auto& pa3 = estate.cluster("pa3");
    pa3.set_clone_in_flight(true);
    auto first = estate.plan();
    const auto& clone = std::get<CloneStep>(first.find("vm[pa3/104]")->steps[0]);
    REQUIRE(pa3.clone(clone.node, clone.source, clone.request));  // an earlier run's clone, still running
    auto plan = estate.plan();
    REQUIRE(plan.find("vm[pa3/104]")->has(Action::wait));

    Run run(estate);
    int polls = 0;
    run.clock.on_sleep = [&] {
        if (++polls == 3) pa3.finish_tasks();
    };
    auto report = run.execute(plan);
    const auto* waited = report.find("vm[pa3/104]");
    CHECK(waited->outcome == ChangeOutcome::waited);
    CHECK(report.replan_needed());
    CHECK_FALSE(report.all_done());
    CHECK(report.count(ChangeOutcome::ok) == 4);
    CHECK(polls >= 3);
    run.clock.on_sleep = nullptr;

    pa3.set_clone_in_flight(false);
    auto replan = estate.plan();
    CHECK(replan.find("vm[pa3/104]")->action_reason == "update_because_unfinished");
    CHECK(run.execute(replan).all_done());
    CHECK_FALSE(estate.plan().has_changes());
    CHECK(vmids_of(pa3) == std::vector<Vmid>{Vmid{104}, Vmid{9000}});
}

TEST_CASE("execute: a VM that stays locked fails at the deadline without sleeping for real", "[apply]") {
    Estate estate;
    Run run(estate);
    run.api("pa4").keep_locked(Vmid{102}, "clone");
    run.options.deadlines.unlock = std::chrono::minutes(2);
    run.options.poll_interval = std::chrono::seconds(5);
    auto report = run.execute(estate.plan());
    const auto* change = report.find("vm[pa4/102]");
    CHECK(change->outcome == ChangeOutcome::failed);
    CHECK(change->steps_done == 2);
    CHECK(change->error->kind == ErrorKind::unavailable);
    CHECK_THAT(change->error->message, Catch::Contains("step 3/9 (confirm_unlocked): VM 102 still locked: gave up "
                                                       "after 120s (lock: clone)"));
    CHECK(estate.cluster("pa4").calls(ProxmoxMethod::update_config) == 0);
    CHECK(report.count(ChangeOutcome::ok) == 4);
}

TEST_CASE("execute: destroys and replaces, treating a VM already gone as destroyed", "[apply]") {
    Estate estate;
    converge(estate);
    auto options = estate.options();
    options.replace.insert("vm[pa3/104]");
    auto plan = estate.plan(options);
    REQUIRE(plan.find("vm[pa3/104]")->touches_in_service_nameserver);
    Run run(estate);
    SECTION("the VM is there") {}
    SECTION("someone removed it between plan and apply: stop and destroy find nothing") {
        estate.cluster("pa3").remove_vm(Vmid{104});
    }
    auto report = run.execute(plan);
    INFO(render_apply_report(report));
    CHECK(report.all_done());
    CHECK_FALSE(estate.plan().has_changes());
}

TEST_CASE("execute: a plan with errors or an incomplete cluster is not carried out", "[apply]") {
    Estate estate;
    SECTION("incomplete") {
        estate.cluster("pa4").set_node_reachable("pve-pa4", false);
    }
    SECTION("errors") {
        FakeVm foreign = template_vm("pve-th2");
        foreign.is_template = false;
        foreign.config.erase("template");
        estate.cluster("th2").put_vm(Vmid{101}, foreign);
    }
    auto plan = estate.plan();
    REQUIRE_FALSE(plan.applyable());
    Run run(estate);
    auto report = run.execute(plan);
    CHECK(run.events.empty());
    for (const auto& change : report.changes) {
        CHECK(change.outcome == ChangeOutcome::skipped);
        CHECK_THAT(change.skipped_because, Catch::Contains("nothing was applied"));
    }
    for (auto& [name, api] : estate.clusters) {
        CHECK(api->calls(ProxmoxMethod::clone) == 0);
    }
}

TEST_CASE("format_progress: one line per step with elapsed times", "[apply]") {
    ProgressEvent event;
    event.address = "vm[th2/101]";
    event.step = 0;
    event.steps = 9;
    event.what = "clone template 9000 on pve-th2 as VM 101 (full clone)";
    event.phase = StepPhase::done;
    event.step_elapsed = std::chrono::milliseconds(420);
    event.elapsed = std::chrono::milliseconds(12'345);
    CHECK(format_progress(event) ==
          "[   12.3s] vm[th2/101] 1/9 clone template 9000 on pve-th2 as VM 101 (full clone): done in 0.4s");
    event.phase = StepPhase::failed;
    event.detail = "VM 101 already exists";
    CHECK(format_progress(event) == "[   12.3s] vm[th2/101] 1/9 clone template 9000 on pve-th2 as VM 101 (full "
                                    "clone): FAILED after 0.4s: VM 101 already exists");
}

namespace {

// Whether every listed VM of the estate exists and runs.
bool all_running(Estate& estate, const std::vector<std::pair<const char*, Vmid>>& vms) {
    return std::all_of(vms.begin(), vms.end(), [&](const auto& entry) {
        auto vm = estate.cluster(entry.first).vm(entry.second);
        return vm && vm->status == "running";
    });
}

const std::vector<std::pair<const char*, Vmid>> kOtherClusters = {
    {"th2", Vmid{101}}, {"pa4", Vmid{102}}, {"pa3", Vmid{104}}};

}  // namespace

TEST_CASE("execute: the primary's creation does not hold up the other clusters' creations", "[apply]") {
    Estate estate;
    Run run(estate);
    // The primary's clone (and pa5's other one) keeps running until every
    // other cluster's VM has been created and started.
    run.api("pa5").hold_clone_tasks = true;
    run.clock.on_sleep = [&] {
        if (all_running(estate, kOtherClusters)) run.api("pa5").hold_clone_tasks = false;
    };
    auto report = run.execute(estate.plan());
    INFO(render_apply_report(report));
    CHECK(report.all_done());
    CHECK(report.find("vm[pa5/110]")->outcome == ChangeOutcome::ok);
    // The others started before the primary's change ended.
    CHECK_FALSE(run.finished_before("vm[pa5/110]", {"vm[th2/101]", "vm[pa4/102]", "vm[pa3/104]"}));
    // Before the clone deadline (the shared fake clock runs as fast as the
    // threads poll: only the deadline is a fixed bound).
    CHECK(report.elapsed < std::chrono::minutes(30));
    CHECK_FALSE(estate.plan().has_changes());
}

TEST_CASE("execute: a node lost mid-apply ends its cluster's changes within the retry budget, the others finish",
          "[apply]") {
    Estate estate;
    Run run(estate);
    run.options.failure_budget = std::chrono::minutes(2);
    // pa5's node (the primary's) goes away once its first clone has started.
    run.api("pa5").hold_clone_tasks = true;
    run.clock.on_sleep = [&] {
        if (estate.cluster("pa5").calls(ProxmoxMethod::clone) > 0) estate.cluster("pa5").set_node_reachable("pve-pa5", false);
    };
    auto report = run.execute(estate.plan());
    INFO(render_apply_report(report));
    for (const auto* address : {"vm[th2/101]", "vm[pa4/102]", "vm[pa3/104]"}) {
        INFO(address);
        CHECK(report.find(address)->outcome == ChangeOutcome::ok);
    }
    // Whichever pa5 clone got the node's clone slot first lost its task's
    // node after the retry budget; the other is not tried (a second budget
    // on the same node would only make the run longer).
    std::multiset<ChangeOutcome> outcomes;
    for (const auto* address : {"vm[pa5/110]", "vm[pa5/103]"}) {
        INFO(address);
        const auto* lost = report.find(address);
        outcomes.insert(lost->outcome);
        if (lost->outcome == ChangeOutcome::failed) {
            REQUIRE(lost->error);
            CHECK_THAT(lost->error->message, Catch::Contains("step 2/9 (wait_task): task UPID:pve-pa5:"));
            CHECK_THAT(lost->error->message, Catch::Contains("node pve-pa5 did not answer for 120s"));
            CHECK_THAT(lost->error->message, Catch::Contains("595 No route to host"));
            CHECK(lost->error->maybe_applied);
        } else {
            CHECK_THAT(lost->skipped_because,
                       Catch::StartsWith("not started: node pve-pa5 of cluster pa5 is out of reach"));
        }
    }
    CHECK(outcomes == std::multiset<ChangeOutcome>{ChangeOutcome::failed, ChangeOutcome::skipped});
    // Within the retry budget (and some), far from the 30-minute clone deadline.
    CHECK(report.elapsed <= std::chrono::minutes(3));

    // The node comes back: the next run finishes pa5 without duplicates.
    run.clock.on_sleep = nullptr;
    run.api("pa5").hold_clone_tasks = false;
    estate.cluster("pa5").set_node_reachable("pve-pa5", true);
    auto again = run.execute(estate.plan());
    INFO(render_apply_report(again));
    CHECK(again.all_done());
    CHECK_FALSE(estate.plan().has_changes());
    CHECK(vmids_of(estate.cluster("pa5")) == std::vector<Vmid>{Vmid{103}, Vmid{110}, Vmid{9000}});
}

TEST_CASE("execute: at most parallel_changes changes are under way, and every cluster gets its turn", "[apply]") {
    Estate estate;
    // Two more nameservers on pa3, first in plan order after the primary.
    auto extra = estate.inventory.nameservers[3];
    auto& nameservers = estate.inventory.nameservers;
    extra.fqdn = DnsName::parse("ns-extra.rdem-systems.net").value();
    extra.vmid = Vmid{105};
    nameservers.insert(nameservers.begin(), extra);
    extra.fqdn = DnsName::parse("ns-extra2.rdem-systems.net").value();
    extra.vmid = Vmid{106};
    nameservers.insert(nameservers.begin() + 1, extra);
    auto plan = estate.plan();
    REQUIRE(plan.summary().add == 7);
    REQUIRE(plan.changes[1].address == "vm[pa3/105]");

    Run run(estate);
    run.options.parallel_changes = 2;
    // Every clone task runs for a few polls, so changes overlap in time
    // (the fakes answer at once otherwise).
    for (const auto* cluster : {"th2", "pa4", "pa5", "pa3"}) run.api(cluster).clone_polls = 4;
    // pa3's clones hang until every other cluster is done: a pool that took
    // changes in plan order would spend both workers on pa3 and wait there
    // until the clone deadline.
    run.api("pa3").hold_clone_tasks = true;
    run.clock.on_sleep = [&] {
        if (all_running(estate, {{"pa5", Vmid{110}}, {"th2", Vmid{101}}, {"pa4", Vmid{102}}, {"pa5", Vmid{103}}})) {
            run.api("pa3").hold_clone_tasks = false;
        }
    };
    auto report = run.execute(plan);
    INFO(render_apply_report(report));
    CHECK(report.all_done());
    // Before the clone deadline (the shared fake clock runs as fast as the
    // threads poll: only the deadline is a fixed bound).
    CHECK(report.elapsed < std::chrono::minutes(30));

    // Changes under way at once, from the progress events.
    std::map<std::string, std::size_t> last_event;
    for (std::size_t i = 0; i < run.events.size(); ++i) last_event[run.events[i].address] = i;
    std::set<std::string> under_way;
    std::size_t most = 0;
    for (std::size_t i = 0; i < run.events.size(); ++i) {
        under_way.insert(run.events[i].address);
        most = std::max(most, under_way.size());
        if (last_event[run.events[i].address] == i) under_way.erase(run.events[i].address);
    }
    CHECK(most == 2);
    CHECK_FALSE(estate.plan().has_changes());
}

TEST_CASE("execute: a stop request starts no new step, does not wait for tasks, and reports what was done",
          "[apply]") {
    Estate estate;
    Run run(estate);
    std::stop_source stop;
    run.options.stop = stop.get_token();
    // pa3's clone keeps running; once every other VM is up, the operator
    // presses Ctrl-C.
    run.api("pa3").hold_clone_tasks = true;
    run.clock.on_sleep = [&] {
        if (all_running(estate, {{"pa5", Vmid{110}}, {"th2", Vmid{101}}, {"pa4", Vmid{102}}, {"pa5", Vmid{103}}})) {
            stop.request_stop();
        }
    };
    auto report = run.execute(estate.plan());
    auto summary = render_apply_report(report);
    INFO(summary);
    CHECK(report.stopped);
    CHECK(report.count(ChangeOutcome::ok) == 4);
    const auto* cut = report.find("vm[pa3/104]");
    CHECK(cut->outcome == ChangeOutcome::interrupted);
    CHECK(cut->steps_done == 1);  // the clone request; its task was not waited for
    REQUIRE(cut->error);
    CHECK_THAT(cut->error->message, Catch::Contains("step 2/9 (wait_task)"));
    CHECK_THAT(cut->error->message, Catch::Contains("not waited for: apply is stopping"));
    CHECK_THAT(cut->error->message, Catch::Contains("may still be running"));
    CHECK(estate.cluster("pa3").calls(ProxmoxMethod::update_config) == 0);  // no step after the stop
    CHECK(report.replan_needed());
    CHECK_THAT(summary, Catch::Contains("interrupted  vm[pa3/104]"));
    CHECK_THAT(summary, Catch::Contains("Apply: 4 ok, 0 failed, 0 skipped, 0 waited for, 1 interrupted"));
    CHECK_THAT(summary, Catch::Contains("Stopped on request"));
    // Before the clone deadline (the shared fake clock runs as fast as the
    // threads poll: only the deadline is a fixed bound).
    CHECK(report.elapsed < std::chrono::minutes(30));

    // The next run finishes the VM (the clone had happened) without a duplicate.
    run.clock.on_sleep = nullptr;
    run.api("pa3").hold_clone_tasks = false;
    run.options.stop = {};
    auto replan = estate.plan();
    CHECK(replan.find("vm[pa3/104]")->action_reason == "update_because_unfinished");
    CHECK(run.execute(replan).all_done());
    CHECK_FALSE(estate.plan().has_changes());
    CHECK(vmids_of(estate.cluster("pa3")) == std::vector<Vmid>{Vmid{104}, Vmid{9000}});
}

TEST_CASE("execute: a stop between steps stops before the next one, and unstarted changes are skipped", "[apply]") {
    Estate estate;
    converge(estate);
    for (auto& ns : estate.inventory.nameservers) ns.resources.cores = 4;  // four one-at-a-time restarts
    auto plan = estate.plan();
    Run run(estate);
    std::stop_source stop;
    run.options.stop = stop.get_token();
    // Stop as th2's VM is configured (step 2 of shutdown, wait, configure, …).
    run.api("th2").before = [&](std::string_view method, Vmid) -> std::optional<Error> {
        if (method == "update_config") stop.request_stop();
        return std::nullopt;
    };
    auto report = run.execute(plan);
    INFO(render_apply_report(report));
    const auto* cut = report.find("vm[th2/101]");
    CHECK(cut->outcome == ChangeOutcome::interrupted);
    CHECK(cut->steps_done == 3);  // shutdown, its wait, and the configure in flight got its answer
    CHECK_THAT(cut->error->message, Catch::StartsWith("stopped before step 4/"));
    CHECK_THAT(cut->error->message, Catch::Contains("stays stopped (out of service) until the next apply starts it"));
    for (const auto* address : {"vm[pa4/102]", "vm[pa5/103]", "vm[pa3/104]"}) {
        INFO(address);
        CHECK(report.find(address)->outcome == ChangeOutcome::skipped);
        CHECK(report.find(address)->skipped_because == "not started: apply was stopped (SIGINT/SIGTERM)");
    }
    CHECK(estate.cluster("pa4").calls(ProxmoxMethod::shutdown) == 0);
}

TEST_CASE("execute: a stop requested before execute starts nothing", "[apply]") {
    Estate estate;
    Run run(estate);
    std::stop_source stop;
    stop.request_stop();
    run.options.stop = stop.get_token();
    auto report = run.execute(estate.plan());
    CHECK(report.stopped);
    CHECK(run.events.empty());
    CHECK(report.count(ChangeOutcome::skipped) == 5);
    for (auto& [name, api] : estate.clusters) CHECK(api->calls(ProxmoxMethod::clone) == 0);
}

TEST_CASE("execute: a change waiting for a clone slot when apply stops is skipped, not started", "[apply]") {
    Estate estate;
    auto extra = estate.inventory.nameservers[3];
    extra.fqdn = DnsName::parse("ns-extra.rdem-systems.net").value();
    extra.vmid = Vmid{105};
    estate.inventory.nameservers.push_back(extra);
    auto plan = estate.plan();
    Run run(estate);
    std::stop_source stop;
    run.options.stop = stop.get_token();
    run.api("pa3").hold_clone_tasks = true;  // 104's clone holds pa3's only clone slot
    run.clock.on_sleep = [&] {
        if (all_running(estate, {{"pa5", Vmid{110}}, {"th2", Vmid{101}}, {"pa4", Vmid{102}}, {"pa5", Vmid{103}}})) {
            stop.request_stop();
        }
    };
    auto report = run.execute(plan);
    INFO(render_apply_report(report));
    // Whichever of the two got the slot was cut while its clone ran; the
    // other never sent anything.
    std::multiset<ChangeOutcome> outcomes = {report.find("vm[pa3/104]")->outcome,
                                             report.find("vm[pa3/105]")->outcome};
    CHECK(outcomes == std::multiset<ChangeOutcome>{ChangeOutcome::skipped, ChangeOutcome::interrupted});
    CHECK(estate.cluster("pa3").calls(ProxmoxMethod::clone) == 1);
}

TEST_CASE("execute: a clone lock left without a task ends the wait with what to do, not at the deadline",
          "[apply]") {
    Estate estate;
    auto& pa3 = estate.cluster("pa3");
    pa3.set_clone_in_flight(true);
    auto first = estate.plan();
    const auto& clone = std::get<CloneStep>(first.find("vm[pa3/104]")->steps[0]);
    REQUIRE(pa3.clone(clone.node, clone.source, clone.request));  // an earlier run's clone, still running
    auto plan = estate.plan();
    REQUIRE(plan.find("vm[pa3/104]")->has(Action::wait));

    // Then the API restarts: the task is gone, the lock stays.
    Run run(estate);
    pa3.finish_tasks();
    run.api("pa3").keep_locked(Vmid{104}, "clone");
    auto report = run.execute(plan);
    const auto* change = report.find("vm[pa3/104]");
    INFO(render_apply_report(report));
    CHECK(change->outcome == ChangeOutcome::failed);
    REQUIRE(change->error);
    CHECK(change->error->kind == ErrorKind::conflict);
    CHECK_THAT(change->error->message, Catch::Contains("stale lock: VM 104 on node pve-pa3 is locked (clone)"));
    CHECK_THAT(change->error->message, Catch::Contains("qm unlock 104"));
    CHECK(report.elapsed < std::chrono::minutes(10));  // not the 30-minute wait
}

TEST_CASE("execute: a lock that belongs to a running clone of the template is waited for, not called stale",
          "[apply]") {
    Estate estate;
    auto& pa3 = estate.cluster("pa3");
    pa3.set_clone_in_flight(true);
    auto first = estate.plan();
    const auto& clone = std::get<CloneStep>(first.find("vm[pa3/104]")->steps[0]);
    REQUIRE(pa3.clone(clone.node, clone.source, clone.request));
    auto plan = estate.plan();
    const auto* change = plan.find("vm[pa3/104]");
    REQUIRE(change->has(Action::wait));
    CHECK(std::get<WaitIdleStep>(change->steps[0]).clone_source == Vmid{9000});

    Run run(estate);
    int polls = 0;
    run.clock.on_sleep = [&] {
        if (++polls == 6) pa3.finish_tasks();
    };
    auto report = run.execute(plan);
    INFO(render_apply_report(report));
    CHECK(report.find("vm[pa3/104]")->outcome == ChangeOutcome::waited);
}
