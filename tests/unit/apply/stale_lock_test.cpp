// A lock no task holds (pve-sim or a node restarted mid-clone): make_plan
// reports it with what to do instead of planning a wait that never ends.
#include <catch2/catch.hpp>

#include "plan/observed_state.hpp"
#include "plan/plan.hpp"
#include "unit/plan/estate_fixture.hpp"

using namespace dnsctl;
using namespace dnsctl::test;

namespace {

const PlanProblem* error_for(const Plan& plan, std::string_view address) {
    for (const auto& problem : plan.errors) {
        if (problem.address == address) return &problem;
    }
    return nullptr;
}

}  // namespace

TEST_CASE("make_plan: a half-made clone whose task is gone is a stale lock, not work in flight", "[plan][apply]") {
    Estate estate;
    auto& pa4 = estate.cluster("pa4");
    pa4.set_clone_in_flight(true);
    auto first = estate.plan();
    const auto& clone = std::get<CloneStep>(first.find("vm[pa4/102]")->steps[0]);
    REQUIRE(pa4.clone(clone.node, clone.source, clone.request));
    REQUIRE(estate.plan().find("vm[pa4/102]")->has(Action::wait));  // while the clone runs

    // The API restarts: the clone task is gone, its lock stays on the VM.
    auto half_made = pa4.vm(Vmid{102}).value();
    REQUIRE(half_made.config.at("lock") == "clone");
    pa4.finish_tasks();
    half_made.config["lock"] = "clone";
    pa4.put_vm(Vmid{102}, half_made);

    auto plan = estate.plan();
    CHECK(plan.find("vm[pa4/102]") == nullptr);
    const auto* stale = error_for(plan, "vm[pa4/102]");
    REQUIRE(stale);
    CHECK_THAT(stale->message, Catch::StartsWith("stale lock: VM 102 on node pve-pa4 is locked (clone) but no task "
                                                 "is running for it"));
    CHECK_THAT(stale->message, Catch::Contains("`qm unlock 102`"));
    CHECK_FALSE(plan.applyable());
    CHECK(plan.summary().wait == 0);
}

TEST_CASE("make_plan: a clone placeholder without the marker and without a task is a stale lock", "[plan][apply]") {
    Estate estate;
    auto& pa3 = estate.cluster("pa3");
    FakeVm placeholder = template_vm("pve-pa3");
    placeholder.is_template = false;
    placeholder.config.erase("template");
    placeholder.config["lock"] = "clone";
    pa3.put_vm(Vmid{104}, placeholder);
    auto plan = estate.plan();
    const auto* stale = error_for(plan, "vm[pa3/104]");
    REQUIRE(stale);
    CHECK_THAT(stale->message, Catch::Contains("stale lock: VM 104 on node pve-pa3 is locked (clone)"));
}

TEST_CASE("make_plan: a lock dnsctl cannot judge is still waited for", "[plan][apply]") {
    Estate estate;
    converge(estate);
    auto& pa4 = estate.cluster("pa4");
    auto vm = pa4.vm(Vmid{102}).value();
    vm.config["lock"] = "backup";  // a vzdump job of several guests lists under no VMID
    pa4.put_vm(Vmid{102}, vm);
    estate.inventory.nameservers[1].resources.memory_mib = 4096;
    auto plan = estate.plan();
    CHECK(plan.errors.empty());
    CHECK(plan.find("vm[pa4/102]")->has(Action::wait));
}

TEST_CASE("observe: a clone-locked VM's tasks include its template's clone task, which lists under the template",
          "[plan][apply]") {
    Estate estate;
    auto& pa4 = estate.cluster("pa4");
    pa4.set_clone_in_flight(true);
    auto first = estate.plan();
    const auto& clone = std::get<CloneStep>(first.find("vm[pa4/102]")->steps[0]);
    auto upid = pa4.clone(clone.node, clone.source, clone.request);
    REQUIRE(upid);
    auto observed = estate.observe();
    const auto& tasks = observed.find("pa4")->find(Vmid{102})->active_tasks;
    REQUIRE(tasks.has_value());
    REQUIRE(tasks->size() == 1);
    CHECK(tasks->front().upid == *upid);
    CHECK(tasks->front().type == "qmclone");
    // So the plan's wait names it, and apply polls it.
    auto plan = estate.plan();
    const auto& wait = std::get<WaitIdleStep>(plan.find("vm[pa4/102]")->steps[0]);
    CHECK(wait.tasks == std::vector<std::string>{*upid});
}

TEST_CASE("observe: a clone that ends between the reads is not taken for a stale lock", "[plan][apply]") {
    Estate estate;
    auto& pa4 = estate.cluster("pa4");
    pa4.set_clone_in_flight(true);
    auto first = estate.plan();
    const auto& clone = std::get<CloneStep>(first.find("vm[pa4/102]")->steps[0]);
    REQUIRE(pa4.clone(clone.node, clone.source, clone.request));
    // The clone ends after the listing and the VM's config were read (lock: clone), as its tasks
    // are asked for: observe reads configs early, in the listing's round trip, so the race is
    // placed at the tasks read, which always comes after both.
    bool ended = false;
    ClusterApis apis = estate.apis();
    struct EndsAfterConfig final : public ProxmoxApi {
        FakeProxmoxApi& inner;
        bool& ended;
        EndsAfterConfig(FakeProxmoxApi& i, bool& e) : inner(i), ended(e) {}
        Result<std::vector<NodeSummary>> list_nodes() override { return inner.list_nodes(); }
        Result<std::vector<VmSummary>> list_vms() override { return inner.list_vms(); }
        Result<VmConfig> get_config(const std::string& node, Vmid vmid) override {
            return inner.get_config(node, vmid);
        }
        Result<std::vector<CloudinitEntry>> get_cloudinit(const std::string& node, Vmid vmid) override {
            return inner.get_cloudinit(node, vmid);
        }
        Result<std::vector<TaskSummary>> active_tasks(const std::string& node, Vmid vmid) override {
            if (vmid == Vmid{102} && !ended) {
                ended = true;
                inner.finish_tasks();
            }
            return inner.active_tasks(node, vmid);
        }
        Result<std::string> clone(const std::string& n, Vmid s, const CloneRequest& r) override {
            return inner.clone(n, s, r);
        }
        Result<void> update_config(const std::string& n, Vmid v, const ConfigUpdate& u) override {
            return inner.update_config(n, v, u);
        }
        Result<std::string> resize_disk(const std::string& n, Vmid v, const std::string& d,
                                        const std::string& s) override {
            return inner.resize_disk(n, v, d, s);
        }
        Result<std::string> start(const std::string& n, Vmid v) override { return inner.start(n, v); }
        Result<std::string> shutdown(const std::string& n, Vmid v, bool f) override { return inner.shutdown(n, v, f); }
        Result<std::string> stop(const std::string& n, Vmid v) override { return inner.stop(n, v); }
        Result<std::string> destroy(const std::string& n, Vmid v) override { return inner.destroy(n, v); }
        Result<TaskStatus> task_status(const std::string& n, const std::string& u) override {
            return inner.task_status(n, u);
        }
        Result<std::vector<std::string>> task_log(const std::string& n, const std::string& u) override {
            return inner.task_log(n, u);
        }
        Result<std::string> agent_file_read(const std::string& n, Vmid v, const std::string& p) override {
            return inner.agent_file_read(n, v, p);
        }
    } racing(pa4, ended);
    apis["pa4"] = &racing;
    auto observed = observe(estate.inventory, apis, *estate.logger);
    REQUIRE(ended);
    auto plan = make_plan(estate.desired(), observed, estate.options());
    INFO((plan.errors.empty() ? std::string() : plan.errors.front().message));
    CHECK(plan.errors.empty());
    CHECK(plan.find("vm[pa4/102]")->has(Action::wait));  // the listing still said locked: wait, then plan again
}
