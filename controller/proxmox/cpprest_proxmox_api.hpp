// CpprestProxmoxApi: ProxmoxApi over HTTPS with cpprestsdk's http_client.
//
// Authentication: an API token (`Authorization: PVEAPIToken=<id>=<secret>`).
// TLS is always verified: against a CA file, against a pinned SHA-256
// fingerprint of the server certificate (Proxmox ships self-signed ones), or,
// with neither, against the system trust store. There is no way to turn
// verification off. A refused certificate is a `denied` error whose message
// says why (a pin mismatch shows the expected and the presented fingerprint).
//
// The wire form of each call lives in proxmox/rest_calls.hpp and the error
// classification in proxmox/error_classification.hpp; this is the only
// translation unit that includes cpprest headers (this header does not).
#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/secret.hpp"
#include "proxmox/error_classification.hpp"
#include "proxmox/proxmox_api.hpp"

namespace dnsctl {

struct CpprestProxmoxApiConfig {
    std::string base_url;                           // https://host:8006 (the /api2/json prefix is added)
    std::string token_id;                           // user@realm!tokenname
    Secret token_secret;                            // never logged, never in an error message
    std::optional<std::filesystem::path> ca_file;   // trust the CAs in this PEM file, or
    std::optional<std::string> fingerprint_sha256;  // pin the server certificate ("AB:CD:…"); at most one of both
    std::chrono::milliseconds request_timeout{30'000};
    std::shared_ptr<spdlog::logger> logger;  // optional: one debug line per request (method, path, status)
};

class CpprestProxmoxApi final : public ProxmoxApi {
public:
    // Checks the configuration (https URL, token id shape, readable CA file,
    // well-formed pin); makes no request.
    static Result<std::unique_ptr<CpprestProxmoxApi>> open(CpprestProxmoxApiConfig config);
    ~CpprestProxmoxApi() override;

    CpprestProxmoxApi(const CpprestProxmoxApi&) = delete;
    CpprestProxmoxApi& operator=(const CpprestProxmoxApi&) = delete;

    Result<std::vector<NodeSummary>> list_nodes() override;
    Result<std::vector<VmSummary>> list_vms() override;
    Result<VmConfig> get_config(const std::string& node, Vmid vmid) override;
    Result<std::vector<CloudinitEntry>> get_cloudinit(const std::string& node, Vmid vmid) override;
    Result<std::vector<TaskSummary>> active_tasks(const std::string& node, Vmid vmid) override;

    Result<std::string> clone(const std::string& node, Vmid source, const CloneRequest& request) override;
    Result<void> update_config(const std::string& node, Vmid vmid, const ConfigUpdate& update) override;
    Result<std::string> resize_disk(const std::string& node, Vmid vmid, const std::string& disk,
                                    const std::string& size) override;
    Result<std::string> start(const std::string& node, Vmid vmid) override;
    Result<std::string> shutdown(const std::string& node, Vmid vmid, bool force_stop) override;
    Result<std::string> stop(const std::string& node, Vmid vmid) override;
    Result<std::string> destroy(const std::string& node, Vmid vmid) override;

    Result<TaskStatus> task_status(const std::string& node, const std::string& upid) override;
    Result<std::vector<std::string>> task_log(const std::string& node, const std::string& upid) override;

    Result<std::string> agent_file_read(const std::string& node, Vmid vmid, const std::string& path) override;

private:
    struct Impl;
    explicit CpprestProxmoxApi(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// cpprestsdk builds a TLS context for every connection and first loads
// OpenSSL's default CA bundle into it (about 40 ms of CPU each, most of a
// no-change `plan`), although CpprestProxmoxApi then replaces that trust store
// with the cluster's own. Call once at process start, before any thread: it
// points OpenSSL's default CA file and folder (SSL_CERT_FILE, SSL_CERT_DIR) at
// nothing for this process and those it starts. CpprestProxmoxApi itself
// never relies on them (without a CA file or pin it loads the system bundle
// from OpenSSL's compiled-in paths).
void skip_default_ca_loading();

// Which stage of a request a cpprest http_client failure message belongs to
// (the messages of cpprestsdk 2.10's asio client). Exposed for unit tests.
TransportStage transport_stage_of(std::string_view cpprest_message, bool timed_out);

}  // namespace dnsctl
