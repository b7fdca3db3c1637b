// FakeDnsProbe: answers from recorded packets. A test records the wire answer
// (or the error) for a (server, port, name, type, transport) question; a
// question nobody recorded times out, as a silent server would. Servers can be
// taken down as a whole. Per-method failure injection; thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "dns/dns_probe.hpp"
#include "failure_injector.hpp"

namespace dnsctl {

enum class DnsProbeMethod { query };

class FakeDnsProbe final : public DnsProbe {
public:
    // The answer for this question over `transport` (udp or tcp). For
    // udp_then_tcp queries the UDP answer is used, and the TCP one when the
    // UDP answer has TC set.
    void record(const IpAddress& server, const DnsName& qname, std::uint16_t qtype, DnsTransport transport,
                std::vector<std::uint8_t> wire, std::uint16_t port = 53);
    void record_error(const IpAddress& server, const DnsName& qname, std::uint16_t qtype, DnsTransport transport,
                      Error error, std::uint16_t port = 53);
    // Every query to the server times out.
    void set_server_down(const IpAddress& server, bool down);

    [[nodiscard]] std::vector<DnsQuery> queries() const;  // every query asked, in order
    FailureInjector<DnsProbeMethod>& failures() { return failures_; }

    std::vector<Result<DnsResponse>> query(std::span<const DnsQuery> queries) override;

private:
    using Key = std::tuple<IpAddress, std::uint16_t, DnsName, std::uint16_t, DnsTransport>;
    Result<DnsResponse> answer(const DnsQuery& query, DnsTransport transport) const;

    mutable std::mutex mutex_;
    std::map<Key, Result<DnsResponse>> recorded_;
    std::set<IpAddress> down_;
    std::vector<DnsQuery> queries_;
    FailureInjector<DnsProbeMethod> failures_;
};

}  // namespace dnsctl
