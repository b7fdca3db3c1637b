#include "tls_test_server.hpp"

#include <stdexcept>

namespace dnsctl::integration {

std::string make_self_signed_certificate(const std::filesystem::path& dir, const std::string& stem,
                                         const std::string& names) {
    const auto cert = dir / (stem + ".pem");
    const auto key = dir / (stem + "-key.pem");
    const auto log = dir / "openssl.log";
    if (run_command({DNSCTL_OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                     "-nodes", "-keyout", key.string(), "-out", cert.string(), "-days", "2", "-subj", "/CN=localhost",
                     "-addext", "subjectAltName=" + names},
                    log) != 0) {
        throw std::runtime_error("openssl req failed:\n" + read_file(log));
    }
    const auto fingerprint = dir / (stem + ".fingerprint");
    if (run_command({DNSCTL_OPENSSL, "x509", "-in", cert.string(), "-noout", "-fingerprint", "-sha256", "-out",
                     fingerprint.string()},
                    log) != 0) {
        throw std::runtime_error("openssl x509 failed:\n" + read_file(log));
    }
    auto text = read_file(fingerprint);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return text;
}

TlsTestServer::TlsTestServer(const std::string& names, bool alternate) {
    fingerprint_ = make_self_signed_certificate(dir_.path(), "server", names);
    const auto log = dir_.path() / "server.log";
    const auto ready = dir_.path() / "ready";
    std::vector<std::string> argv{DNSCTL_PYTHON3, DNSCTL_TLS_TEST_SERVER, "--cert", certificate().string(), "--key",
                                  (dir_.path() / "server-key.pem").string(), "--ready-file", ready.string(),
                                  "--record", (dir_.path() / "record.json").string(), "--auth",
                                  std::string("PVEAPIToken=") + kTokenId + "=" + kTokenSecret};
    if (alternate) {
        alternate_fingerprint_ = make_self_signed_certificate(dir_.path(), "alternate", names);
        argv.insert(argv.end(), {"--alternate-cert", (dir_.path() / "alternate.pem").string(),
                                 (dir_.path() / "alternate-key.pem").string()});
    }
    process_ = std::make_unique<ChildProcess>(argv, log);
    port_ = std::stoi(wait_for_file(ready, *process_, log, std::chrono::seconds(20)));
}

std::string TlsTestServer::recorded_redirects() const {
    const auto file = dir_.path() / "record.json.redirected";
    return std::filesystem::exists(file) ? read_file(file) : std::string();
}

CpprestProxmoxApiConfig TlsTestServer::pinned_config() const {
    CpprestProxmoxApiConfig config;
    config.cluster = "th2";
    config.base_url = url();
    config.token_id = kTokenId;
    config.token_secret = Secret(kTokenSecret);
    config.fingerprint_sha256 = fingerprint_;
    config.request_timeout = std::chrono::seconds(10);
    return config;
}

}  // namespace dnsctl::integration
