// A temporary folder with pve-sim running in it (the four example clusters,
// ports 0, short task durations) and the example inventory pointed at that
// pve-sim; dnsctl runs against it in the foreground or in the background.
// Shared by the VM-layer integration tests and the robustness tests.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dnsctl_run.hpp"
#include "proxmox/cpprest_proxmox_api.hpp"
#include "pvesim_process.hpp"

namespace dnsctl::vm_test {

// The example estate: cluster -> node, and the VMIDs the inventory puts there.
extern const std::map<std::string, std::string> kNodes;
extern const std::map<std::string, std::vector<int>> kVmids;

// Short task durations: tests exercise ordering and failure, not waiting.
nlohmann::json short_timing();

class SimEstate {
public:
    explicit SimEstate(nlohmann::json timing = short_timing());
    ~SimEstate();
    SimEstate(const SimEstate&) = delete;
    SimEstate& operator=(const SimEstate&) = delete;

    pvesim::harness::PveSimProcess& sim() { return *sim_; }
    [[nodiscard]] std::filesystem::path inventory() const { return dir_ / "inventory.yaml"; }
    [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }

    // The example inventory with this pve-sim's URLs, pins and files;
    // `edits` replace text after that (and are kept for restart_sim).
    void write_inventory(const std::vector<std::pair<std::string, std::string>>& edits);

    // Stops pve-sim (SIGTERM: state saved; running tasks do not survive) and
    // starts it again on the same state folder; the inventory follows the
    // new ports and the timings are set again.
    void restart_sim();

    void set_timing(const std::string& cluster, const nlohmann::json& timing);

    // Runs dnsctl; every run is also checked to print no token secret.
    CommandResult dnsctl(std::vector<std::string> args);
    std::unique_ptr<DnsctlProcess> dnsctl_in_background(std::vector<std::string> args);
    void check_no_secret(const CommandResult& result) const;
    CommandResult plan(std::vector<std::string> extra = {});
    CommandResult apply_yes(std::vector<std::string> extra = {});
    void converge();

    // A client of our own to act behind dnsctl's back.
    std::unique_ptr<CpprestProxmoxApi> client(const std::string& cluster);

    // pve-sim's state (admin API).
    nlohmann::json state();
    // VMIDs per cluster as pve-sim holds them, and the descriptions of the VMs.
    std::map<std::string, std::vector<int>> vmids(std::map<int, std::string>* descriptions = nullptr);
    // Whether VM `vmid` of `cluster` exists and runs.
    bool vm_running(const std::string& cluster, int vmid);
    // Whether `cluster` has a task of `type` still running.
    bool task_running(const std::string& cluster, const std::string& type);
    // Every VM of the estate exists once, carries the marker; the template stays.
    void expect_exactly_the_estate();

private:
    void start_sim();

    std::filesystem::path dir_;
    std::optional<pvesim::harness::PveSimProcess> sim_;
    nlohmann::json timing_;
    std::map<std::string, nlohmann::json> cluster_timing_;
    std::vector<std::pair<std::string, std::string>> edits_;
    std::map<std::string, std::string> secrets_;  // cluster -> dnsctl's token secret
};

bool contains(const std::string& text, const std::string& part);

}  // namespace dnsctl::vm_test
