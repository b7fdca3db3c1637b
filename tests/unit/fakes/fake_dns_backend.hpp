// FakeDnsBackend: a DNS server software as a test defines it. render writes
// one file per zone plus a main file, deterministically from the ServerConfig,
// so tests see real changes when the inventory changes; the check and reload
// commands are whatever the test sets (default: `fake-check <staged paths>`,
// `fake-reload`). Per-method failure injection; thread-safe.
#pragma once

#include <fmt/format.h>

#include <mutex>
#include <string>
#include <vector>

#include "dns/dns_backend.hpp"
#include "failure_injector.hpp"

namespace dnsctl {

enum class DnsBackendMethod { render };

class FakeDnsBackend final : public DnsBackend {
public:
    explicit FakeDnsBackend(std::string name = "fake", BackendCapabilities capabilities = default_capabilities())
        : name_(std::move(name)), capabilities_(std::move(capabilities)) {}

    static BackendCapabilities default_capabilities() {
        BackendCapabilities c;
        c.roles = {ServerRole::primary, ServerRole::secondary};
        c.signing = true;
        c.tsig_algorithms = {"hmac-sha256"};
        return c;
    }

    void set_reload_commands(std::vector<RemoteCommand> commands) {
        std::lock_guard lock(mutex_);
        reload_ = std::move(commands);
    }
    FailureInjector<DnsBackendMethod>& failures() { return failures_; }

    [[nodiscard]] std::string_view name() const override { return name_; }
    [[nodiscard]] const BackendCapabilities& capabilities() const override { return capabilities_; }
    [[nodiscard]] std::string service_name() const override { return name_; }

    [[nodiscard]] Result<std::vector<ManagedFile>> render(const ServerConfig& config,
                                                          const TemplateSet& templates) const override {
        if (auto injected = failures_.enter(DnsBackendMethod::render)) {
            return std::unexpected(*injected);
        }
        std::string main = fmt::format("# dnsctl estate={} host={} role={} templates={}\n", config.estate,
                                       config.host.str(), to_string(config.role), templates.texts.size());
        for (const auto& zone : config.zones) main += fmt::format("zone {}\n", zone.name.str());
        std::vector<ManagedFile> files;
        files.push_back(ManagedFile{RemoteFile{fmt::format("/etc/{}/{}.conf", name_, name_), main, 0644, "root", "root"},
                                    false});
        files.push_back(ManagedFile{RemoteFile{fmt::format("/etc/{}/tsig.conf", name_),
                                               fmt::format("key {} {} {}\n", config.tsig.name, config.tsig.algorithm,
                                                           config.tsig.secret.reveal()),
                                               0600, name_, name_},
                                    true});
        return files;
    }

    [[nodiscard]] std::vector<RemoteCommand> check_commands(std::span<const StagedFile> staged) const override {
        RemoteCommand check;
        check.argv = {"fake-check"};
        for (const auto& file : staged) check.argv.push_back(file.staged_path);
        return {check};
    }

    [[nodiscard]] std::vector<RemoteCommand> reload_commands() const override {
        std::lock_guard lock(mutex_);
        if (!reload_.empty()) return reload_;
        RemoteCommand reload;
        reload.argv = {"fake-reload"};
        return {reload};
    }

private:
    std::string name_;
    BackendCapabilities capabilities_;
    mutable std::mutex mutex_;
    std::vector<RemoteCommand> reload_;
    mutable FailureInjector<DnsBackendMethod> failures_;
};

}  // namespace dnsctl
