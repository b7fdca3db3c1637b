// Starts the real pve-sim through the harness (an integration test of the
// harness and of the binary's start-up contract).
#include <catch2/catch.hpp>

#include <signal.h>
#include <stdlib.h>

#include <fstream>

#include "pvesim_process.hpp"

using pvesim::harness::PveSimProcess;
using pvesim::harness::StartOptions;

TEST_CASE("harness: starts the example estate, reports URLs and fingerprints, injects faults, stops") {
    std::string pattern = (std::filesystem::temp_directory_path() / "pvesim-harness-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()));
    std::filesystem::path dir = pattern;
    {
        StartOptions options;
        options.config = std::filesystem::path(PVESIM_EXAMPLES_DIR) / "pve-sim.yaml";
        options.state_dir = dir;
        auto sim = PveSimProcess::start(options);
        INFO((sim ? "" : sim.error().message));
        REQUIRE(sim);
        REQUIRE(sim->clusters().size() == 4);
        const auto& th2 = sim->clusters().at("th2");
        CHECK(th2.url.rfind("https://127.0.0.1:", 0) == 0);
        CHECK(th2.nodes == std::vector<std::string>{"pve-th2-1"});
        std::ifstream pinned(th2.fingerprint_file);
        std::string line;
        std::getline(pinned, line);
        CHECK(line == th2.fingerprint);
        CHECK(th2.fingerprint.size() == 95);
        CHECK(th2.token_secret_files.count("dnsctl@pve!dnsctl"));

        auto rules = sim->admin("PUT", "/faults", {{"rules", {{{"id", "wan"}, {"latency_ms", 50}}}}});
        REQUIRE(rules);
        CHECK((*rules)["rules"][0]["id"] == "wan");
        auto node = sim->admin("POST", "/clusters/th2/nodes/pve-th2-1", {{"unreachable", true}});
        REQUIRE(node);
        auto state = sim->admin("GET", "/state");
        REQUIRE(state);
        CHECK((*state)["clusters"]["th2"]["nodes"][0]["unreachable"] == true);
        CHECK_FALSE(sim->admin("GET", "/no-such-thing"));
        auto pid = sim->pid();
        sim->stop();
        CHECK(::kill(pid, 0) != 0);
        CHECK_FALSE(std::filesystem::exists(dir / "ready.json"));
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}

TEST_CASE("harness: a bad configuration is reported, not waited for") {
    std::string pattern = (std::filesystem::temp_directory_path() / "pvesim-harness-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()));
    std::filesystem::path dir = pattern;
    std::ofstream(dir / "bad.yaml") << "clusters: [{name: x}]\n";
    StartOptions options;
    options.config = dir / "bad.yaml";
    options.state_dir = dir / "state";
    auto sim = PveSimProcess::start(options);
    REQUIRE_FALSE(sim);
    CHECK(sim.error().message.find("cluster needs nodes") != std::string::npos);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}
