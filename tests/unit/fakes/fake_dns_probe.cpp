#include "fake_dns_probe.hpp"

#include <fmt/format.h>

namespace dnsctl {

namespace {

Error timeout(const DnsQuery& query) {
    return Error{ErrorKind::unavailable,
                 fmt::format("{} {} @{}: no answer (timed out)", query.qname.str(), query.qtype, query.server.str()),
                 false};
}

// The TC bit: byte 2, bit 0x02 of the header.
bool truncated(const std::vector<std::uint8_t>& wire) { return wire.size() > 2 && (wire[2] & 0x02) != 0; }

}  // namespace

void FakeDnsProbe::record(const IpAddress& server, const DnsName& qname, std::uint16_t qtype, DnsTransport transport,
                          std::vector<std::uint8_t> wire, std::uint16_t port) {
    std::lock_guard lock(mutex_);
    recorded_.insert_or_assign(Key{server, port, qname, qtype, transport},
                               Result<DnsResponse>(DnsResponse{std::move(wire), transport, {}}));
}

void FakeDnsProbe::record_error(const IpAddress& server, const DnsName& qname, std::uint16_t qtype,
                                DnsTransport transport, Error error, std::uint16_t port) {
    std::lock_guard lock(mutex_);
    recorded_.insert_or_assign(Key{server, port, qname, qtype, transport},
                               Result<DnsResponse>(std::unexpected(std::move(error))));
}

void FakeDnsProbe::set_server_down(const IpAddress& server, bool down) {
    std::lock_guard lock(mutex_);
    if (down) {
        down_.insert(server);
    } else {
        down_.erase(server);
    }
}

std::vector<DnsQuery> FakeDnsProbe::queries() const {
    std::lock_guard lock(mutex_);
    return queries_;
}

Result<DnsResponse> FakeDnsProbe::answer(const DnsQuery& query, DnsTransport transport) const {
    if (down_.contains(query.server)) return std::unexpected(timeout(query));
    auto it = recorded_.find(Key{query.server, query.port, query.qname, query.qtype, transport});
    if (it == recorded_.end()) return std::unexpected(timeout(query));
    return it->second;
}

std::vector<Result<DnsResponse>> FakeDnsProbe::query(std::span<const DnsQuery> queries) {
    std::vector<Result<DnsResponse>> out;
    for (const auto& query : queries) {
        if (auto injected = failures_.enter(DnsProbeMethod::query)) {
            out.emplace_back(std::unexpected(*injected));
            continue;
        }
        std::lock_guard lock(mutex_);
        queries_.push_back(query);
        if (query.transport == DnsTransport::udp_then_tcp) {
            auto udp = answer(query, DnsTransport::udp);
            if (udp && truncated(udp->wire)) {
                out.push_back(answer(query, DnsTransport::tcp));
            } else {
                out.push_back(std::move(udp));
            }
        } else {
            out.push_back(answer(query, query.transport));
        }
    }
    return out;
}

}  // namespace dnsctl
