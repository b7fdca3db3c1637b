// `dnsctl plan` and `dnsctl apply` (the built binary) against pve-sim serving
// the four example clusters over HTTPS, each certificate pinned. The
// inventory is examples/sim/inventory.yaml pointed at this test's pve-sim.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <stdlib.h>

#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "core/secret.hpp"
#include "dnsctl_run.hpp"
#include "proxmox/cpprest_proxmox_api.hpp"
#include "pvesim_process.hpp"

using namespace dnsctl;
using namespace dnsctl::vm_test;
using pvesim::harness::PveSimProcess;
using pvesim::harness::StartOptions;
namespace fs = std::filesystem;

namespace {

const std::map<std::string, int> kExamplePorts = {{"th2", 18006}, {"pa4", 18007}, {"pa5", 18008}, {"pa3", 18009}};
const std::map<std::string, std::string> kNodes = {
    {"th2", "pve-th2-1"}, {"pa4", "pve-pa4-1"}, {"pa5", "pve-pa5-1"}, {"pa3", "pve-pa3-1"}};
const std::map<std::string, std::vector<int>> kVmids = {
    {"th2", {5301}}, {"pa4", {5302}}, {"pa5", {5300, 5303}}, {"pa3", {5304}}};

constexpr const char* kDnsctlKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDnsctlIntegrationTestKey00000000000000000000 dnsctl@sim";

std::string slurp(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
    REQUIRE(text.find(from) != std::string::npos);
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
}

// A temporary folder with pve-sim running in it, and the example inventory
// pointed at that pve-sim.
class SimEstate {
public:
    SimEstate() {
        std::string pattern = (fs::temp_directory_path() / "dnsctl-vm-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        dir_ = pattern;
        StartOptions options;
        options.config = fs::path(DNSCTL_EXAMPLES_SIM) / "pve-sim.yaml";
        options.state_dir = dir_ / "pve-sim";
        auto sim = PveSimProcess::start(options);
        INFO((sim ? "" : sim.error().message));
        REQUIRE(sim);
        sim_.emplace(std::move(*sim));
        // Short task durations: the tests exercise the ordering, not the waiting.
        for (const auto& [cluster, port] : kExamplePorts) {
            REQUIRE(sim_->admin("PUT", fmt::format("/clusters/{}/timing", cluster),
                                {{"clone_ms", 300},
                                 {"start_ms", 100},
                                 {"shutdown_ms", 200},
                                 {"stop_ms", 50},
                                 {"resize_ms", 50},
                                 {"destroy_ms", 50},
                                 {"config_lock_wait_ms", 300}}));
        }
        for (const auto& [cluster, port] : kExamplePorts) {
            auto secret = slurp(fs::path(DNSCTL_EXAMPLES_SIM) / "secrets" / (cluster + "-dnsctl.token"));
            while (!secret.empty() && secret.back() == '\n') secret.pop_back();
            REQUIRE_FALSE(secret.empty());
            secrets_[cluster] = secret;
        }
        fs::create_directories(dir_ / ".dnsctl");
        std::ofstream(dir_ / ".dnsctl/id_ed25519.pub") << kDnsctlKey << "\n";
        write_inventory({});
    }
    ~SimEstate() {
        if (sim_) sim_->stop();
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    SimEstate(const SimEstate&) = delete;
    SimEstate& operator=(const SimEstate&) = delete;

    PveSimProcess& sim() { return *sim_; }
    [[nodiscard]] fs::path inventory() const { return dir_ / "inventory.yaml"; }

    // The example inventory with this pve-sim's URLs, pins and files;
    // `edits` replace text after that.
    void write_inventory(const std::vector<std::pair<std::string, std::string>>& edits) {
        auto text = slurp(fs::path(DNSCTL_EXAMPLES_SIM) / "inventory.yaml");
        for (const auto& [cluster, port] : kExamplePorts) {
            const auto& endpoint = sim_->clusters().at(cluster);
            replace_all(text, fmt::format("https://127.0.0.1:{}", port), endpoint.url);
            replace_all(text, fmt::format("fingerprint_file: .pve-sim/{}.fingerprint", cluster),
                        "fingerprint_file: " + endpoint.fingerprint_file.string());
        }
        replace_all(text, "file:secrets/", std::string("file:") + DNSCTL_EXAMPLES_SIM + "/secrets/");
        replace_all(text, "../../inventory/zones/", std::string(DNSCTL_REFERENCE_ZONES) + "/");
        for (const auto& [from, to] : edits) replace_all(text, from, to);
        std::ofstream(inventory()) << text;
    }

    // Runs dnsctl; every run is also checked to print no token secret.
    CommandResult dnsctl(std::vector<std::string> args) {
        auto result = run_dnsctl(args, dir_);
        for (const auto& [cluster, secret] : secrets_) {
            CHECK(result.out.find(secret) == std::string::npos);
            CHECK(result.err.find(secret) == std::string::npos);
        }
        return result;
    }
    CommandResult plan(std::vector<std::string> extra = {}) {
        std::vector<std::string> args{"plan", inventory().string()};
        args.insert(args.end(), extra.begin(), extra.end());
        return dnsctl(args);
    }
    CommandResult apply_yes() { return dnsctl({"apply", inventory().string(), "--yes"}); }

    void converge() {
        auto applied = apply_yes();
        INFO(applied.both());
        REQUIRE(applied.exit_code == 0);
    }

    // A client of our own to act behind dnsctl's back.
    std::unique_ptr<CpprestProxmoxApi> client(const std::string& cluster) {
        const auto& endpoint = sim_->clusters().at(cluster);
        CpprestProxmoxApiConfig config;
        config.base_url = endpoint.url;
        config.token_id = "dnsctl@pve!dnsctl";
        config.token_secret = Secret(secrets_.at(cluster));
        config.fingerprint_sha256 = endpoint.fingerprint;
        auto api = CpprestProxmoxApi::open(config);
        REQUIRE(api);
        return std::move(*api);
    }

    // VMIDs per cluster as pve-sim holds them (admin API), and the
    // descriptions of the VMs.
    std::map<std::string, std::vector<int>> vmids(std::map<int, std::string>* descriptions = nullptr) {
        auto state = sim_->admin("GET", "/state");
        REQUIRE(state);
        std::map<std::string, std::vector<int>> out;
        for (const auto& [cluster, body] : (*state)["clusters"].items()) {
            for (const auto& vm : body["vms"]) {
                int vmid = vm["vmid"].get<int>();
                out[cluster].push_back(vmid);
                if (descriptions != nullptr && vm["config"].contains("description")) {
                    (*descriptions)[vmid] = vm["config"]["description"].get<std::string>();
                }
            }
            std::sort(out[cluster].begin(), out[cluster].end());
        }
        return out;
    }

    void expect_exactly_the_estate() {
        std::map<int, std::string> descriptions;
        auto held = vmids(&descriptions);
        for (const auto& [cluster, ours] : kVmids) {
            std::vector<int> expected = ours;
            expected.push_back(9000);
            std::sort(expected.begin(), expected.end());
            CHECK(held[cluster] == expected);
            for (int vmid : ours) {
                INFO(cluster << "/" << vmid);
                CHECK(descriptions[vmid].rfind("managed-by: dnsctl estate=rdem-systems-sim\n", 0) == 0);
            }
        }
    }

private:
    fs::path dir_;
    std::optional<PveSimProcess> sim_;
    std::map<std::string, std::string> secrets_;  // cluster -> dnsctl's token secret
};

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

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
