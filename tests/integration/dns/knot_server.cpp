#include "knot_server.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "core/clock.hpp"
#include "dns/ldns_dns_probe.hpp"
#include "dns/message.hpp"

namespace dnsctl::integration {

namespace {

// Binds port `port` (0: any) for `type` on 127.0.0.1 and ::1; returns the port or 0.
std::uint16_t bind_both(std::uint16_t port, int type, std::vector<int>& fds) {
    int v4 = socket(AF_INET, type, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (v4 < 0 || bind(v4, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        if (v4 >= 0) close(v4);
        return 0;
    }
    fds.push_back(v4);
    socklen_t length = sizeof a;
    getsockname(v4, reinterpret_cast<sockaddr*>(&a), &length);
    port = ntohs(a.sin_port);
    int v6 = socket(AF_INET6, type, 0);
    sockaddr_in6 b{};
    b.sin6_family = AF_INET6;
    b.sin6_port = htons(port);
    b.sin6_addr = in6addr_loopback;
    if (v6 < 0 || bind(v6, reinterpret_cast<sockaddr*>(&b), sizeof b) != 0) {
        if (v6 >= 0) close(v6);
        return 0;
    }
    fds.push_back(v6);
    return port;
}

}  // namespace

std::uint16_t free_port() {
    for (int attempt = 0; attempt < 50; ++attempt) {
        std::vector<int> fds;
        std::uint16_t port = bind_both(0, SOCK_DGRAM, fds);
        bool ok = port != 0 && bind_both(port, SOCK_STREAM, fds) == port;
        for (int fd : fds) close(fd);
        if (ok) return port;
    }
    throw std::runtime_error("no free port on 127.0.0.1 and ::1");
}

KnotZone probe_test_zone(const std::string& name) {
    std::string body =
        "@      SOA   ns1 hostmaster 1 7200 900 1209600 300\n"
        "@      NS    ns1\n"
        "@      NS    ns2.probe.example.\n"
        "ns1    A     127.0.0.1\n"
        "ns1    AAAA  ::1\n"
        "www    A     198.51.100.80\n";
    for (int i = 0; i < 30; ++i) {
        body += fmt::format("big    TXT   \"{:02}-abcdefghijklmnopqrstuvwxyz-abcdefghijklmnopqrstuvwxyz-0123\"\n", i);
    }
    return KnotZone{name, body, false};
}

KnotServer::KnotServer(std::vector<KnotZone> zones, int udp_workers) {
    const auto& root = dir_.path();
    std::filesystem::create_directories(root / "run");
    std::filesystem::create_directories(root / "storage");
    std::filesystem::create_directories(root / "zones");
    port_ = free_port();

    std::string zone_list;
    for (const auto& zone : zones) {
        std::ofstream(root / "zones" / (zone.name + ".zone"))
            << "$ORIGIN " << zone.name << ".\n$TTL 3600\n" << zone.body;
        zone_list += fmt::format("  - domain: {}\n{}", zone.name, zone.nsec3 ? "    dnssec-policy: nsec3\n" : "");
    }
    std::ofstream(root / "knot.conf") << fmt::format(
        "server:\n"
        "    rundir: \"{0}/run\"\n"
        "    listen: [ 127.0.0.1@{1}, ::1@{1} ]\n"
        "{2}"
        "log:\n"
        "  - target: stderr\n"
        "    any: notice\n"
        "database:\n"
        "    storage: \"{0}/storage\"\n"
        "policy:\n"
        "  - id: nsec\n"
        "    algorithm: ecdsap256sha256\n"
        "  - id: nsec3\n"
        "    algorithm: ecdsap256sha256\n"
        "    nsec3: on\n"
        "    nsec3-iterations: 0\n"
        "    nsec3-salt-length: 0\n"
        "template:\n"
        "  - id: default\n"
        "    storage: \"{0}/zones\"\n"
        "    file: \"%s.zone\"\n"
        "    zonefile-sync: -1\n"
        "    zonefile-load: difference-no-serial\n"
        "    journal-content: all\n"
        "    dnssec-signing: on\n"
        "    dnssec-policy: nsec\n"
        "zone:\n{3}",
        root.string(), port_, udp_workers > 0 ? fmt::format("    udp-workers: {}\n", udp_workers) : "", zone_list);

    knotd_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"knotd", "-c", (root / "knot.conf").string()}, root / "knotd.log");

    // Ready when every zone answers its DNSKEY RRset with a signature.
    SystemClock clock;
    LdnsDnsProbe probe(clock);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (true) {
        if (!knotd_->running()) throw std::runtime_error("knotd exited:\n" + log());
        std::vector<DnsQuery> queries;
        for (const auto& zone : zones) {
            DnsQuery q;
            q.server = *IpAddress::parse("127.0.0.1");
            q.port = port_;
            q.qname = *DnsName::parse(zone.name);
            q.qtype = rrtype::kDnskey;
            q.timeout = std::chrono::milliseconds(200);
            q.attempts = 1;
            queries.push_back(q);
        }
        bool ready = true;
        for (const auto& answer : probe.query(queries)) {
            auto message = answer ? parse_message(answer->wire) : Result<DnsMessage>(std::unexpected(answer.error()));
            bool signed_keys = message && std::any_of(message->answer.begin(), message->answer.end(), [](auto& r) {
                                   return r.type == rrtype::kRrsig;
                               });
            ready = ready && signed_keys;
        }
        if (ready) break;
        if (std::chrono::steady_clock::now() > until) throw std::runtime_error("knotd not ready in 30 s:\n" + log());
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

KnotServer::~KnotServer() { knotd_.reset(); }

int KnotServer::pid() const { return knotd_ ? knotd_->pid() : -1; }

std::string KnotServer::log() const { return read_file(dir_.path() / "knotd.log"); }

}  // namespace dnsctl::integration
