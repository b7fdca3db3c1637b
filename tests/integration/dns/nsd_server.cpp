#include "nsd_server.hpp"

#include <fmt/format.h>

#include <fstream>
#include <stdexcept>
#include <thread>

#include "core/clock.hpp"
#include "dns/ldns_dns_probe.hpp"
#include "dns/message.hpp"
#include "knot_server.hpp"

namespace dnsctl::integration {

NsdServer::NsdServer(std::vector<NsdZone> zones) {
    const auto& root = dir_.path();
    port_ = free_port();
    std::string zone_list;
    for (const auto& zone : zones) {
        std::filesystem::copy_file(zone.file, root / (zone.name + ".zone"));
        zone_list += fmt::format("zone:\n    name: \"{0}\"\n    zonefile: \"{0}.zone\"\n", zone.name);
    }
    std::ofstream(root / "nsd.conf") << fmt::format(
        "server:\n"
        "    ip-address: 127.0.0.1@{1}\n"
        "    ip-address: ::1@{1}\n"
        "    port: {1}\n"
        "    username: \"\"\n"
        "    chroot: \"\"\n"
        "    zonesdir: \"{0}\"\n"
        "    database: \"\"\n"
        "    pidfile: \"{0}/nsd.pid\"\n"
        "    xfrdfile: \"{0}/xfrd.state\"\n"
        "    xfrdir: \"{0}\"\n"
        "    zonelistfile: \"{0}/zone.list\"\n"
        "    logfile: \"{0}/nsd.log\"\n"
        "    server-count: 1\n"
        "    verbosity: 1\n"
        "remote-control:\n"
        "    control-enable: no\n"
        "{2}",
        root.string(), port_, zone_list);

    nsd_ = std::make_unique<ChildProcess>(std::vector<std::string>{"nsd", "-d", "-c", (root / "nsd.conf").string()},
                                          root / "nsd.out");

    SystemClock clock;
    LdnsDnsProbe probe(clock);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (true) {
        if (!nsd_->running()) throw std::runtime_error("nsd exited:\n" + log());
        std::vector<DnsQuery> queries;
        for (const auto& zone : zones) {
            DnsQuery q;
            q.server = *IpAddress::parse("127.0.0.1");
            q.port = port_;
            q.qname = *DnsName::parse(zone.name);
            q.qtype = rrtype::kSoa;
            q.timeout = std::chrono::milliseconds(200);
            q.attempts = 1;
            queries.push_back(q);
        }
        bool ready = true;
        for (const auto& answer : probe.query(queries)) {
            auto message = answer ? parse_message(answer->wire) : Result<DnsMessage>(std::unexpected(answer.error()));
            ready = ready && message && message->header.aa && !message->answer.empty();
        }
        if (ready) break;
        if (std::chrono::steady_clock::now() > until) throw std::runtime_error("nsd not ready in 20 s:\n" + log());
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

NsdServer::~NsdServer() { nsd_.reset(); }

std::string NsdServer::log() const {
    return read_file(dir_.path() / "nsd.out") + read_file(dir_.path() / "nsd.log");
}

}  // namespace dnsctl::integration
