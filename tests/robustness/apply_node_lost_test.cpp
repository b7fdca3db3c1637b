// A node lost mid-apply: pve-sim makes the primary's node unreachable (595)
// while its clone runs. The other clusters' VMs are created, the run ends
// within the retry budget (not the 30-minute clone deadline) naming the
// cluster and node, and an apply after the node returns converges.
#include <catch2/catch.hpp>

#include <chrono>
#include <iostream>
#include <thread>

#include "sim_estate.hpp"

using namespace dnsctl;
using namespace dnsctl::vm_test;
using namespace std::chrono_literals;

namespace {

template <class Ready>
bool eventually(Ready&& ready, std::chrono::milliseconds limit = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!ready()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

bool running_with_marker(const nlohmann::json& state, const std::string& cluster, int vmid) {
    for (const auto& vm : state["clusters"][cluster]["vms"]) {
        if (vm["vmid"] != vmid) continue;
        const auto& config = vm["config"];
        return vm["running"].get<bool>() && config.contains("description") &&
               config["description"].get<std::string>().rfind("managed-by: dnsctl estate=rdem-systems-sim\n", 0) == 0;
    }
    return false;
}

}  // namespace

TEST_CASE("a node lost mid-apply: the other clusters finish, the run ends within the retry budget, and a later "
          "apply converges") {
    constexpr int kRetryBudgetSeconds = 5;
    SimEstate estate;
    estate.set_timing("pa5", {{"clone_ms", 4000}});  // the primary's clone runs when its node goes away
    auto apply = estate.dnsctl_in_background(
        {"apply", estate.inventory().string(), "--yes", "--retry-budget", std::to_string(kRetryBudgetSeconds)});
    REQUIRE(eventually([&] { return estate.task_running("pa5", "qmclone"); }));
    REQUIRE(estate.sim().admin("POST", "/clusters/pa5/nodes/pve-pa5-1", {{"unreachable", true}}));
    const auto lost = std::chrono::steady_clock::now();

    auto result = apply->wait_for(120s);  // the clone deadline is 30 minutes
    REQUIRE(result);
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - lost).count();
    std::cout << "node lost: apply ended " << took << " s after pve-pa5-1 became unreachable (retry budget "
              << kRetryBudgetSeconds << " s)\n";
    INFO(result->both());
    estate.check_no_secret(*result);
    CHECK(result->exit_code == 1);
    // One retry budget of polling, plus the requests in flight and the clone
    // slot's hand-over: far below the deadline.
    CHECK(took < 3 * kRetryBudgetSeconds + 5);
    CHECK(contains(result->out, "vm[pa5/5300]"));
    CHECK(contains(result->out, "node pve-pa5-1 did not answer for"));
    CHECK(contains(result->out, "node pve-pa5-1 of cluster pa5 is out of reach"));  // 5303 not tried after that
    CHECK(contains(result->out, "Stopped part-way"));

    // The other clusters' VMs were created and started meanwhile.
    auto state = estate.state();
    CHECK(running_with_marker(state, "th2", 5301));
    CHECK(running_with_marker(state, "pa4", 5302));
    CHECK(running_with_marker(state, "pa3", 5304));

    // The node returns: one more apply finishes pa5, without duplicates.
    REQUIRE(estate.sim().admin("POST", "/clusters/pa5/nodes/pve-pa5-1", {{"unreachable", false}}));
    estate.set_timing("pa5", short_timing());
    auto again = estate.apply_yes();
    INFO(again.both());
    CHECK(again.exit_code == 0);
    estate.expect_exactly_the_estate();
    auto plan = estate.plan({"--detailed-exitcode"});
    INFO(plan.both());
    CHECK(plan.exit_code == 0);
}
