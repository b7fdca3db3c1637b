// Inventories built in code for the policy tests: the reference estate of
// DESIGN §1 (four clusters, four ASNs, four TLDs, two server softwares, two
// signed zones, the hidden primary beside ns-rds on pa5) and small edits of it.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "inventory/model.hpp"

namespace dnsctl::test {

template <class T>
T parsed(Result<T> result) {
    if (!result) throw std::runtime_error(result.error().message);
    return *result;
}

inline DnsName name(std::string_view text) { return parsed(DnsName::parse(text)); }

inline SourceLocation at(int line, int column = 5) { return SourceLocation{"inventory.yaml", line, column}; }

inline InterfaceAddress address(std::string_view interface, std::string_view gateway) {
    return InterfaceAddress{parsed(IpInterface::parse(interface)), parsed(IpAddress::parse(gateway))};
}

inline Cluster cluster(std::string name, std::string datacenter, int line) {
    Cluster c;
    c.name = std::move(name);
    c.datacenter = std::move(datacenter);
    c.api_url = "https://127.0.0.1:8006";
    c.node = "pve1";
    c.template_vmid = Vmid{9000};
    c.where = at(line);
    return c;
}

struct NsSpec {
    std::string_view fqdn;
    std::string_view cluster;
    std::uint32_t asn;
    std::optional<std::string_view> ipv4;
    std::optional<std::string_view> ipv6;
    Software software;
    std::string_view registrable_domain;
    int line;
};

inline Nameserver nameserver(const NsSpec& spec) {
    Nameserver ns;
    ns.fqdn = name(spec.fqdn);
    ns.cluster = std::string(spec.cluster);
    ns.vmid = Vmid{200};
    ns.software = spec.software;
    if (spec.ipv4) {
        auto iface = parsed(IpInterface::parse(*spec.ipv4));
        ns.ipv4 = InterfaceAddress{iface, iface.network().network};
    }
    if (spec.ipv6) {
        auto iface = parsed(IpInterface::parse(*spec.ipv6));
        ns.ipv6 = InterfaceAddress{iface, iface.network().network};
    }
    ns.asn = Asn{spec.asn};
    ns.registrable_domain = std::string(spec.registrable_domain);
    ns.where = at(spec.line);
    return ns;
}

inline Nameserver* find_ns(Inventory& inventory, std::string_view fqdn) {
    for (auto& ns : inventory.nameservers) {
        if (ns.fqdn.str() == fqdn) return &ns;
    }
    throw std::runtime_error("no nameserver " + std::string(fqdn));
}

inline Inventory reference_estate() {
    Inventory inv;
    inv.path = "/estate/inventory.yaml";
    inv.estate = "rdem";
    inv.clusters = {
        cluster("th2", "telehouse-th2", 10),
        cluster("pa4", "equinix-pa4", 20),
        cluster("pa5", "equinix-pa5", 30),
        cluster("pa3", "equinix-pa3", 40),
    };
    inv.primary.fqdn = name("primary.rdem-systems.eu");
    inv.primary.cluster = "pa5";
    inv.primary.where = at(50);
    inv.nameservers = {
        nameserver({"ns-ipset.rdem-systems.eu", "th2", 199275, "198.51.100.10/24", "2001:db8:1::10/64", Software::knot,
                    "rdem-systems.eu", 60}),
        nameserver({"ns-arelion.rdem-systems.fr", "pa4", 1299, "203.0.113.10/24", "2001:db8:2::10/64", Software::nsd,
                    "rdem-systems.fr", 70}),
        nameserver({"ns-rds.rdem-systems.com", "pa5", 206014, "198.18.0.10/24", "2001:db8:3::10/64", Software::knot,
                    "rdem-systems.com", 80}),
        nameserver({"ns-ielo.rdem-systems.net", "pa3", 29075, "198.19.0.10/24", "2001:db8:4::10/64", Software::nsd,
                    "rdem-systems.net", 90}),
    };
    DnssecPolicy signing;
    signing.name = "default";
    signing.rrsig_lifetime = Duration(21 * 86400);
    signing.rrsig_refresh = Duration(14 * 86400);
    signing.where = at(100);
    inv.dnssec_policies = {signing};
    for (auto [zone_name, line] : {std::pair{"rdem-systems.eu", 110}, std::pair{"rdem-systems.fr", 120}}) {
        Zone zone;
        zone.name = name(zone_name);
        zone.file = std::string("/estate/zones/") + zone_name + ".zone";
        zone.dnssec = "default";
        ZoneFacts facts;
        facts.soa_refresh = 3600;
        facts.soa_retry = 900;
        facts.soa_expire = 14 * 86400;
        facts.soa_minimum = 300;
        zone.facts = facts;
        zone.where = at(line);
        inv.zones.push_back(zone);
    }
    inv.policy.where = at(130);
    return inv;
}

}  // namespace dnsctl::test
