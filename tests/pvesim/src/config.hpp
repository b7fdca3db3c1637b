// The pve-sim configuration file (YAML; format documented in README.md) as
// typed values.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "access.hpp"
#include "cluster.hpp"
#include "faults.hpp"

namespace pvesim {

struct VmSeed {
    int vmid = 0;
    std::string node;  // default: the cluster's first node
    Config config;
    bool running = false;
    std::string pool;
};

struct ClusterConfig {
    ClusterSpec spec;
    std::string listen_host = "127.0.0.1";
    int listen_port = 0;
    AccessControl access;
    std::vector<VmSeed> vms;
    // Where the token secrets came from, for the README's inventory hints and
    // the ready file (never the secrets themselves).
    std::map<std::string, std::string> token_secret_files;  // token id -> file
};

struct HookConfig {
    std::map<std::string, std::filesystem::path> executables;  // start, stop, reboot, delete
    int timeout_ms = 60000;
};

struct SimConfig {
    std::uint64_t seed = 0;
    std::string admin_host = "127.0.0.1";
    int admin_port = 0;
    std::string admin_token;  // if set, the admin API wants "Authorization: Bearer <token>"
    HookConfig hooks;
    std::vector<ClusterConfig> clusters;
    std::vector<FaultRule> faults;
    std::filesystem::path source;  // the file it came from
};

// Parses and checks a configuration file. Errors name the offending key.
std::optional<SimConfig> load_config(const std::filesystem::path& path, std::string& error);
std::optional<SimConfig> parse_config(const std::string& text, const std::filesystem::path& base_dir, std::string& error);

// Applies "clone_ms: 100" style keys to a Timing; throws std::invalid_argument on unknown keys.
void apply_timing(Timing& timing, const std::map<std::string, std::int64_t>& values);
std::map<std::string, std::int64_t> timing_values(const Timing& timing);

}  // namespace pvesim
