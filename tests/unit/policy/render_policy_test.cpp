#include <catch2/catch.hpp>

#include <sstream>

#include "policy/render_policy.hpp"
#include "unit/policy/estate.hpp"

using namespace dnsctl;
using namespace dnsctl::test;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// Collapses runs of spaces so assertions do not depend on column widths.
std::string squeeze(const std::string& line) {
    std::string out;
    for (char c : line) {
        if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
        out += c;
    }
    if (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

}  // namespace

TEST_CASE("render_policy_table: one aligned row per dimension with the worst loss and verdict") {
    auto table = lines_of(render_policy_table(check_policy(reference_estate())));
    REQUIRE(table.size() == 1 + 1 + 8 + 1);
    CHECK(table[0] ==
          "Diversity policy: 4 public nameservers (4 with IPv4, 4 with IPv6); losing any one value must leave at "
          "least 2 per address family");
    CHECK(squeeze(table[1]) == "DIMENSION DISTINCT VALUES WORST SINGLE LOSS IPv4 IPv6 VERDICT");
    CHECK(squeeze(table[2]) == "ASN 4 (required) AS1299, AS29075, AS199275, AS206014 AS1299 3 3 pass");
    CHECK(squeeze(table[5]) == "TLD 4 (required) com, eu, fr, net com 3 3 pass");
    CHECK(squeeze(table[7]) ==
          "IPv4 /24 4 (required) 198.18.0.0/24, 198.19.0.0/24, 198.51.100.0/24, 203.0.113.0/24 198.18.0.0/24 3 4 "
          "pass");
    CHECK(squeeze(table[9]) == "server software 2 knot, nsd knot 2 2 pass");
    // Columns line up: every row starts its VALUES cell at the same offset.
    auto values_at = table[1].find("VALUES");
    CHECK(table[2].substr(values_at, 6) == "AS1299");
    CHECK(table[9].substr(values_at, 4) == "knot");
}

TEST_CASE("render_policy_table: a failing row says why and names nameservers without a value") {
    auto inv = reference_estate();
    find_ns(inv, "ns-rds.rdem-systems.com")->ipv6.reset();
    find_ns(inv, "ns-ielo.rdem-systems.net")->ipv6.reset();
    find_ns(inv, "ns-ielo.rdem-systems.net")->asn = Asn{1299};
    auto table = lines_of(render_policy_table(check_policy(inv)));
    CHECK(squeeze(table[2]) == "ASN 3 (required) AS1299, AS199275, AS206014 AS1299 2 1 FAIL (shared, N-1)");
    CHECK(squeeze(table[8]) == "IPv6 /48 2 (required) 2001:db8:1::/48, 2001:db8:2::/48 (none: ns-rds, ns-ielo) "
                               "2001:db8:1::/48 4 1 FAIL (N-1)");
}

TEST_CASE("format_finding: location, severity, message, rule id and basis") {
    auto inv = reference_estate();
    find_ns(inv, "ns-rds.rdem-systems.com")->asn = Asn{1299};
    auto report = check_policy(inv);
    REQUIRE_FALSE(report.findings.empty());
    CHECK(format_finding(report.findings[0]) ==
          "inventory.yaml:80:5: error: ns-rds.rdem-systems.com shares ASN AS1299 with ns-arelion.rdem-systems.fr; "
          "the policy requires a distinct ASN per nameserver [distinct.asn; RFC 2182 §3, RFC 9199, Zonemaster "
          "CONNECTIVITY03]");
}

TEST_CASE("policy_to_json: rows and findings as documented") {
    auto inv = reference_estate();
    find_ns(inv, "ns-rds.rdem-systems.com")->asn = Asn{1299};
    auto json = policy_to_json(check_policy(inv));

    CHECK(json["passed"] == false);
    CHECK(json["nameservers"] == 4);
    CHECK(json["reachable"] == nlohmann::ordered_json({{"ipv4", 4}, {"ipv6", 4}}));
    CHECK(json["min_surviving"] == 2);
    REQUIRE(json["rows"].size() == 8);
    const auto& asn = json["rows"][0];
    CHECK(asn["dimension"] == "asn");
    CHECK(asn["title"] == "ASN");
    CHECK(asn["distinct_count"] == 3);
    CHECK(asn["verdict"] == "fail");
    CHECK(asn["distinct_ok"] == false);
    CHECK(asn["survives_loss"] == true);
    CHECK(asn["worst_loss"]["value"] == "AS1299");
    CHECK(asn["worst_loss"]["nameservers"] ==
          nlohmann::ordered_json({"ns-arelion.rdem-systems.fr", "ns-rds.rdem-systems.com"}));
    CHECK(asn["worst_loss"]["surviving"] == nlohmann::ordered_json({{"ipv4", 2}, {"ipv6", 2}}));
    CHECK(asn["values"][0]["value"] == "AS1299");

    const auto& finding = json["findings"][0];
    CHECK(finding["id"] == "distinct.asn");
    CHECK(finding["rule"] == "distinct");
    CHECK(finding["severity"] == "error");
    CHECK(finding["dimension"] == "asn");
    CHECK(finding["family"].is_null());
    CHECK(finding["zones"].empty());
    CHECK(finding["location"] == nlohmann::ordered_json({{"file", "inventory.yaml"}, {"line", 80}, {"column", 5}}));
    CHECK(json["findings"][1]["id"] == "primary-colocated.cluster");
    CHECK(json["findings"][1]["severity"] == "warning");
}
