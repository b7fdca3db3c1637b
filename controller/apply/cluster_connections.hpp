// One Proxmox API client per cluster of an inventory: a CpprestProxmoxApi
// (token secret resolved now, TLS verified against the cluster's CA file or
// pinned fingerprint) wrapped in a RetryingProxmoxApi. Owned here; observe and
// execute borrow them through ClusterApis.
#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "inventory/model.hpp"
#include "plan/observed_state.hpp"
#include "proxmox/cpprest_proxmox_api.hpp"
#include "proxmox/retrying_proxmox_api.hpp"

namespace dnsctl {

struct ConnectOptions {
    std::chrono::milliseconds request_timeout{30'000};  // total, per request (CpprestProxmoxApiConfig)
    std::size_t max_answer_bytes = kDefaultMaxAnswerBytes;  // per answer, all bytes received
    RetryPolicy retry;
    std::stop_token stop;  // requested: nothing is retried any more (SIGINT during apply)
};

class ClusterConnections {
public:
    ClusterConnections() = default;
    // Borrowed APIs (tests): nothing is owned.
    explicit ClusterConnections(ClusterApis apis) : apis_(std::move(apis)) {}

    void add(const std::string& cluster, std::unique_ptr<ProxmoxApi> transport, std::unique_ptr<ProxmoxApi> api);
    [[nodiscard]] const ClusterApis& apis() const { return apis_; }

private:
    // Declaration order matters: the decorators go before what they wrap.
    std::vector<std::unique_ptr<ProxmoxApi>> transports_;
    std::vector<std::unique_ptr<ProxmoxApi>> decorators_;
    ClusterApis apis_;
};

// Every cluster's client, or every problem found (unreadable secret or
// fingerprint file, bad URL) in one error. Makes no request. Secrets never
// appear in the error. Each cluster's backoff jitter draws from its own
// generator, seeded from `seed`.
Result<std::unique_ptr<ClusterConnections>> connect_clusters(const Inventory& inventory, Clock& clock,
                                                             std::uint64_t seed, const ConnectOptions& options,
                                                             std::shared_ptr<spdlog::logger> logger);

}  // namespace dnsctl
