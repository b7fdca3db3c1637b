#include <catch2/catch.hpp>

#include <functional>

#include "policy/check_policy.hpp"
#include "unit/policy/estate.hpp"

using namespace dnsctl;
using namespace dnsctl::test;

namespace {

std::vector<std::string> finding_ids(const PolicyReport& report, std::optional<Severity> severity = std::nullopt) {
    std::vector<std::string> out;
    for (const auto& f : report.findings) {
        if (!severity || f.severity == *severity) out.push_back(f.id());
    }
    return out;
}

const PolicyFinding& finding(const PolicyReport& report, std::string_view id, std::size_t nth = 0) {
    for (const auto& f : report.findings) {
        if (f.id() == id && nth-- == 0) return f;
    }
    FAIL("no finding " << id);
    throw std::logic_error("unreachable");
}

std::vector<std::string> strings(const std::vector<DnsName>& names) {
    std::vector<std::string> out;
    for (const auto& n : names) out.push_back(n.str());
    return out;
}

std::vector<std::string> values(const PolicyRow& row) {
    std::vector<std::string> out;
    for (const auto& v : row.values) out.push_back(v.value);
    return out;
}

const PolicyRow& row(const PolicyReport& report, Dimension dimension) {
    const PolicyRow* r = report.row(dimension);
    REQUIRE(r != nullptr);
    return *r;
}

}  // namespace

TEST_CASE("check_policy: the reference estate passes with 4 ASNs, datacenters and TLDs") {
    auto report = check_policy(reference_estate());

    CHECK(report.passed());
    CHECK(report.nameserver_count == 4);
    CHECK(report.reachable == Survivors{4, 4});
    // The only remark: the primary shares cluster pa5 with ns-rds.
    CHECK(finding_ids(report) == std::vector<std::string>{"primary-colocated.cluster"});

    REQUIRE(report.rows.size() == 8);
    CHECK(values(row(report, Dimension::asn)) ==
          std::vector<std::string>{"AS1299", "AS29075", "AS199275", "AS206014"});
    CHECK(values(row(report, Dimension::datacenter)) ==
          std::vector<std::string>{"equinix-pa3", "equinix-pa4", "equinix-pa5", "telehouse-th2"});
    CHECK(values(row(report, Dimension::tld)) == std::vector<std::string>{"com", "eu", "fr", "net"});
    CHECK(values(row(report, Dimension::registrable_domain)).size() == 4);
    CHECK(values(row(report, Dimension::ipv4_prefix)) ==
          std::vector<std::string>{"198.18.0.0/24", "198.19.0.0/24", "198.51.100.0/24", "203.0.113.0/24"});
    CHECK(values(row(report, Dimension::ipv6_prefix)) ==
          std::vector<std::string>{"2001:db8:1::/48", "2001:db8:2::/48", "2001:db8:3::/48", "2001:db8:4::/48"});
    CHECK(values(row(report, Dimension::software)) == std::vector<std::string>{"knot", "nsd"});

    for (const auto& r : report.rows) {
        INFO(to_string(r.dimension));
        CHECK(r.verdict == Verdict::pass);
        CHECK(r.survives_loss);
        REQUIRE(r.worst_loss);
        CHECK(r.unknown.empty());
    }
    // Losing one ASN leaves three nameservers in each family.
    CHECK(row(report, Dimension::asn).worst_loss->survivors == Survivors{3, 3});
    // Losing one IPv4 /24 silences IPv4 only.
    CHECK(row(report, Dimension::ipv4_prefix).worst_loss->survivors == Survivors{3, 4});
    CHECK(row(report, Dimension::ipv6_prefix).worst_loss->survivors == Survivors{4, 3});
    // Losing knot (two nameservers) leaves the two nsd ones.
    const auto& software = row(report, Dimension::software);
    CHECK(software.worst_loss->value == "knot");
    CHECK(software.worst_loss->survivors == Survivors{2, 2});
    CHECK_FALSE(software.distinct_required);
    CHECK(row(report, Dimension::asn).distinct_required);
}

TEST_CASE("check_policy: is deterministic") {
    auto a = check_policy(reference_estate());
    auto b = check_policy(reference_estate());
    CHECK(finding_ids(a) == finding_ids(b));
    REQUIRE(a.rows.size() == b.rows.size());
    for (std::size_t i = 0; i < a.rows.size(); ++i) CHECK(values(a.rows[i]) == values(b.rows[i]));
}

struct PolicyCase {
    std::string name;
    std::function<void(Inventory&)> edit;
    std::vector<std::string> errors;    // ids of the error findings, in report order
    std::vector<std::string> failing;   // dimensions whose row fails
};

TEST_CASE("check_policy: broken diversity is reported rule by rule") {
    const std::vector<PolicyCase> cases = {
        {"two nameservers in one ASN",
         [](Inventory& inv) { find_ns(inv, "ns-rds.rdem-systems.com")->asn = Asn{1299}; },
         {"distinct.asn"},
         {"asn"}},
        {"three nameservers in one ASN break N-1 as well",
         [](Inventory& inv) {
             find_ns(inv, "ns-rds.rdem-systems.com")->asn = Asn{1299};
             find_ns(inv, "ns-ielo.rdem-systems.net")->asn = Asn{1299};
         },
         {"distinct.asn", "survive-loss.asn"},
         {"asn"}},
        {"two nameserver names under one TLD",
         [](Inventory& inv) {
             auto* ns = find_ns(inv, "ns-rds.rdem-systems.com");
             ns->fqdn = name("ns-rds.rdem-dns.eu");
             ns->registrable_domain = "rdem-dns.eu";
         },
         {"distinct.tld"},
         {"tld"}},
        {"co.uk and org.uk hang on the same TLD",
         [](Inventory& inv) {
             auto* a = find_ns(inv, "ns-rds.rdem-systems.com");
             a->fqdn = name("ns1.rdem.co.uk");
             a->registrable_domain = "rdem.co.uk";
             auto* b = find_ns(inv, "ns-ielo.rdem-systems.net");
             b->fqdn = name("ns2.rdem.org.uk");
             b->registrable_domain = "rdem.org.uk";
         },
         {"distinct.tld"},
         {"tld"}},
        {"two nameservers under one registrable domain",
         [](Inventory& inv) {
             auto* ns = find_ns(inv, "ns-rds.rdem-systems.com");
             ns->fqdn = name("ns2.rdem-systems.eu");
             ns->registrable_domain = "rdem-systems.eu";
         },
         {"distinct.tld", "distinct.registrable_domain"},
         {"tld", "registrable_domain"}},
        {"two nameservers in one IPv4 /24 and one IPv6 /48",
         [](Inventory& inv) {
             auto* ns = find_ns(inv, "ns-rds.rdem-systems.com");
             ns->ipv4 = address("198.51.100.20/24", "198.51.100.1");
             ns->ipv6 = address("2001:db8:1:5::10/64", "2001:db8:1:5::1");
         },
         {"distinct.ipv4_prefix", "distinct.ipv6_prefix"},
         {"ipv4_prefix", "ipv6_prefix"}},
        {"the prefix length comes from the policy",
         [](Inventory& inv) { inv.policy.ipv4_prefix_length = 15; },  // 198.18.0.0/15 holds 198.19.0.10
         {"distinct.ipv4_prefix"},
         {"ipv4_prefix"}},
        {"one server software only",
         [](Inventory& inv) {
             for (auto& ns : inv.nameservers) ns.software = Software::knot;
         },
         {"min-softwares", "survive-loss.software"},
         {"software"}},
        {"three of four on one software: enough softwares, but N-1 fails",
         [](Inventory& inv) { find_ns(inv, "ns-ielo.rdem-systems.net")->software = Software::knot; },
         {"survive-loss.software"},
         {"software"}},
        {"N-1 fails for a dimension whose distinctness is not required",
         [](Inventory& inv) {
             inv.policy.distinct.clear();
             for (auto& c : inv.clusters) {
                 if (c.name != "th2") c.datacenter = "equinix-paris";
             }
         },
         {"survive-loss.datacenter"},
         {"datacenter"}},
        {"shared values are fine when distinctness is not required and N-1 holds",
         [](Inventory& inv) {
             inv.policy.distinct.erase(Dimension::asn);
             find_ns(inv, "ns-rds.rdem-systems.com")->asn = Asn{1299};
         },
         {},
         {}},
        {"too few nameservers (and with three, losing the majority software leaves one)",
         [](Inventory& inv) { inv.nameservers.pop_back(); },
         {"min-nameservers", "survive-loss.software"},
         {"software"}},
        {"only two nameservers have IPv6: losing either leaves one over IPv6",
         [](Inventory& inv) {
             find_ns(inv, "ns-rds.rdem-systems.com")->ipv6.reset();
             find_ns(inv, "ns-ielo.rdem-systems.net")->ipv6.reset();
         },
         {"survive-loss.asn", "survive-loss.asn", "survive-loss.datacenter", "survive-loss.datacenter",
          "survive-loss.cluster", "survive-loss.cluster", "survive-loss.tld", "survive-loss.tld",
          "survive-loss.registrable_domain", "survive-loss.registrable_domain", "survive-loss.ipv6_prefix",
          "survive-loss.ipv6_prefix", "survive-loss.software", "survive-loss.software"},
         {"asn", "datacenter", "cluster", "tld", "registrable_domain", "ipv6_prefix", "software"}},
        {"only one nameserver has IPv6: reported once for the family",
         [](Inventory& inv) {
             for (auto& ns : inv.nameservers) {
                 if (ns.fqdn.str() != "ns-ipset.rdem-systems.eu") ns.ipv6.reset();
             }
         },
         {"family-count.ipv6"},
         {"asn", "datacenter", "cluster", "tld", "registrable_domain", "ipv4_prefix", "ipv6_prefix", "software"}},
        {"SOA expire shorter than the primary outage",
         [](Inventory& inv) { inv.zones[1].facts->soa_expire = 3 * 86400; },
         {"soa-expire"},
         {}},
        {"SOA expire equal to the primary outage is not enough",
         [](Inventory& inv) { inv.zones[0].facts->soa_expire = 7 * 86400; },
         {"soa-expire"},
         {}},
        {"signatures refreshed too late (Knot's default of a few hours)",
         [](Inventory& inv) { inv.dnssec_policies[0].rrsig_refresh = Duration(2 * 3600); },
         {"signature-validity"},
         {}},
        {"unsigned zones need no signature validity",
         [](Inventory& inv) {
             inv.dnssec_policies[0].rrsig_refresh = Duration(3600);
             for (auto& z : inv.zones) z.dnssec.reset();
         },
         {},
         {}},
    };

    for (const auto& c : cases) {
        DYNAMIC_SECTION(c.name) {
            auto inv = reference_estate();
            c.edit(inv);
            auto report = check_policy(inv);
            CHECK(finding_ids(report, Severity::error) == c.errors);
            CHECK(report.passed() == c.errors.empty());
            std::vector<std::string> failing;
            for (const auto& r : report.rows) {
                if (r.verdict == Verdict::fail) failing.emplace_back(to_string(r.dimension));
            }
            CHECK(failing == c.failing);
        }
    }
}

TEST_CASE("check_policy: a shared ASN names both nameservers and points at the second") {
    auto inv = reference_estate();
    find_ns(inv, "ns-rds.rdem-systems.com")->asn = Asn{1299};
    auto report = check_policy(inv);

    const auto& f = finding(report, "distinct.asn");
    CHECK(f.severity == Severity::error);
    CHECK(strings(f.nameservers) ==
          std::vector<std::string>{"ns-arelion.rdem-systems.fr", "ns-rds.rdem-systems.com"});
    CHECK(f.where.line == 80);  // ns-rds, the second holder
    CHECK(f.message.find("AS1299") != std::string::npos);
    CHECK(f.message.find("ns-arelion.rdem-systems.fr") != std::string::npos);
    CHECK(std::find(f.basis.begin(), f.basis.end(), "Zonemaster CONNECTIVITY03") != f.basis.end());
    CHECK(std::find(f.basis.begin(), f.basis.end(), "RFC 2182 §3") != f.basis.end());

    const auto& asn = row(report, Dimension::asn);
    CHECK(asn.verdict == Verdict::fail);
    CHECK(asn.survives_loss);  // 4 - 2 = 2 survive, enough for min_surviving 2
    REQUIRE(asn.worst_loss);
    CHECK(asn.worst_loss->value == "AS1299");
    CHECK(strings(asn.worst_loss->nameservers) ==
          std::vector<std::string>{"ns-arelion.rdem-systems.fr", "ns-rds.rdem-systems.com"});
    CHECK(asn.worst_loss->survivors == Survivors{2, 2});
}

TEST_CASE("check_policy: co.uk and org.uk are one TLD, different registrable domains") {
    auto inv = reference_estate();
    auto* a = find_ns(inv, "ns-rds.rdem-systems.com");
    a->fqdn = name("ns1.rdem.co.uk");
    a->registrable_domain = "rdem.co.uk";
    auto* b = find_ns(inv, "ns-ielo.rdem-systems.net");
    b->fqdn = name("ns2.rdem.org.uk");
    b->registrable_domain = "rdem.org.uk";
    auto report = check_policy(inv);

    const auto& f = finding(report, "distinct.tld");
    CHECK(strings(f.nameservers) == std::vector<std::string>{"ns1.rdem.co.uk", "ns2.rdem.org.uk"});
    CHECK(f.message.find("TLD uk") != std::string::npos);
    CHECK(values(row(report, Dimension::tld)) == std::vector<std::string>{"eu", "fr", "uk"});
    CHECK(row(report, Dimension::registrable_domain).verdict == Verdict::pass);
}

TEST_CASE("check_policy: N-1 is counted per address family") {
    auto inv = reference_estate();
    find_ns(inv, "ns-rds.rdem-systems.com")->ipv6.reset();
    find_ns(inv, "ns-ielo.rdem-systems.net")->ipv6.reset();
    auto report = check_policy(inv);

    CHECK(report.reachable == Survivors{4, 2});
    const auto& f = finding(report, "survive-loss.asn");
    // AS1299 sorts first among the two ASNs whose loss hurts IPv6.
    CHECK(strings(f.nameservers) == std::vector<std::string>{"ns-arelion.rdem-systems.fr"});
    CHECK(f.message.find("1 nameserver answering over IPv6") != std::string::npos);
    CHECK(f.message.find("over IPv4") == std::string::npos);  // IPv4 keeps 3: not a problem
    CHECK(f.where.line == 70);

    const auto& asn = row(report, Dimension::asn);
    CHECK(asn.worst_loss->value == "AS1299");
    CHECK(asn.worst_loss->survivors == Survivors{3, 1});
    // Losing an IPv4 /24 does not touch IPv6: that row still passes.
    const auto& v4 = row(report, Dimension::ipv4_prefix);
    CHECK(v4.verdict == Verdict::pass);
    CHECK(v4.worst_loss->survivors == Survivors{3, 2});
    // The two IPv4-only nameservers have no /48.
    const auto& v6 = row(report, Dimension::ipv6_prefix);
    CHECK(strings(v6.unknown) == std::vector<std::string>{"ns-rds.rdem-systems.com", "ns-ielo.rdem-systems.net"});
    CHECK(v6.values.size() == 2);
    CHECK(v6.verdict == Verdict::fail);
}

TEST_CASE("check_policy: min_surviving is configurable") {
    auto inv = reference_estate();
    find_ns(inv, "ns-rds.rdem-systems.com")->ipv6.reset();
    find_ns(inv, "ns-ielo.rdem-systems.net")->ipv6.reset();
    inv.policy.min_surviving = 1;
    auto report = check_policy(inv);
    CHECK(report.passed());
    CHECK(row(report, Dimension::asn).verdict == Verdict::pass);

    inv = reference_estate();
    inv.policy.min_surviving = 4;  // any loss leaves 3
    report = check_policy(inv);
    CHECK_FALSE(report.passed());
    CHECK(row(report, Dimension::asn).verdict == Verdict::fail);
    CHECK(row(report, Dimension::asn).worst_loss->survivors == Survivors{3, 3});
}

TEST_CASE("check_policy: one software only names every nameserver") {
    auto inv = reference_estate();
    for (auto& ns : inv.nameservers) ns.software = Software::bind;
    auto report = check_policy(inv);

    const auto& f = finding(report, "min-softwares");
    CHECK(f.nameservers.size() == 4);
    CHECK(f.message.find("1 server software (bind)") != std::string::npos);
    CHECK(f.where.line == 130);  // the diversity policy block
    const auto& loss = finding(report, "survive-loss.software");
    CHECK(loss.message.find("0 nameservers answering over IPv4 and 0 nameservers answering over IPv6") !=
          std::string::npos);
    const auto& software = row(report, Dimension::software);
    CHECK(software.worst_loss->survivors == Survivors{0, 0});
}

TEST_CASE("check_policy: too few nameservers points at the policy") {
    auto inv = reference_estate();
    inv.nameservers.resize(3);
    auto report = check_policy(inv);
    const auto& f = finding(report, "min-nameservers");
    CHECK(f.message.find("3 public nameservers") != std::string::npos);
    CHECK(f.message.find("at least 4") != std::string::npos);
    CHECK(f.where.line == 130);

    inv.policy.min_nameservers = 3;
    CHECK(finding_ids(check_policy(inv), Severity::error) == std::vector<std::string>{"survive-loss.software"});
}

TEST_CASE("check_policy: an empty estate fails without crashing") {
    Inventory inv;
    inv.path = "/estate/inventory.yaml";
    auto report = check_policy(inv);
    CHECK(finding_ids(report) ==
          std::vector<std::string>{"min-nameservers", "family-count.ipv4", "family-count.ipv6"});
    CHECK(report.findings[0].where.file == "/estate/inventory.yaml");
    for (const auto& r : report.rows) {
        CHECK(r.verdict == Verdict::fail);
        CHECK_FALSE(r.worst_loss);
    }
}

TEST_CASE("check_policy: the hidden primary's outage horizon") {
    auto inv = reference_estate();
    inv.zones[1].facts->soa_expire = 3 * 86400;
    inv.dnssec_policies[0].rrsig_refresh = Duration(2 * 3600);
    auto report = check_policy(inv);

    const auto& expire = finding(report, "soa-expire");
    CHECK(strings(expire.zones) == std::vector<std::string>{"rdem-systems.fr"});
    CHECK(expire.where.line == 120);
    CHECK(expire.message.find("SOA expire 3d") != std::string::npos);
    CHECK(expire.message.find("horizon 1w") != std::string::npos);
    CHECK(std::find(expire.basis.begin(), expire.basis.end(), "Zonemaster ZONE05") != expire.basis.end());

    const auto& signatures = finding(report, "signature-validity");
    CHECK(strings(signatures.zones) == std::vector<std::string>{"rdem-systems.eu", "rdem-systems.fr"});
    CHECK(signatures.where.line == 100);  // the DNSSEC policy
    CHECK(signatures.message.find("2h") != std::string::npos);

    // Both zones' expire (14d, 3d) now outlive the 2h of validity left.
    CHECK(finding_ids(report, Severity::warning) ==
          std::vector<std::string>{"expire-outlives-signatures", "expire-outlives-signatures",
                                   "primary-colocated.cluster"});
    CHECK(strings(finding(report, "expire-outlives-signatures").zones) ==
          std::vector<std::string>{"rdem-systems.eu"});
}

TEST_CASE("check_policy: a longer outage horizon needs longer expire and refresh") {
    auto inv = reference_estate();
    inv.policy.primary_outage = Duration(14 * 86400);
    auto report = check_policy(inv);
    CHECK(finding_ids(report, Severity::error) ==
          std::vector<std::string>{"soa-expire", "soa-expire", "signature-validity"});
}

TEST_CASE("check_policy: SOA expire beyond the remaining signature validity is a warning") {
    auto inv = reference_estate();
    inv.dnssec_policies[0].rrsig_refresh = Duration(10 * 86400);
    auto report = check_policy(inv);
    CHECK(report.passed());
    CHECK(finding_ids(report, Severity::warning) ==
          std::vector<std::string>{"expire-outlives-signatures", "expire-outlives-signatures",
                                   "primary-colocated.cluster"});
}

TEST_CASE("check_policy: the primary sharing a failure domain is a warning") {
    auto inv = reference_estate();
    auto report = check_policy(inv);
    const auto& f = finding(report, "primary-colocated.cluster");
    CHECK(f.severity == Severity::warning);
    CHECK(strings(f.nameservers) == std::vector<std::string>{"ns-rds.rdem-systems.com"});
    CHECK(f.where.line == 50);

    inv.clusters.push_back(cluster("pa5-b", "equinix-pa5", 45));
    inv.primary.cluster = "pa5-b";
    report = check_policy(inv);
    CHECK(finding_ids(report) == std::vector<std::string>{"primary-colocated.datacenter"});

    inv.clusters.back().datacenter = "interxion-par7";
    CHECK(check_policy(inv).findings.empty());
}

TEST_CASE("check_policy: finding ids and dimension names") {
    PolicyFinding f;
    f.rule = PolicyRule::survive_loss;
    f.dimension = Dimension::registrable_domain;
    CHECK(f.id() == "survive-loss.registrable_domain");
    f.rule = PolicyRule::family_count;
    f.dimension.reset();
    f.family = AddressFamily::ipv6;
    CHECK(f.id() == "family-count.ipv6");
    DiversityPolicy policy;
    policy.ipv6_prefix_length = 40;
    CHECK(describe_dimension(Dimension::ipv6_prefix, policy) == "IPv6 /40");
    CHECK(describe_dimension(Dimension::tld, policy) == "TLD");
}
