#include "apply/cluster_connections.hpp"

#include <fmt/format.h>

#include <fstream>

#include "core/secret.hpp"
#include "core/text.hpp"
#include "proxmox/cpprest_proxmox_api.hpp"

namespace dnsctl {

namespace {

Result<std::string> read_fingerprint_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) {
        return fail(ErrorKind::not_found,
                    fmt::format("cannot read the certificate fingerprint file {}", path.string()));
    }
    std::string line;
    std::getline(in, line);
    auto fingerprint = std::string(trim(line));
    if (fingerprint.empty()) {
        return fail(ErrorKind::invalid, fmt::format("the certificate fingerprint file {} is empty", path.string()));
    }
    return fingerprint;
}

Result<CpprestProxmoxApiConfig> client_config(const Cluster& cluster, const ConnectOptions& options,
                                              std::shared_ptr<spdlog::logger> logger) {
    CpprestProxmoxApiConfig config;
    config.cluster = cluster.name;
    config.base_url = cluster.api_url;
    config.token_id = cluster.token.id;
    auto secret = resolve_secret(cluster.token.secret);
    if (!secret) {
        return std::unexpected(secret.error().within(fmt::format("token secret ({})", cluster.token.secret.describe())));
    }
    config.token_secret = std::move(*secret);
    if (cluster.tls.ca_file) config.ca_file = cluster.tls.ca_file;
    if (cluster.tls.fingerprint_sha256) config.fingerprint_sha256 = cluster.tls.fingerprint_sha256;
    if (cluster.tls.fingerprint_file) {
        auto fingerprint = read_fingerprint_file(*cluster.tls.fingerprint_file);
        if (!fingerprint) return std::unexpected(fingerprint.error());
        config.fingerprint_sha256 = std::move(*fingerprint);
    }
    config.request_timeout = options.request_timeout;
    config.max_answer_bytes = options.max_answer_bytes;
    config.logger = std::move(logger);
    return config;
}

}  // namespace

void ClusterConnections::add(const std::string& cluster, std::unique_ptr<ProxmoxApi> transport,
                             std::unique_ptr<ProxmoxApi> api) {
    apis_[cluster] = api.get();
    transports_.push_back(std::move(transport));
    decorators_.push_back(std::move(api));
}

Result<std::unique_ptr<ClusterConnections>> connect_clusters(const Inventory& inventory, Clock& clock,
                                                             std::uint64_t seed, const ConnectOptions& options,
                                                             std::shared_ptr<spdlog::logger> logger) {
    auto connections = std::make_unique<ClusterConnections>();
    std::vector<std::string> problems;
    ErrorKind kind = ErrorKind::invalid;
    std::uint64_t index = 0;
    for (const auto& cluster : inventory.clusters) {
        ++index;
        auto config = client_config(cluster, options, logger);
        if (!config) {
            problems.push_back(fmt::format("cluster {}: {}", cluster.name, config.error().message));
            kind = config.error().kind;
            continue;
        }
        auto transport = CpprestProxmoxApi::open(std::move(*config));
        if (!transport) {
            problems.push_back(fmt::format("cluster {}: {}", cluster.name, transport.error().message));
            kind = transport.error().kind;
            continue;
        }
        auto retrying = std::make_unique<RetryingProxmoxApi>(**transport, clock, make_seeded_random(seed + index),
                                                             options.retry, logger, options.stop);
        connections->add(cluster.name, std::move(*transport), std::move(retrying));
    }
    if (!problems.empty()) return fail(kind, join(problems, "\n"));
    return connections;
}

}  // namespace dnsctl
