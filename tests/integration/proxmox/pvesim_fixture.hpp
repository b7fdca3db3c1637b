// Test support: a pve-sim process started by the test (one cluster "c1" with
// nodes pve1 and pve2, template 9000 on pve1, short task durations), its
// admin API, and CpprestProxmoxApi instances pinned to its certificate.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "child_process.hpp"
#include "proxmox/cpprest_proxmox_api.hpp"

namespace dnsctl::integration {

struct HttpAnswer {
    int status = 0;
    std::string body;
};

// One plain-HTTP request to a loopback URL ("http://127.0.0.1:PORT"), JSON body.
HttpAnswer http_request(const std::string& base_url, const std::string& method, const std::string& path,
                        const std::string& body = "");

class PveSim {
public:
    static constexpr const char* kCluster = "c1";
    static constexpr const char* kNode = "pve1";
    static constexpr const char* kOtherNode = "pve2";
    static constexpr const char* kTokenId = "dnsctl@pve!ctl";
    static constexpr const char* kTokenSecret = "0d6c1f1e-5b0a-4c1e-9a53-3f2b7c9d8e10";  // a test value
    static constexpr std::uint32_t kTemplate = 9000;

    PveSim();  // starts pve-sim and waits for its ready file

    [[nodiscard]] const std::string& url() const { return url_; }
    [[nodiscard]] const std::string& fingerprint() const { return fingerprint_; }
    [[nodiscard]] const std::filesystem::path& state_dir() const { return state_dir_; }

    [[nodiscard]] CpprestProxmoxApiConfig api_config() const;  // pinned, token of the config
    [[nodiscard]] std::unique_ptr<CpprestProxmoxApi> api() const;

    // Admin API; fails the test on an error answer.
    nlohmann::json admin(const std::string& method, const std::string& path, const nlohmann::json& body = nullptr);
    // Requests pve-sim answered, from its in-memory log.
    nlohmann::json request_log();

private:
    TempDir dir_;
    std::filesystem::path state_dir_;
    std::unique_ptr<ChildProcess> process_;
    std::string url_;
    std::string fingerprint_;
    std::string admin_url_;
};

}  // namespace dnsctl::integration
