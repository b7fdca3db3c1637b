// DnsProbe: the narrow port that asks nameservers questions, straight at
// their addresses (no resolver in between). LdnsDnsProbe implements it with
// many queries in flight on non-blocking sockets; tests use FakeDnsProbe,
// which answers from recorded packets.
//
// A probe only transports: it returns the answer's wire form, and the
// verification stage parses and judges it (dns/message.hpp). So recorded
// packets replay exactly, and the judging is tested without a network.
//
// Error kinds (per query):
//   unavailable  no answer within the attempts (timeout), connection refused
//                or reset, network unreachable
//   invalid      over TCP, the answer was not for this question (wrong ID or
//                question) or was truncated; over UDP such packets are strays,
//                ignored while the query waits for its answer
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "core/error.hpp"
#include "core/types.hpp"
#include "dns/rr_types.hpp"

namespace dnsctl {

enum class DnsTransport {
    udp,           // UDP only; a truncated answer is returned as it is (TC set)
    tcp,           // TCP only
    udp_then_tcp,  // UDP, and TCP again when the answer is truncated
};

struct DnsQuery {
    IpAddress server;
    std::uint16_t port = 53;
    DnsName qname;
    std::uint16_t qtype = rrtype::kSoa;
    DnsTransport transport = DnsTransport::udp_then_tcp;
    bool dnssec_ok = true;                      // EDNS0 with the DO bit (always EDNS0, 1232-byte buffer)
    std::chrono::milliseconds timeout{1'500};   // per attempt
    int attempts = 2;                           // UDP sends (TCP: connection attempts)
};

struct DnsResponse {
    std::vector<std::uint8_t> wire;  // the whole answer message
    DnsTransport transport = DnsTransport::udp;  // what carried the answer: udp or tcp
    std::chrono::microseconds round_trip{0};
};

class DnsProbe {
public:
    virtual ~DnsProbe() = default;

    // Every query, concurrently; results in the same order. Never throws.
    // Implementations bound the queries in flight (and so the descriptors
    // held); a query's timeout runs from when it is sent, so a call lasts at
    // most about ceil(queries / bound) × timeout × attempts (+ the TCP
    // fallback), and just timeout × attempts when every query fits at once.
    virtual std::vector<Result<DnsResponse>> query(std::span<const DnsQuery> queries) = 0;
};

}  // namespace dnsctl
