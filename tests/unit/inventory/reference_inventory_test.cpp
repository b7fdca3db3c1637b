#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "inventory/load_inventory.hpp"

using namespace dnsctl;

namespace {

std::string all(const Diagnostics& diagnostics) {
    std::string out;
    for (const auto& d : diagnostics.items()) out += d.format() + "\n";
    return out;
}

const LoadedInventory& reference() {
    static const LoadedInventory loaded =
        load_inventory(std::filesystem::path(DNSCTL_SOURCE_DIR) / "inventory" / "inventory.yaml");
    return loaded;
}

}  // namespace

TEST_CASE("load_inventory: the reference inventory loads without any diagnostic") {
    const auto& loaded = reference();
    INFO(all(loaded.diagnostics));
    CHECK(loaded.diagnostics.empty());
}

TEST_CASE("load_inventory: the reference inventory's values reach the model") {
    const Inventory& inv = reference().inventory;
    const auto source = std::filesystem::path(DNSCTL_SOURCE_DIR).lexically_normal();
    CHECK(inv.version == 1);
    CHECK(inv.estate == "rdem-systems");
    CHECK(inv.path == source / "inventory" / "inventory.yaml");
    CHECK(inv.state_dir == source / "inventory" / ".dnsctl");
    CHECK(inv.known_hosts_file() == source / "inventory" / ".dnsctl" / "known_hosts");

    REQUIRE(inv.clusters.size() == 4);
    const Cluster& th2 = inv.clusters[0];
    CHECK(th2.name == "th2");
    CHECK(th2.datacenter == "Telehouse 2");
    CHECK(th2.api_url == "https://198.19.0.11:8006");
    CHECK(th2.token.id == "dnsctl@pve!apply");
    CHECK(th2.token.secret.describe() == "env:DNSCTL_TH2_TOKEN");
    REQUIRE(th2.readonly_token);
    CHECK(th2.readonly_token->secret.describe() == "env:DNSCTL_TH2_READONLY_TOKEN");
    CHECK(th2.tls.fingerprint_sha256 ==
          "15:7A:33:15:8C:88:D2:C2:3F:E7:49:00:37:CC:62:8E:85:CA:23:55:43:DA:C1:9F:55:DC:87:07:35:FF:5B:9B");
    CHECK_FALSE(th2.tls.ca_file);
    CHECK(th2.node == "pve-th2-1");
    CHECK(th2.template_vmid.value == 9000);
    CHECK(th2.storage == "local-lvm");
    CHECK(th2.bridge == "vmbr0");
    CHECK_FALSE(th2.vlan);
    CHECK(th2.where.line == 12);  // the line of its key
    CHECK(th2.where.column == 3);
    CHECK(inv.clusters[1].vlan == 53);
    CHECK_FALSE(inv.clusters[1].readonly_token);

    const PrimaryServer& primary = inv.primary;
    CHECK(primary.fqdn.str() == "primary.rdem-systems.net");
    CHECK(primary.cluster == "pa5");
    CHECK(primary.vmid.value == 5300);
    CHECK(primary.software == Software::knot);
    REQUIRE(primary.ipv4);
    CHECK(primary.ipv4->address.str() == "198.18.1.10/24");
    CHECK(primary.ipv4->gateway.str() == "198.18.1.1");
    REQUIRE(primary.ipv6);
    CHECK(primary.ipv6->address.str() == "2001:db8:3::10/64");
    CHECK(primary.resources.memory_mib == 4096);

    REQUIRE(inv.nameservers.size() == 4);
    std::vector<std::string> names, domains, tlds;
    std::vector<std::uint32_t> asns;
    std::set<Software> softwares;
    for (const auto& ns : inv.nameservers) {
        names.push_back(ns.fqdn.str());
        domains.push_back(ns.registrable_domain);
        tlds.emplace_back(ns.fqdn.tld());
        asns.push_back(ns.asn.value);
        softwares.insert(ns.software);
        CHECK(ns.resources.cores == 2);  // default
        CHECK(ns.resources.memory_mib == 2048);
        CHECK(ns.resources.disk_gib == 20);
    }
    CHECK(names == std::vector<std::string>{"ns-ipset.rdem-systems.eu", "ns-arelion.rdem-systems.fr",
                                            "ns-rds.rdem-systems.com", "ns-ielo.rdem-systems.net"});
    CHECK(domains ==
          std::vector<std::string>{"rdem-systems.eu", "rdem-systems.fr", "rdem-systems.com", "rdem-systems.net"});
    CHECK(tlds == std::vector<std::string>{"eu", "fr", "com", "net"});
    CHECK(asns == std::vector<std::uint32_t>{199275, 1299, 206014, 29075});
    CHECK(softwares.size() == 3);
    CHECK(inv.nameservers[0].cluster == "th2");
    CHECK(inv.nameservers[2].software == Software::bind);
    CHECK(inv.nameservers[1].ipv6->gateway.str() == "2001:db8:2::1");

    REQUIRE(inv.zones.size() == 4);
    for (const auto& zone : inv.zones) {
        INFO(zone.name.str());
        CHECK(zone.dnssec == "default");
        CHECK(zone.file == source / "inventory" / "zones" / (zone.name.str() + ".zone"));
        REQUIRE(zone.facts);
        CHECK(zone.facts->soa_expire == 1209600);
        CHECK(zone.facts->soa_refresh == 3600);
        CHECK(zone.facts->soa_retry == 900);
        CHECK(zone.facts->soa_minimum == 3600);
        CHECK(zone.facts->soa_mname.str() == "ns-ipset.rdem-systems.eu");
        CHECK(zone.facts->apex_ns.size() == 4);
    }

    REQUIRE(inv.dnssec_policies.size() == 1);
    const DnssecPolicy& policy = inv.dnssec_policies[0];
    CHECK(policy.name == "default");
    CHECK(policy.algorithm == "ecdsap256sha256");
    CHECK(policy.ksk_lifetime == Duration(0));
    CHECK(policy.zsk_lifetime == Duration(90 * 86400));
    CHECK(policy.rrsig_lifetime == Duration(21 * 86400));
    CHECK(policy.rrsig_refresh == Duration(14 * 86400));
    CHECK(policy.denial == Denial::nsec3);
    CHECK(policy.nsec3_iterations == 0);

    CHECK(inv.tsig.name == "dnsctl-xfr");
    CHECK(inv.tsig.secret.describe() == "env:DNSCTL_TSIG_SECRET");
    CHECK(inv.ssh.user == "dnsctl");
    CHECK(inv.ssh.key_file == "/etc/dnsctl/id_ed25519");
    CHECK(inv.ssh.port == 22);
    REQUIRE(inv.asn_sources.size() == 1);
    CHECK(inv.asn_sources[0].kind == AsnSource::Kind::static_declared);

    CHECK(inv.policy.min_nameservers == 4);
    CHECK(inv.policy.distinct.size() == 7);
    CHECK_FALSE(inv.policy.distinct.contains(Dimension::software));
    CHECK(inv.policy.primary_outage == Duration(7 * 86400));
    CHECK(inv.policy.min_surviving == 2);
}
