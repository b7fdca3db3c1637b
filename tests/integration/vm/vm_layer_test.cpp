// `dnsctl plan` and `dnsctl apply` (the built binary) against pve-sim serving
// the four example clusters over HTTPS, each certificate pinned. The
// inventory is examples/sim/inventory.yaml pointed at this test's pve-sim.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <signal.h>

#include <chrono>
#include <thread>

#include "sim_estate.hpp"

using namespace dnsctl;
using namespace dnsctl::vm_test;
using namespace std::chrono_literals;

TEST_CASE("plan shows the five VMs to add on empty clusters, apply creates them, plan then shows no changes") {
    SimEstate estate;
    auto first = estate.plan();
    INFO(first.both());
    CHECK(first.exit_code == 0);
    CHECK(contains(first.out, "Plan: 5 to add, 0 to change, 0 to destroy."));
    for (const auto* address : {"vm[pa5/5300]", "vm[th2/5301]", "vm[pa4/5302]", "vm[pa5/5303]", "vm[pa3/5304]"}) {
        CHECK(contains(first.out, fmt::format("# {} will be created", address)));
    }
    CHECK(estate.plan({"--detailed-exitcode"}).exit_code == 2);
    CHECK(estate.vmids()["th2"] == std::vector<int>{9000});  // plan changed nothing

    auto applied = estate.apply_yes();
    INFO(applied.both());
    CHECK(applied.exit_code == 0);
    CHECK(contains(applied.out, "Apply: 5 ok, 0 failed, 0 skipped"));
    CHECK(contains(applied.out, "Verified: observed again, the VMs match the inventory."));
    estate.expect_exactly_the_estate();

    auto second = estate.plan({"--detailed-exitcode"});
    INFO(second.both());
    CHECK(second.exit_code == 0);
    CHECK(contains(second.out, "No changes. Your estate matches the inventory."));
}

TEST_CASE("raising cores in the inventory plans one in-place update, and apply makes it") {
    SimEstate estate;
    estate.converge();
    estate.write_inventory({{"    vmid: 5302\n", "    vmid: 5302\n    resources: {cores: 4}\n"}});
    auto plan = estate.plan({"--detailed-exitcode"});
    INFO(plan.both());
    CHECK(plan.exit_code == 2);
    CHECK(contains(plan.out, "Plan: 0 to add, 1 to change, 0 to destroy."));
    CHECK(contains(plan.out, "# vm[pa4/5302] will be updated in-place"));
    CHECK(contains(plan.out, "~ cores = 2 -> 4"));
    auto applied = estate.apply_yes();
    INFO(applied.both());
    CHECK(applied.exit_code == 0);
    auto config = estate.client("pa4")->get_config("pve-pa4-1", Vmid{5302});
    REQUIRE(config);
    CHECK(config->at("cores") == "4");
    CHECK(estate.plan({"--detailed-exitcode"}).exit_code == 0);
}

TEST_CASE("a VM config edited behind dnsctl's back shows as drift and apply corrects it") {
    SimEstate estate;
    estate.converge();
    ConfigUpdate edit;
    edit.set = {{"cores", "1"}, {"onboot", "0"}};
    REQUIRE(estate.client("th2")->update_config("pve-th2-1", Vmid{5301}, edit));
    auto plan = estate.plan({"--detailed-exitcode"});
    INFO(plan.both());
    CHECK(plan.exit_code == 2);
    CHECK(contains(plan.out, "drift: changed outside dnsctl (cores, onboot)"));
    auto applied = estate.apply_yes();
    INFO(applied.both());
    CHECK(applied.exit_code == 0);
    auto config = estate.client("th2")->get_config("pve-th2-1", Vmid{5301});
    REQUIRE(config);
    CHECK(config->at("cores") == "2");
    CHECK(config->at("onboot") == "1");
    CHECK(estate.plan({"--detailed-exitcode"}).exit_code == 0);
}

TEST_CASE("with 500s on reads, lock timeouts on writes and latency, one apply converges") {
    SimEstate estate;
    REQUIRE(estate.sim().admin(
        "PUT", "/faults",
        {{"rules",
          {{{"id", "flaky-reads"}, {"method", "GET"}, {"action", "error"}, {"status", 500}, {"rate", 0.2}},
           {{"id", "locked"}, {"method", "PUT"}, {"path", "/nodes/*/qemu/*/config"}, {"action", "lock_timeout"},
            {"rate", 0.3}},
           {{"id", "wan"}, {"latency_ms", 20}, {"jitter_ms", 30}}}}}));
    auto applied = estate.apply_yes();
    INFO(applied.both());
    CHECK(applied.exit_code == 0);
    REQUIRE(estate.sim().admin("DELETE", "/faults"));
    estate.expect_exactly_the_estate();
    CHECK(estate.plan({"--detailed-exitcode"}).exit_code == 0);
}

TEST_CASE("with 20 % 500s on every request and a lost clone answer, re-running apply converges without "
          "duplicates") {
    SimEstate estate;
    REQUIRE(estate.sim().admin(
        "PUT", "/faults",
        {{"rules",
          {{{"id", "lost-clone"}, {"method", "POST"}, {"path", "/nodes/*/qemu/*/clone"}, {"action", "reset"},
            {"after_handler", true}, {"ordinals", {0}}},
           {{"id", "flaky"}, {"action", "error"}, {"status", 500}, {"rate", 0.2}},
           {{"id", "locked"}, {"method", "PUT"}, {"path", "/nodes/*/qemu/*/config"}, {"action", "lock_timeout"},
            {"rate", 0.2}},
           {{"id", "wan"}, {"latency_ms", 20}, {"jitter_ms", 30}}}}}));
    int runs = 0;
    CommandResult last;
    for (runs = 1; runs <= 10; ++runs) {
        last = estate.apply_yes();
        if (last.exit_code == 0) break;
        INFO(last.both());
        CHECK(last.exit_code == 1);  // stopped part-way, never "applied but unverified"
    }
    INFO("runs: " << runs << "\n" << last.both());
    CHECK(last.exit_code == 0);
    REQUIRE(estate.sim().admin("DELETE", "/faults"));
    estate.expect_exactly_the_estate();
    CHECK(estate.plan({"--detailed-exitcode"}).exit_code == 0);
}

TEST_CASE("with one cluster's node unreachable (595), plan marks it incomplete, exits 1 and re-creates nothing") {
    SimEstate estate;
    estate.converge();
    REQUIRE(estate.sim().admin("POST", "/clusters/th2/nodes/pve-th2-1", {{"unreachable", true}}));
    auto plan = estate.plan();
    INFO(plan.both());
    CHECK(plan.exit_code == 1);
    CHECK(contains(plan.out, "Observation incomplete"));
    CHECK(contains(plan.out, "cluster th2:"));
    CHECK(contains(plan.out, "unreachable"));
    CHECK_FALSE(contains(plan.out, "will be created"));
    CHECK(estate.plan({"--detailed-exitcode"}).exit_code == 1);
    auto apply = estate.apply_yes();
    CHECK(apply.exit_code == 1);
    CHECK(estate.vmids()["th2"] == std::vector<int>{5301, 9000});
}

TEST_CASE("a wrong certificate fingerprint refuses the connection and says it is a pin mismatch") {
    SimEstate estate;
    const auto& th2 = estate.sim().clusters().at("th2");
    const auto& pa4 = estate.sim().clusters().at("pa4");
    estate.write_inventory({{"fingerprint_file: " + th2.fingerprint_file.string(),
                             "fingerprint_file: " + pa4.fingerprint_file.string()}});
    auto plan = estate.plan();
    INFO(plan.both());
    CHECK(plan.exit_code == 1);
    CHECK(contains(plan.out, "cluster th2:"));
    CHECK(contains(plan.out, "TLS certificate pin mismatch: the server at 127.0.0.1:"));
    CHECK(contains(plan.out, "presented SHA-256 fingerprint " + th2.fingerprint + ", but the pin expects " +
                                 pa4.fingerprint));
    CHECK_FALSE(contains(plan.out, "# vm[th2/5301] will be created"));
}

TEST_CASE("plan --out then apply --plan applies the saved plan, and refuses it once stale") {
    SimEstate estate;
    const auto saved = estate.inventory().parent_path() / "plan.json";
    auto plan = estate.plan({"--out", saved.string()});
    INFO(plan.both());
    REQUIRE(plan.exit_code == 0);
    auto applied = estate.dnsctl({"apply", estate.inventory().string(), "--plan", saved.string()});
    INFO(applied.both());
    CHECK(applied.exit_code == 0);
    CHECK(contains(applied.out, "Verified"));
    // The same file again: what it was made from has changed.
    auto stale = estate.dnsctl({"apply", estate.inventory().string(), "--plan", saved.string()});
    CHECK(stale.exit_code == 1);
    CHECK(contains(stale.err, "the saved plan is stale"));
}

TEST_CASE("apply without --yes and without a terminal refuses and changes nothing") {
    SimEstate estate;
    auto refused = estate.dnsctl({"apply", estate.inventory().string()});
    INFO(refused.both());
    CHECK(refused.exit_code == 1);
    CHECK(contains(refused.err, "standard input is not a terminal"));
    CHECK(estate.vmids()["pa3"] == std::vector<int>{9000});
}

namespace {

// Polls (real time: this is an integration test) until `ready` or `limit`.
template <class Ready>
bool eventually(Ready&& ready, std::chrono::milliseconds limit = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!ready()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

}  // namespace

TEST_CASE("SIGINT during apply stops part-way, prints what was done and what was not, exits 1, and the next apply "
          "converges") {
    SimEstate estate;
    estate.set_timing("pa3", {{"clone_ms", 8000}});  // pa3's clone is still running when the signal comes
    auto apply = estate.dnsctl_in_background({"apply", estate.inventory().string(), "--yes"});
    REQUIRE(eventually([&] { return estate.task_running("pa3", "qmclone"); }));
    // The other clusters' VMs are created meanwhile (pa3's clone holds nothing up).
    REQUIRE(eventually([&] {
        auto held = estate.vmids();
        return held["th2"].size() == 2 && held["pa4"].size() == 2 && held["pa5"].size() == 3;
    }));
    const auto signalled = std::chrono::steady_clock::now();
    apply->signal(SIGINT);
    auto result = apply->wait_for(10s);
    REQUIRE(result);
    const auto took = std::chrono::steady_clock::now() - signalled;
    INFO(result->both());
    estate.check_no_secret(*result);
    CHECK(result->exit_code == 1);
    CHECK(took < 5s);  // the clone task is not waited for
    CHECK(contains(result->err, "SIGINT received: stopping"));
    CHECK(contains(result->err, "Another SIGINT exits at once"));
    CHECK(contains(result->err, "dnsctl apply: stopped by SIGINT: part of the plan was not applied"));
    CHECK(contains(result->out, "Apply summary:"));
    CHECK(contains(result->out, "interrupted  vm[pa3/5304]"));
    CHECK(contains(result->out, "may still be running"));
    CHECK(contains(result->out, "Stopped on request"));
    CHECK_FALSE(contains(result->out, "Verified"));
    CHECK(estate.task_running("pa3", "qmclone"));  // left running, not cut

    // The run lock is free; the next apply waits for the clone, then finishes.
    estate.set_timing("pa3", short_timing());
    auto again = estate.apply_yes();
    INFO(again.both());
    CHECK(again.exit_code == 0);
    estate.expect_exactly_the_estate();
    CHECK(estate.plan({"--detailed-exitcode"}).exit_code == 0);
}

TEST_CASE("a clone lock left behind by a pve-sim restart mid-clone is reported as stale, never waited on") {
    SimEstate estate;
    estate.set_timing("pa3", {{"clone_ms", 60000}});
    auto apply = estate.dnsctl_in_background({"apply", estate.inventory().string(), "--yes"});
    REQUIRE(eventually([&] { return estate.task_running("pa3", "qmclone"); }));
    // The other clusters' VMs are up (their clones would be cut off too).
    REQUIRE(eventually([&] {
        return estate.vm_running("th2", 5301) && estate.vm_running("pa4", 5302) && estate.vm_running("pa5", 5300) &&
               estate.vm_running("pa5", 5303);
    }));
    apply->signal(SIGKILL);
    REQUIRE(apply->wait_for(10s));
    estate.restart_sim();  // the clone task does not survive; lock: clone stays on VM 5304
    estate.set_timing("pa3", short_timing());

    auto plan = estate.plan();
    INFO(plan.both());
    CHECK(plan.exit_code == 1);
    CHECK(contains(plan.out, "stale lock: VM 5304 on node pve-pa3-1 is locked (clone) but no task is running for it"));
    CHECK(contains(plan.out, "qm unlock 5304"));
    CHECK_FALSE(contains(plan.out, "work in flight"));

    const auto began = std::chrono::steady_clock::now();
    auto refused = estate.apply_yes();
    INFO(refused.both());
    CHECK(refused.exit_code == 1);
    CHECK(std::chrono::steady_clock::now() - began < 30s);
    CHECK(contains(refused.out + refused.err, "stale lock"));

    // What the message says to do (`qm unlock`, then `qm destroy` of the
    // half-made VM), done through the API; then apply converges.
    REQUIRE(estate.sim().admin("POST", "/clusters/pa3/vms/5304/lock", {{"lock", ""}}));
    auto api = estate.client("pa3");
    auto destroyed = api->destroy("pve-pa3-1", Vmid{5304});
    REQUIRE(destroyed);
    REQUIRE(eventually([&] { return estate.vmids()["pa3"] == std::vector<int>{9000}; }));
    auto converged = estate.apply_yes();
    INFO(converged.both());
    CHECK(converged.exit_code == 0);
    estate.expect_exactly_the_estate();
}
