#include "sim_estate.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <stdlib.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/secret.hpp"

namespace dnsctl::vm_test {

namespace fs = std::filesystem;
using pvesim::harness::PveSimProcess;
using pvesim::harness::StartOptions;

const std::map<std::string, std::string> kNodes = {
    {"th2", "pve-th2-1"}, {"pa4", "pve-pa4-1"}, {"pa5", "pve-pa5-1"}, {"pa3", "pve-pa3-1"}};
const std::map<std::string, std::vector<int>> kVmids = {
    {"th2", {5301}}, {"pa4", {5302}}, {"pa5", {5300, 5303}}, {"pa3", {5304}}};

namespace {

const std::map<std::string, int> kExamplePorts = {{"th2", 18006}, {"pa4", 18007}, {"pa5", 18008}, {"pa3", 18009}};

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

}  // namespace

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

nlohmann::json short_timing() {
    return {{"clone_ms", 300},  {"start_ms", 100},   {"shutdown_ms", 200},         {"stop_ms", 50},
            {"resize_ms", 50},  {"destroy_ms", 50}, {"config_lock_wait_ms", 300}};
}

SimEstate::SimEstate(nlohmann::json timing) : timing_(std::move(timing)) {
    std::string pattern = (fs::temp_directory_path() / "dnsctl-vm-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
    start_sim();
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

SimEstate::~SimEstate() {
    if (sim_) sim_->stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
}

void SimEstate::start_sim() {
    StartOptions options;
    options.config = fs::path(DNSCTL_EXAMPLES_SIM) / "pve-sim.yaml";
    options.state_dir = dir_ / "pve-sim";
    auto sim = PveSimProcess::start(options);
    INFO((sim ? "" : sim.error().message));
    REQUIRE(sim);
    sim_.emplace(std::move(*sim));
    for (const auto& [cluster, port] : kExamplePorts) {
        REQUIRE(sim_->admin("PUT", fmt::format("/clusters/{}/timing", cluster), timing_));
        if (auto it = cluster_timing_.find(cluster); it != cluster_timing_.end()) {
            REQUIRE(sim_->admin("PUT", fmt::format("/clusters/{}/timing", cluster), it->second));
        }
    }
}

void SimEstate::restart_sim() {
    sim_->stop();
    sim_.reset();
    start_sim();
    write_inventory(edits_);
}

void SimEstate::set_timing(const std::string& cluster, const nlohmann::json& timing) {
    cluster_timing_[cluster] = timing;
    REQUIRE(sim_->admin("PUT", fmt::format("/clusters/{}/timing", cluster), timing));
}

void SimEstate::write_inventory(const std::vector<std::pair<std::string, std::string>>& edits) {
    edits_ = edits;
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

void SimEstate::check_no_secret(const CommandResult& result) const {
    for (const auto& [cluster, secret] : secrets_) {
        CHECK(result.out.find(secret) == std::string::npos);
        CHECK(result.err.find(secret) == std::string::npos);
    }
}

CommandResult SimEstate::dnsctl(std::vector<std::string> args) {
    auto result = run_dnsctl(args, dir_);
    check_no_secret(result);
    return result;
}

std::unique_ptr<DnsctlProcess> SimEstate::dnsctl_in_background(std::vector<std::string> args) {
    return std::make_unique<DnsctlProcess>(args, dir_);
}

CommandResult SimEstate::plan(std::vector<std::string> extra) {
    std::vector<std::string> args{"plan", inventory().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return dnsctl(args);
}

CommandResult SimEstate::apply_yes(std::vector<std::string> extra) {
    std::vector<std::string> args{"apply", inventory().string(), "--yes"};
    args.insert(args.end(), extra.begin(), extra.end());
    return dnsctl(args);
}

void SimEstate::converge() {
    auto applied = apply_yes();
    INFO(applied.both());
    REQUIRE(applied.exit_code == 0);
}

std::unique_ptr<CpprestProxmoxApi> SimEstate::client(const std::string& cluster) {
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

nlohmann::json SimEstate::state() {
    auto state = sim_->admin("GET", "/state");
    REQUIRE(state);
    return *state;
}

std::map<std::string, std::vector<int>> SimEstate::vmids(std::map<int, std::string>* descriptions) {
    auto current = state();
    std::map<std::string, std::vector<int>> out;
    for (const auto& [cluster, body] : current["clusters"].items()) {
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

bool SimEstate::vm_running(const std::string& cluster, int vmid) {
    auto current = state();
    for (const auto& vm : current["clusters"][cluster]["vms"]) {
        if (vm["vmid"] == vmid) return vm["running"].get<bool>();
    }
    return false;
}

bool SimEstate::task_running(const std::string& cluster, const std::string& type) {
    auto current = state();
    for (const auto& task : current["clusters"][cluster]["tasks"]) {
        if (task["type"] == type && task["running"].get<bool>()) return true;
    }
    return false;
}

void SimEstate::expect_exactly_the_estate() {
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

}  // namespace dnsctl::vm_test
