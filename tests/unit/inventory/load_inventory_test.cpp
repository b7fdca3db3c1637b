#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <filesystem>
#include <string>
#include <vector>

#include "inventory/load_inventory.hpp"

using namespace dnsctl;

namespace {

const std::filesystem::path kInventories = std::filesystem::path(DNSCTL_TEST_DATA) / "inventories";

struct Expected {
    int line;
    int column;
    std::string_view text;    // a substring of the message: the key path, the value, what is expected
    std::string_view file{};  // end of the diagnostic's file name; empty: the inventory itself
};

struct BrokenCase {
    std::string_view fixture;
    std::vector<Expected> expected;             // exactly these errors, nothing else
    std::vector<std::string_view> never_shown{};  // values no message may contain (secrets)
};

std::string all(const Diagnostics& diagnostics) {
    std::string out;
    for (const auto& d : diagnostics.items()) out += d.format() + "\n";
    return out;
}

const std::vector<BrokenCase> kBrokenCases = {
    {"unknown_key",
     {
         {15, 3, "clusters[beta]: missing required key 'datacenter'"},
         {16, 5, "clusters[beta]: unknown key 'datacentre'; did you mean 'datacenter'?"},
         {28, 3, "primary: unknown key 'colour'; expected one of: fqdn, cluster, vmid"},
     }},
    {"wrong_type",
     {
         {20, 10, "clusters[beta].tls: expected a map with keys ca_file, fingerprint, fingerprint_file, got a scalar"},
         {27, 9, "primary.vmid: expected an integer from 100 to 999999999, got 'one hundred'"},
         {45, 10, "nameservers[ns2.example.net].asn: expected an integer from 1 to 4294967294, got a list"},
         {62, 9, "ssh.port: expected an integer from 1 to 65535, got 'yes'"},
     }},
    {"inline_secret",
     {
         {9, 19, "clusters[alpha].token_secret: an inline secret is not allowed (the value is not shown)"},
         {22, 21, "clusters[beta].readonly_token: expected a map with keys id, secret, got a scalar"},
         {61, 11, "tsig.secret: an inline secret is not allowed"},
     },
     {"8f3c2a1e", "c2VjcmV0", "hunter2"}},
    {"duplicate_vmid",
     {
         {36, 11, "nameservers[ns1.example.eu].vmid: VMID 100 on cluster alpha is already taken by primary"},
         {47, 11, "nameservers[ns2.example.net].vmid: VMID 9000 on cluster beta is already taken by the template of "
                  "cluster beta"},
     }},
    {"dangling_cluster",
     {
         {27, 12, "primary.cluster: no cluster named 'alpah'; did you mean 'alpha'?"},
         {45, 14, "nameservers[ns2.example.net].cluster: no cluster named 'gamma' (clusters: alpha, beta)"},
         {55, 13, "zones[example.eu].dnssec: no DNSSEC policy named 'defualt'; did you mean 'default'?"},
     }},
    {"zone_ns_mismatch",
     {
         {56, 3, "zones[mismatch.eu]: the apex NS RRset of zones/mismatch.eu.zone lacks ns2.example.net"},
         {56, 3, "zones[mismatch.eu]: the apex NS RRset of zones/mismatch.eu.zone lists ns3.example.org, not a "
                 "nameserver of the inventory"},
         {56, 3, "lists the hidden primary primary.example.net"},
     }},
    {"invalid_yaml",
     {
         {29, 7, "invalid YAML: end of sequence flow not found"},
     }},
    {"bad_address",
     {
         {30, 14, "primary.ipv4.address: '198.51.100.300' is not an IPv4 or IPv6 address"},
         {43, 16, "nameservers[ns1.example.eu].ipv6.gateway: 2001:db8:2::1 is outside the subnet 2001:db8:1::/64"},
         {50, 16, "nameservers[ns2.example.net].ipv4.address: 2001:db8:3::53 is an IPv6 address; expected an IPv4"},
         {51, 16, "nameservers[ns2.example.net].ipv4.gateway: '203.0.113.1/24' has a prefix length"},
     }},
    {"bad_duration",
     {
         {58, 21, "dnssec_policies[default].rrsig_lifetime: expected a duration such as 14d (a whole number with a "
                  "unit s, m, h, d or w), got '3 weeks'"},
         {59, 20, "dnssec_policies[default].rrsig_refresh: expected a duration such as 14d"},
         {66, 19, "policy.primary_outage: expected a duration such as 14d (a whole number with a unit s, m, h, d or "
                  "w), got '7y'"},
     }},
    {"zone_syntax_error",
     {
         {7, 1, "zone syntax-error.eu: Syntax error, could not parse the RR's rdata: `www  IN A   198.51.100.300`",
          "zones/syntax-error.eu.zone"},
         {8, 1, "`mail IN MX  ten mail.example.eu.`", "zones/syntax-error.eu.zone"},
         {9, 1, "elsewhere.example.org. is outside the zone syntax-error.eu.", "zones/syntax-error.eu.zone"},
     }},
    {"duplicate_key",
     {
         {15, 5, "clusters[alpha]: key 'node' appears twice (first at line 12)"},
         {53, 3, "nameservers: entry 'ns1.example.eu' appears twice (first at line 34)"},
     }},
    {"cluster_api",
     {
         {7, 14, "clusters[alpha].api_url: 'http://127.0.0.1:8006': plain http is refused"},
         {8, 15, "clusters[alpha].token_id: a token id cannot contain '=' (value not shown"},
         {11, 20, "clusters[alpha].tls.fingerprint: expected a SHA-256 fingerprint: 32 bytes in hex, optionally "
                  "colon-separated (AB:CD:…), got '01:23:45:67'"},
         {17, 14, "clusters[beta].api_url: the URL must not carry credentials"},
         {18, 15, "clusters[beta].token_id: 'dnsctl' is not a Proxmox API token id"},
         {20, 5, "clusters[beta].tls: give exactly one of ca_file, fingerprint and fingerprint_file"},
         {23, 13, "clusters[beta].bridge: 'vmbr0-with-a-long-name' is longer than 15 characters"},
         {24, 11, "clusters[beta].vlan: '4095' is out of range: expected an integer from 1 to 4094"},
     },
     {"0d9f3c1e", "pa55word"}},
    {"host_rules",
     {
         {26, 9, "primary.fqdn: ns1.example.eu is also a public nameserver"},
         {28, 9, "primary.vmid: '99' is out of range: expected an integer from 100 to 999999999"},
         {29, 13, "primary.software: expected one of knot, got 'nsd'"},
         {40, 16, "nameservers[ns1.example.eu].ipv4.address: 198.51.100.10 is already the address of primary"},
         {45, 3, "nameservers[ns2.example.net]: needs an address: give `ipv4`, `ipv6` or both"},
         {49, 15, "nameservers[ns2.example.net].software: expected one of knot, nsd, bind, got 'powerdns'"},
         {50, 3, "nameservers[co.uk]: co.uk is itself a public suffix"},
         {55, 16, "nameservers[co.uk].ipv6.address: 2001:db8:5::/64 is the network address of 2001:db8:5::/64"},
         {58, 3, "zones[example.eu]: the apex NS RRset of zones/example.eu.zone lacks co.uk"},
         {58, 3, "zones[example.eu]: the apex NS RRset of zones/example.eu.zone lists the hidden primary "
                 "ns1.example.eu"},
     }},
    {"dnssec_rules",
     {
         {58, 16, "dnssec_policies[default].algorithm: expected one of rsasha256, rsasha512, ecdsap256sha256, "
                  "ecdsap384sha384, ed25519, ed448, got 'ecdsa256'"},
         {60, 20, "dnssec_policies[default].rrsig_refresh: 2w is not shorter than rrsig_lifetime 2w"},
         {61, 3, "dnssec_policies[off]: 'off' cannot name a DNSSEC policy"},
         {63, 23, "dnssec_policies[off].nsec3_iterations: applies only with denial: nsec3"},
     }},
    {"sections",
     {
         {2, 1, "missing required key 'tsig' (a map with keys name, algorithm, secret)"},
         {2, 10, "version: inventory version 2 is not supported; this dnsctl reads version 1"},
         {61, 5, "asn_sources[0]: type: file needs `path`"},
         {62, 5, "asn_sources[1]: type: dns needs `zone`"},
         {63, 11, "asn_sources[1].path: applies only to type: file"},
         {65, 11, "asn_sources[2].zone: applies only to type: dns"},
         {67, 19, "policy.distinct[1]: expected one of asn, datacenter, cluster, tld, registrable_domain, "
                  "ipv4_prefix, ipv6_prefix, software, got 'country'"},
         {68, 18, "policy.min_surviving: '0' is out of range: expected an integer from 1 to 64"},
     }},
    {"empty",
     {
         {1, 1, "the inventory is empty; it starts with `version: 1`"},
     }},
    {"not_a_map",
     {
         {2, 1, "expected a map with keys version, estate, state_dir, clusters, primary, nameservers, zones, "
                "dnssec_policies, tsig, ssh, asn_sources, policy, got a list"},
     }},
    // Every kind of fault at once: all of them must be reported by one run.
    {"many_problems",
     {
         {4, 1, "unknown key 'nameserver_count'"},
         {14, 20, "clusters[alpha].template_vmid: expected an integer from 100 to 999999999, got 'nine thousand'"},
         {20, 19, "clusters[beta].token_secret: an inline secret is not allowed"},
         {37, 11, "nameservers[ns1.example.eu].vmid: VMID 101 on cluster alpha is already taken by primary"},
         {46, 14, "nameservers[ns2.example.net].cluster: no cluster named 'delta'; did you mean 'beta'?"},
         {52, 16, "nameservers[ns2.example.net].ipv4.gateway: 203.0.114.1 is outside the subnet 203.0.113.0/24"},
         {57, 3, "zones[mismatch.eu]: the apex NS RRset of zones/mismatch.eu.zone lacks ns2.example.net"},
         {57, 3, "zones[mismatch.eu]: the apex NS RRset of zones/mismatch.eu.zone lists ns3.example.org"},
         {57, 3, "zones[mismatch.eu]: the apex NS RRset of zones/mismatch.eu.zone lists the hidden primary"},
         {64, 11, "zones[missing.eu].file: cannot read zones/does-not-exist.zone: No such file or directory"},
         {68, 19, "dnssec_policies[default].zsk_lifetime: expected a duration such as 14d"},
         {7, 1, "zone syntax-error.eu: Syntax error", "zones/syntax-error.eu.zone"},
         {8, 1, "zone syntax-error.eu: Syntax error", "zones/syntax-error.eu.zone"},
         {9, 1, "is outside the zone", "zones/syntax-error.eu.zone"},
     },
     {"s3cr3t-t0ken-value"}},
};

}  // namespace

TEST_CASE("load_inventory: each broken fixture gives exactly its diagnostics, with file:line:col") {
    for (const auto& c : kBrokenCases) {
        // Relative to the data folder, as an operator would type it.
        auto relative = std::filesystem::path("broken") / (std::string(c.fixture) + ".yaml");
        auto cwd = std::filesystem::current_path();
        std::filesystem::current_path(kInventories);
        auto loaded = load_inventory(relative);
        std::filesystem::current_path(cwd);

        const auto& items = loaded.diagnostics.items();
        INFO("fixture " << c.fixture << ":\n" << all(loaded.diagnostics));
        CHECK(loaded.diagnostics.error_count() == c.expected.size());
        std::vector<bool> used(items.size(), false);
        for (const auto& e : c.expected) {
            std::string file = e.file.empty() ? relative.string() : std::string(e.file);
            bool found = false;
            for (std::size_t i = 0; i < items.size() && !found; ++i) {
                const auto& d = items[i];
                if (!used[i] && d.severity == Severity::error && d.where.file == file && d.where.line == e.line &&
                    d.where.column == e.column && d.message.find(e.text) != std::string::npos) {
                    used[i] = true;
                    found = true;
                }
            }
            INFO("expected " << file << ":" << e.line << ":" << e.column << ": " << e.text);
            CHECK(found);
        }
        for (auto secret : c.never_shown) {
            INFO("secret " << secret);
            CHECK(all(loaded.diagnostics).find(secret) == std::string::npos);
        }
    }
}

TEST_CASE("load_inventory: the minimal valid fixture loads, and absent keys take the schema's defaults") {
    auto loaded = load_inventory(kInventories / "valid" / "minimal.yaml");
    INFO(all(loaded.diagnostics));
    REQUIRE(loaded.diagnostics.empty());
    const Inventory& inv = loaded.inventory;
    const auto dir = (kInventories / "valid").lexically_normal();

    CHECK(inv.state_dir == dir / ".dnsctl");
    CHECK(inv.clusters[0].bridge == "vmbr0");
    CHECK(inv.clusters[0].tls.fingerprint_sha256 ==
          "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF");
    CHECK(inv.clusters[1].tls.ca_file == dir / "pki" / "beta-ca.pem");
    CHECK(inv.clusters[1].token.secret.kind == SecretRef::Kind::file);
    CHECK(inv.clusters[1].token.secret.target == (dir / "secrets" / "beta.token").string());
    CHECK(inv.clusters[1].api_url == "https://[::1]:8006/");
    CHECK(inv.primary.software == Software::knot);
    CHECK_FALSE(inv.primary.ipv6);
    CHECK(inv.nameservers[1].software == Software::nsd);
    CHECK(inv.nameservers[1].registrable_domain == "example.net");
    CHECK(inv.zones[0].file == (kInventories / "zones" / "example.eu.zone").lexically_normal());
    REQUIRE(inv.zones[0].facts);
    CHECK(inv.zones[0].facts->max_ttl == 86400);
    CHECK(inv.zones[0].facts->record_count == 6);
    CHECK(inv.tsig.algorithm == "hmac-sha256");
    CHECK(inv.ssh.user == "dnsctl");
    CHECK(inv.ssh.port == 22);
    CHECK(inv.ssh.key_file == dir / "keys" / "id_ed25519");
    CHECK_FALSE(inv.ssh.known_hosts);
    CHECK(inv.asn_sources.empty());

    // The schema's defaults and the model's initial values are the same policy.
    const DiversityPolicy defaults;
    CHECK(inv.policy.min_nameservers == defaults.min_nameservers);
    CHECK(inv.policy.distinct == defaults.distinct);
    CHECK(inv.policy.ipv4_prefix_length == defaults.ipv4_prefix_length);
    CHECK(inv.policy.ipv6_prefix_length == defaults.ipv6_prefix_length);
    CHECK(inv.policy.min_softwares == defaults.min_softwares);
    CHECK(inv.policy.min_surviving == defaults.min_surviving);
    CHECK(inv.policy.primary_outage == defaults.primary_outage);
    const DnssecPolicy dnssec_defaults;
    REQUIRE(inv.dnssec_policies.size() == 1);
    const DnssecPolicy& p = inv.dnssec_policies[0];
    CHECK(p.algorithm == dnssec_defaults.algorithm);
    CHECK(p.ksk_lifetime == dnssec_defaults.ksk_lifetime);
    CHECK(p.zsk_lifetime == dnssec_defaults.zsk_lifetime);
    CHECK(p.rrsig_lifetime == dnssec_defaults.rrsig_lifetime);
    CHECK(p.rrsig_refresh == dnssec_defaults.rrsig_refresh);
    CHECK(p.denial == dnssec_defaults.denial);
    CHECK(p.nsec3_iterations == dnssec_defaults.nsec3_iterations);
    CHECK(p.nsec3_salt_length == dnssec_defaults.nsec3_salt_length);
    const Resources resources;
    CHECK(inv.primary.resources.cores == resources.cores);
    CHECK(inv.primary.resources.memory_mib == resources.memory_mib);
    CHECK(inv.primary.resources.disk_gib == resources.disk_gib);
}

TEST_CASE("load_inventory: a file that cannot be read is one diagnostic naming it") {
    auto loaded = load_inventory(kInventories / "does-not-exist.yaml");
    REQUIRE(loaded.diagnostics.error_count() == 1);
    const auto& d = loaded.diagnostics.items()[0];
    CHECK(d.where.file == (kInventories / "does-not-exist.yaml").string());
    CHECK(d.message.find("cannot read the inventory") != std::string::npos);
}

TEST_CASE("load_inventory: what could be read is filled in even when there are errors") {
    auto loaded = load_inventory(kInventories / "broken" / "many_problems.yaml");
    REQUIRE(loaded.diagnostics.has_errors());
    const Inventory& inv = loaded.inventory;
    CHECK(inv.clusters.size() == 2);
    CHECK(inv.nameservers.size() == 2);
    CHECK(inv.nameservers[0].registrable_domain == "example.eu");
    CHECK(inv.primary.fqdn.str() == "primary.example.net");
    REQUIRE(inv.zones.size() == 4);
    CHECK(inv.zones[0].facts);        // example.eu parsed
    CHECK(inv.zones[1].facts);        // mismatch.eu parsed, only its NS RRset is wrong
    CHECK_FALSE(inv.zones[2].facts);  // syntax errors
    CHECK_FALSE(inv.zones[3].facts);  // missing file
}

TEST_CASE("load_inventory: key locations point at values, for findings made after loading") {
    auto loaded = load_inventory(kInventories / "valid" / "minimal.yaml");
    REQUIRE(loaded.diagnostics.empty());
    auto asn = loaded.locations.at("nameservers[ns2.example.net].asn");
    CHECK(asn.file == (kInventories / "valid" / "minimal.yaml").string());
    CHECK(asn.line == 47);
    CHECK(asn.column == 10);
    // A key left at its default points at its section.
    CHECK(loaded.locations.at("nameservers[ns2.example.net].resources.cores").line == 45);  // the entry
    CHECK(loaded.locations.at("policy.min_surviving").line == 3);  // the document's first key
}
