#include <catch2/catch.hpp>

#include "faults.hpp"

using namespace pvesim;

TEST_CASE("faults: path globs") {
    CHECK(glob_path_match("/**", "/nodes/pve1/qemu/101/config"));
    CHECK(glob_path_match("/nodes/*/qemu/*/config", "/nodes/pve1/qemu/101/config"));
    CHECK_FALSE(glob_path_match("/nodes/*/qemu/*/config", "/nodes/pve1/qemu/101/status/current"));
    CHECK(glob_path_match("/nodes/pve1/**", "/nodes/pve1/tasks/UPID:pve1:x/status"));
    CHECK(glob_path_match("/nodes/*/qemu/*/status/*", "/nodes/pve1/qemu/101/status/start"));
    CHECK(glob_path_match("/cluster/res*", "/cluster/resources"));
}

TEST_CASE("faults: a decision depends only on its inputs") {
    FaultRule rule;
    rule.id = "errors";
    rule.action = FaultAction::error;
    rule.rate = 0.5;
    std::vector<FaultRule> rules{rule};
    std::vector<bool> forward, backward(200);
    for (std::uint64_t i = 0; i < 200; ++i) forward.push_back(decide_faults(rules, 7, "th2", "GET", "/version", i).error.has_value());
    for (std::uint64_t i = 200; i-- > 0;) backward[i] = decide_faults(rules, 7, "th2", "GET", "/version", i).error.has_value();
    CHECK(forward == backward);
    std::vector<bool> other_seed;
    for (std::uint64_t i = 0; i < 200; ++i) other_seed.push_back(decide_faults(rules, 8, "th2", "GET", "/version", i).error.has_value());
    CHECK(forward != other_seed);
}

TEST_CASE("faults: the rate is honoured") {
    FaultRule rule;
    rule.id = "twenty-percent";
    rule.action = FaultAction::error;
    rule.rate = 0.2;
    int fired = 0;
    for (std::uint64_t i = 0; i < 2000; ++i) {
        if (decide_faults({rule}, 42, "pa4", "GET", "/cluster/resources", i).error) ++fired;
    }
    CHECK(fired > 300);
    CHECK(fired < 500);
}

TEST_CASE("faults: ordinals fire exactly where listed") {
    FaultRule rule;
    rule.id = "first-put";
    rule.action = FaultAction::lock_timeout;
    rule.method = "PUT";
    rule.ordinals = {0, 2};
    CHECK(decide_faults({rule}, 1, "th2", "PUT", "/nodes/n/qemu/101/config", 0).error);
    CHECK_FALSE(decide_faults({rule}, 1, "th2", "PUT", "/nodes/n/qemu/101/config", 1).error);
    CHECK(decide_faults({rule}, 1, "th2", "PUT", "/nodes/n/qemu/101/config", 2).error);
    CHECK_FALSE(decide_faults({rule}, 1, "th2", "GET", "/nodes/n/qemu/101/config", 0).error);
}

TEST_CASE("faults: latency adds up, other kinds take the first rule") {
    FaultRule slow;
    slow.id = "slow";
    slow.latency_ms = 50;
    FaultRule slower = slow;
    slower.id = "slower";
    slower.latency_ms = 20;
    slower.jitter_ms = 10;
    FaultRule reset;
    reset.id = "reset";
    reset.action = FaultAction::reset;
    FaultRule hang = reset;
    hang.id = "hang";
    hang.action = FaultAction::no_answer;
    auto decision = decide_faults({slow, slower, reset, hang}, 3, "pa5", "GET", "/version", 0);
    CHECK(decision.latency_ms >= 70);
    CHECK(decision.latency_ms <= 80);
    REQUIRE(decision.network);
    CHECK(decision.network->action == FaultAction::reset);
    CHECK(decision.fired == std::vector<std::string>{"slow", "slower", "reset"});
}

TEST_CASE("faults: cluster and method filters") {
    FaultRule rule;
    rule.id = "th2-only";
    rule.cluster = "th2";
    rule.method = "POST";
    rule.action = FaultAction::task_warnings;
    rule.warnings = 2;
    CHECK(decide_faults({rule}, 0, "th2", "POST", "/x", 0).task_warnings == 2);
    CHECK(decide_faults({rule}, 0, "pa3", "POST", "/x", 0).empty());
}

TEST_CASE("faults: JSON form round-trips and rejects mistakes") {
    auto rule = fault_rule_from_json({{"id", "e"}, {"action", "error"}, {"status", 595}, {"rate", 0.25}, {"path", "/nodes/**"}}, 0);
    CHECK(rule.status == 595);
    CHECK(rule.message == "No route to host");
    auto again = fault_rule_from_json(to_json(rule), 0);
    CHECK(again.id == "e");
    CHECK(again.rate == 0.25);
    CHECK(again.path == "/nodes/**");
    CHECK_THROWS(fault_rule_from_json({{"action", "explode"}}, 0));
    CHECK_THROWS(fault_rule_from_json({{"rate", 2.0}}, 0));
    CHECK_THROWS(fault_rule_from_json({{"latncy_ms", 5}}, 0));
    CHECK(fault_rule_from_json({{"action", "latency"}}, 4).id == "rule-4");
}
