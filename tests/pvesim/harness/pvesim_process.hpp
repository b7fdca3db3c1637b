// PveSimProcess: starts pve-sim for an integration test (port 0, its own state
// directory), waits for the ready file, exposes each cluster's URL and
// certificate fingerprint, drives the admin API (fault injection, unreachable
// nodes, locks), and stops the process by PID. Link `pvesim_harness`.
//
//   auto sim = pvesim::harness::PveSimProcess::start({.config = "examples/sim/pve-sim.yaml",
//                                                     .state_dir = tmp});
//   const auto& th2 = sim->clusters().at("th2");   // th2.url, th2.fingerprint, th2.fingerprint_file
//   sim->admin("PUT", "/faults", {{"rules", {{{"id", "wan"}, {"latency_ms", 50}}}}});
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace pvesim::harness {

struct ClusterEndpoint {
    std::string name;
    std::string url;  // https://127.0.0.1:PORT; the API is below /api2/json
    std::string host;
    int port = 0;
    std::string fingerprint;  // "AB:CD:…", SHA-256 of the leaf certificate
    std::filesystem::path fingerprint_file;
    std::filesystem::path certificate_file;
    std::vector<std::string> nodes;
    std::map<std::string, std::filesystem::path> token_secret_files;  // token id -> file
};

struct StartOptions {
    std::filesystem::path executable = default_executable();
    std::filesystem::path config;
    std::filesystem::path state_dir;  // created if missing
    std::vector<std::string> extra_args{"--ephemeral-ports"};
    std::chrono::milliseconds timeout{20000};

    // $PVE_SIM, else the pve-sim built with this tree.
    static std::filesystem::path default_executable();
};

class PveSimProcess {
public:
    // Starts pve-sim and waits (polling with `clock`) until its ready file appears.
    static dnsctl::Result<PveSimProcess> start(const StartOptions& options, dnsctl::Clock& clock);
    static dnsctl::Result<PveSimProcess> start(const StartOptions& options);

    PveSimProcess(PveSimProcess&& other) noexcept;
    PveSimProcess& operator=(PveSimProcess&& other) noexcept;
    PveSimProcess(const PveSimProcess&) = delete;
    PveSimProcess& operator=(const PveSimProcess&) = delete;
    ~PveSimProcess();  // stops the process

    [[nodiscard]] int pid() const { return pid_; }
    [[nodiscard]] const std::map<std::string, ClusterEndpoint>& clusters() const { return clusters_; }
    [[nodiscard]] const std::string& admin_url() const { return admin_url_; }
    [[nodiscard]] const std::filesystem::path& state_dir() const { return state_dir_; }

    // One admin API call; the answer's JSON, or an error naming status and text.
    dnsctl::Result<nlohmann::json> admin(std::string_view method, std::string_view path,
                                         const nlohmann::json& body = nullptr) const;

    // SIGTERM, wait; SIGKILL after 10 s. Idempotent.
    void stop();

private:
    PveSimProcess() = default;

    int pid_ = -1;
    std::map<std::string, ClusterEndpoint> clusters_;
    std::string admin_url_;
    std::filesystem::path state_dir_;
};

}  // namespace pvesim::harness
