// Test support: a knotd of our own on 127.0.0.1 and ::1 (an unprivileged
// port, a temporary configuration and storage), signing its zones itself.
// Stopped by its PID when the object goes; the folder is removed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace dnsctl::integration {

struct KnotZone {
    std::string name;       // "probe.test"
    std::string body;       // master file text after $ORIGIN/$TTL
    bool nsec3 = false;     // NSEC3 (0 iterations, no salt) instead of NSEC
};

// A port free on 127.0.0.1 and ::1 for both UDP and TCP at the time of the call.
std::uint16_t free_port();

class KnotServer {
public:
    // Starts knotd and waits (30 s at most) until every zone answers a
    // signed DNSKEY RRset. Throws std::runtime_error otherwise.
    explicit KnotServer(std::vector<KnotZone> zones, int udp_workers = 0);
    ~KnotServer();
    KnotServer(const KnotServer&) = delete;
    KnotServer& operator=(const KnotServer&) = delete;

    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] int pid() const;
    [[nodiscard]] std::string log() const;

private:
    TempDir dir_;
    std::uint16_t port_ = 0;
    std::unique_ptr<ChildProcess> knotd_;
};

// A zone with the records the probe tests ask for: SOA, NS, A/AAAA of ns1,
// and "big": a TXT RRset of 30 strings, too big for a 1232-byte UDP answer.
KnotZone probe_test_zone(const std::string& name = "probe.test");

}  // namespace dnsctl::integration
