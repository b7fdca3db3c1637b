// LdnsDnsProbe: DnsProbe over the network, straight to each server's address
// (IPv4 or IPv6), many queries in flight from one thread on non-blocking
// sockets and epoll. ldns builds the query messages (EDNS0, DO); the answers
// go back as wire bytes (dns/message.hpp parses them).
//
// UDP: a pool of dual-stack sockets, each bound to a random source port and
// used for many queries, sent and read up to 16 at a time (sendmmsg,
// recvmmsg). Every query gets a random ID (getrandom), and an answer counts
// only when it comes from the server's address and port and carries the
// query's ID and question (a question the server compressed does not
// match); anything else is a stray and is ignored. A UDP socket is replaced
// by one on a fresh port after carrying `queries_per_udp_socket` queries.
// Attempts are resent on the same socket with the same ID, so a late answer
// to the first one still counts. An ICMP port or host unreachable ends the
// query at once.
//
// TCP (explicit, or after a truncated UDP answer): one connection per query,
// two-byte length framing, partial reads and writes.
//
// Bounds: at most `max_udp_sockets` UDP sockets and `max_tcp_connections`
// TCP connections are open at once, and at most `max_udp_in_flight` UDP
// queries await an answer; the rest wait their turn, so any number of queries
// fits in a fixed number of descriptors. Every wait has a deadline read from
// the Clock. A server that answers nothing is given up on after a few
// timeouts, so a dead server costs one round of timeouts, not one per batch.
// Each query()'s sockets are closed before it returns.
#pragma once

#include <cstdint>

#include "core/clock.hpp"
#include "dns/dns_probe.hpp"

namespace dnsctl {

struct LdnsDnsProbeOptions {
    int max_udp_sockets = 256;
    int max_tcp_connections = 64;
    // UDP queries sent and not yet answered: a burst one server's socket
    // buffers absorb (at 256 knotd on loopback began to drop: retransmissions
    // after a timeout cost far more than the concurrency gains).
    int max_udp_in_flight = 128;
    int queries_per_udp_socket = 1000;
    // A server that has answered none of a call's queries and let this many
    // time out gets no more of them: its waiting queries fail at once (0:
    // never give up). Without it a dead server holds every slot for
    // timeout × attempts, batch after batch.
    int give_up_after_timeouts = 8;
    std::uint16_t edns_udp_size = 1232;  // the EDNS0 buffer size advertised (DNS flag day 2020)
};

class LdnsDnsProbe final : public DnsProbe {
public:
    explicit LdnsDnsProbe(Clock& clock, LdnsDnsProbeOptions options = {});

    std::vector<Result<DnsResponse>> query(std::span<const DnsQuery> queries) override;

    // What the last query() saw (for tests and benchmarks). One query() at a
    // time per probe object.
    struct Counters {
        std::uint64_t udp_sent = 0;       // datagrams, retransmissions included
        std::uint64_t udp_strays = 0;     // datagrams that matched no query
        std::uint64_t udp_sockets_opened = 0;
        std::uint64_t tcp_connections = 0;
        int peak_udp_sockets = 0;
        int peak_tcp_connections = 0;
    };
    [[nodiscard]] const Counters& counters() const { return counters_; }

private:
    Clock& clock_;
    LdnsDnsProbeOptions options_;
    Counters counters_;
};

}  // namespace dnsctl
