// Test support: a local HTTPS server (tls_test_server.py) with a self-signed
// certificate generated for the test, on 127.0.0.1 and a free port.
#pragma once

#include <memory>
#include <string>

#include "child_process.hpp"
#include "proxmox/cpprest_proxmox_api.hpp"

namespace dnsctl::integration {

inline constexpr const char* kTokenId = "dnsctl@pve!ctl";
inline constexpr const char* kTokenSecret = "5f0c1a52-7d6e-4f0b-9a38-1d2c3b4a5e6f";  // a test value

inline constexpr const char* kLoopbackNames = "IP:127.0.0.1,DNS:localhost";

// Generates a self-signed certificate for `names` (a subjectAltName value) in
// `dir`, named <stem>.pem / <stem>-key.pem; returns its SHA-256 fingerprint
// as `openssl x509 -fingerprint -sha256` prints it.
std::string make_self_signed_certificate(const std::filesystem::path& dir, const std::string& stem,
                                         const std::string& names = kLoopbackNames);

class TlsTestServer {
public:
    // Starts the server with a certificate for `names` and waits until it
    // listens. With `alternate`, every second connection presents another
    // certificate (alternate_fingerprint()).
    explicit TlsTestServer(const std::string& names = kLoopbackNames, bool alternate = false);
    [[nodiscard]] std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
    [[nodiscard]] const std::string& fingerprint() const { return fingerprint_; }  // "sha256 Fingerprint=AB:…"
    [[nodiscard]] const std::string& alternate_fingerprint() const { return alternate_fingerprint_; }
    [[nodiscard]] int port() const { return port_; }
    [[nodiscard]] std::filesystem::path certificate() const { return dir_.path() / "server.pem"; }
    [[nodiscard]] const std::filesystem::path& folder() const { return dir_.path(); }
    [[nodiscard]] std::string recorded_request() const { return read_file(dir_.path() / "record.json"); }
    [[nodiscard]] std::string recorded_starts() const { return read_file(dir_.path() / "record.json.starts"); }
    // Requests that reached /api2/json/redirected (by following a redirect).
    [[nodiscard]] std::string recorded_redirects() const;

    // A config that trusts this server by pin; tests adjust it.
    [[nodiscard]] CpprestProxmoxApiConfig pinned_config() const;

private:
    TempDir dir_;
    std::string fingerprint_;
    std::string alternate_fingerprint_;
    int port_ = 0;
    std::unique_ptr<ChildProcess> process_;
};

}  // namespace dnsctl::integration
