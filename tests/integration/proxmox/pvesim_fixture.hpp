// Test support: pve-sim (through the pvesim_harness library) with one cluster
// "c1" of nodes pve1 and pve2, template 9000 on pve1 and short task
// durations, plus CpprestProxmoxApi instances pinned to its certificate.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "child_process.hpp"
#include "proxmox/cpprest_proxmox_api.hpp"
#include "pvesim_process.hpp"

namespace dnsctl::integration {

class PveSim {
public:
    static constexpr const char* kCluster = "c1";
    static constexpr const char* kNode = "pve1";
    static constexpr const char* kTokenId = "dnsctl@pve!ctl";
    static constexpr const char* kTokenSecret = "0d6c1f1e-5b0a-4c1e-9a53-3f2b7c9d8e10";  // a test value
    static constexpr std::uint32_t kTemplate = 9000;

    PveSim();  // starts pve-sim and waits for its ready file

    [[nodiscard]] const std::string& url() const { return cluster().url; }
    [[nodiscard]] const std::string& fingerprint() const { return cluster().fingerprint; }
    [[nodiscard]] const std::filesystem::path& state_dir() const { return process_->state_dir(); }

    [[nodiscard]] CpprestProxmoxApiConfig api_config() const;  // pinned, token of the config
    [[nodiscard]] std::unique_ptr<CpprestProxmoxApi> api() const;

    // Admin API; throws on an error answer.
    nlohmann::json admin(const std::string& method, const std::string& path, const nlohmann::json& body = nullptr);
    // The requests pve-sim answered, from its in-memory log.
    nlohmann::json request_log();

private:
    [[nodiscard]] const pvesim::harness::ClusterEndpoint& cluster() const { return process_->clusters().at(kCluster); }

    TempDir dir_;
    std::optional<pvesim::harness::PveSimProcess> process_;
};

}  // namespace dnsctl::integration
