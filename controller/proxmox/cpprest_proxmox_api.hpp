// CpprestProxmoxApi: ProxmoxApi over HTTPS with cpprestsdk's http_client.
//
// Authentication: an API token (`Authorization: PVEAPIToken=<id>=<secret>`).
// TLS is always verified: against a CA file, against a pinned SHA-256
// fingerprint of the server certificate (Proxmox ships self-signed ones), or,
// with neither, against the system trust store (SSL_CERT_FILE / SSL_CERT_DIR
// when the operator set them, else OpenSSL's default paths). There is no way
// to turn verification off. A refused certificate is a `denied` error whose
// message says why and names the host and port that presented it (a pin
// mismatch shows the expected and the presented fingerprint); the verdict is
// kept per connection, so concurrent handshakes never mix their reasons.
//
// Answers are bounded (DESIGN §10b): redirects are never followed (a 3xx is
// an `invalid` error naming the Location: following one would send the token
// to another server), at most `max_answer_bytes` are received per answer
// (status line, headers and body; counted on the TLS connection, so neither
// a huge chunk nor endless headers can grow memory), JSON nesting and size
// are checked before parsing (proxmox/json_limits.hpp), and each request has
// a total deadline from its start to the last byte of its answer.
//
// The wire form of each call lives in proxmox/rest_calls.hpp and the error
// classification in proxmox/error_classification.hpp; this is the only
// translation unit that includes cpprest headers (this header does not).
#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/secret.hpp"
#include "proxmox/error_classification.hpp"
#include "proxmox/proxmox_api.hpp"

namespace dnsctl {

inline constexpr std::size_t kDefaultMaxAnswerBytes = std::size_t{8} << 20;  // 8 MiB

struct CpprestProxmoxApiConfig {
    std::string cluster;                            // the cluster's name, for messages (may be empty)
    std::string base_url;                           // https://host:8006 (the /api2/json prefix is added)
    std::string token_id;                           // user@realm!tokenname
    Secret token_secret;                            // never logged, never in an error message
    std::optional<std::filesystem::path> ca_file;   // trust the CAs in this PEM file, or
    std::optional<std::string> fingerprint_sha256;  // pin the server certificate ("AB:CD:…"); at most one of both
    // The total time one request may take, from its start (connecting, TLS)
    // to the last byte of its answer: a server trickling its answer cannot
    // hold a request longer than this.
    std::chrono::milliseconds request_timeout{30'000};
    // Bytes received for one answer, all included. PVE's largest answer that
    // dnsctl reads, the cluster listing, is about 300 bytes per guest: 8 MiB
    // leave room for some 25,000. Observing a cluster reads several answers
    // at once, each up to this size.
    std::size_t max_answer_bytes = kDefaultMaxAnswerBytes;
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
// records the system trust the process was started with (the operator's
// SSL_CERT_FILE / SSL_CERT_DIR when set, else OpenSSL's default paths), then
// points those variables at nothing, so that cpprestsdk's own loading is
// free. A cluster with neither CA file nor pin is verified against the
// recorded system trust.
void skip_default_ca_loading();

// The CA file and folder that a cluster without CA file or pin is verified
// against: SSL_CERT_FILE / SSL_CERT_DIR as they were when first asked (or
// when skip_default_ca_loading ran), else OpenSSL's compiled-in paths.
struct SystemTrustPaths {
    std::string file;
    std::string dir;
};
const SystemTrustPaths& system_trust_paths();

// Which stage of a request a cpprest http_client failure message belongs to
// (the messages of cpprestsdk 2.10's asio client). Exposed for unit tests.
TransportStage transport_stage_of(std::string_view cpprest_message, bool timed_out);

}  // namespace dnsctl
