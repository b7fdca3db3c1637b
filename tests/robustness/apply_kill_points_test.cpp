// apply killed at random points: SIGKILL (and sometimes SIGTERM) hits the
// dnsctl apply process at a random moment while it creates, destroys and
// restarts VMs on pve-sim; one more apply must then converge (exit 0, plan
// shows no changes) with no duplicate VM and no orphan. The seed is printed;
// DNSCTL_ROBUSTNESS_SEED repeats a run.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>
#include <thread>

#include "core/clock.hpp"
#include "proxmox/tasks.hpp"
#include "sim_estate.hpp"

using namespace dnsctl;
using namespace dnsctl::vm_test;
using namespace std::chrono_literals;

namespace {

constexpr int kKillPoints = 12;  // signals that hit a running apply, at least (10 asked)
constexpr int kMaxRounds = 20;

std::uint64_t robustness_seed() {
    if (const char* given = std::getenv("DNSCTL_ROBUSTNESS_SEED"); given != nullptr && *given != '\0') {
        return std::strtoull(given, nullptr, 10);
    }
    std::random_device device;
    return (std::uint64_t{device()} << 32) | device();
}

// Destroys some of the estate's VMs behind dnsctl's back (stop, then destroy
// with purge), so the next apply has creations to do.
void destroy_some(SimEstate& estate, std::mt19937_64& random) {
    SystemClock clock;
    std::vector<std::pair<std::string, int>> all;
    for (const auto& [cluster, vmids] : kVmids) {
        for (int vmid : vmids) all.emplace_back(cluster, vmid);
    }
    std::shuffle(all.begin(), all.end(), random);
    const auto count = std::uniform_int_distribution<std::size_t>(1, all.size())(random);
    for (std::size_t i = 0; i < count; ++i) {
        const auto& [cluster, vmid] = all[i];
        auto api = estate.client(cluster);
        const auto& node = kNodes.at(cluster);
        if (auto stopped = api->stop(node, Vmid{static_cast<std::uint32_t>(vmid)})) {
            REQUIRE(wait_for_task(*api, node, *stopped, clock, clock.now() + 20s, 50ms));
        }
        auto destroyed = api->destroy(node, Vmid{static_cast<std::uint32_t>(vmid)});
        INFO(cluster << "/" << vmid << ": " << (destroyed ? "" : destroyed.error().message));
        REQUIRE(destroyed);
        REQUIRE(wait_for_task(*api, node, *destroyed, clock, clock.now() + 20s, 50ms));
    }
}

// In-service restarts: cores 2 <-> 4 on some nameservers.
std::vector<std::pair<std::string, std::string>> flip_cores(std::mt19937_64& random) {
    std::vector<std::pair<std::string, std::string>> edits;
    for (int vmid : {5301, 5302, 5303, 5304}) {
        if (random() % 2 == 0) continue;
        edits.emplace_back(fmt::format("    vmid: {}\n", vmid),
                           fmt::format("    vmid: {}\n    resources: {{cores: 4}}\n", vmid));
    }
    return edits;
}

}  // namespace

TEST_CASE("apply killed at random points converges with one more apply, without duplicates or orphans") {
    const auto seed = robustness_seed();
    std::cout << "kill points: seed " << seed << " (DNSCTL_ROBUSTNESS_SEED=" << seed << " repeats this run)\n";
    INFO("seed " << seed);
    std::mt19937_64 random(seed);
    SimEstate estate;
    std::vector<std::pair<std::string, std::string>> edits;
    double window_ms = 3000;  // how long an apply takes; measured on every converging apply
    int kills = 0;
    const auto began = std::chrono::steady_clock::now();
    for (int round = 0; round < kMaxRounds && kills < kKillPoints; ++round) {
        INFO("round " << round);
        // Work for this round: the estate from nothing, some VMs gone, or
        // in-service restarts.
        if (round > 0) {
            if (random() % 2 == 0) {
                destroy_some(estate, random);
            } else {
                edits = edits.empty() ? flip_cores(random) : decltype(edits){};
                estate.write_inventory(edits);
            }
        }
        const auto delay = std::chrono::milliseconds(
            static_cast<long>(std::uniform_real_distribution<double>(0, window_ms)(random)));
        const int signal = random() % 3 == 0 ? SIGTERM : SIGKILL;

        auto apply = estate.dnsctl_in_background({"apply", estate.inventory().string(), "--yes"});
        std::this_thread::sleep_for(delay);
        const bool hit = apply->running();
        apply->signal(signal);
        const auto signalled = std::chrono::steady_clock::now();
        auto cut = apply->wait_for(20s);
        REQUIRE(cut);
        const auto stop_took = std::chrono::steady_clock::now() - signalled;
        if (hit) ++kills;
        std::cout << fmt::format("point {:2}: {} after {:5} ms{}: exit {}{}\n", round,
                                 signal == SIGTERM ? "SIGTERM" : "SIGKILL", delay.count(),
                                 hit ? "" : " (apply had ended)", cut->exit_code,
                                 cut->term_signal != 0 ? fmt::format(" (killed by signal {})", cut->term_signal) : "");
        estate.check_no_secret(*cut);
        if (signal == SIGTERM && hit) {
            INFO(cut->both());
            // Handled (exit 1, saying so, promptly), or the signal came
            // before apply took its lock and handlers; or apply was done.
            CHECK((cut->exit_code == 0 || cut->exit_code == 1 || cut->term_signal == SIGTERM));
            if (cut->exit_code == 1) {
                CHECK(contains(cut->err, "SIGTERM"));
                CHECK(stop_took < 10s);
            }
        }

        const auto converge_began = std::chrono::steady_clock::now();
        auto converged = estate.apply_yes();
        INFO(cut->both());
        INFO(converged.both());
        REQUIRE(converged.exit_code == 0);
        window_ms = std::max(500.0, 1.2 * std::chrono::duration<double, std::milli>(
                                              std::chrono::steady_clock::now() - converge_began)
                                              .count());
        auto plan = estate.plan({"--detailed-exitcode"});
        INFO(plan.both());
        REQUIRE(plan.exit_code == 0);
        estate.expect_exactly_the_estate();  // no duplicate, no orphan
    }
    const auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    std::cout << "kill points: " << kills << " signals hit a running apply, " << took << " s\n";
    CHECK(kills >= kKillPoints);
}
