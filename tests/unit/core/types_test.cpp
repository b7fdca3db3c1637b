#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "core/secret.hpp"
#include "core/types.hpp"

using namespace dnsctl;

TEST_CASE("DnsName: lower-cases, drops the trailing dot, knows its TLD") {
    auto name = DnsName::parse("NS-Ipset.RDEM-Systems.EU.");
    REQUIRE(name);
    CHECK(name->str() == "ns-ipset.rdem-systems.eu");
    CHECK(name->tld() == "eu");
    CHECK(name->labels().size() == 3);
    CHECK(DnsName::parse("a.co.uk")->tld() == "uk");
}

TEST_CASE("DnsName: rejects bad labels") {
    CHECK_FALSE(DnsName::parse(""));
    CHECK_FALSE(DnsName::parse("a..b"));
    CHECK_FALSE(DnsName::parse("-a.b"));
    CHECK_FALSE(DnsName::parse("a b.c"));
    CHECK_FALSE(DnsName::parse(std::string(64, 'a') + ".eu"));
}

TEST_CASE("DnsName: subdomain test works on label boundaries") {
    auto zone = *DnsName::parse("example.eu");
    CHECK(DnsName::parse("ns1.example.eu")->is_subdomain_of(zone));
    CHECK(DnsName::parse("example.eu")->is_subdomain_of(zone));
    CHECK_FALSE(DnsName::parse("badexample.eu")->is_subdomain_of(zone));
}

TEST_CASE("IpInterface: parses both families and derives the network") {
    auto v4 = IpInterface::parse("198.51.100.10/24");
    REQUIRE(v4);
    CHECK(v4->network().str() == "198.51.100.0/24");
    CHECK(v4->address.masked(16).str() == "198.51.0.0");
    auto v6 = IpInterface::parse("2001:db8:53:1::10/64");
    REQUIRE(v6);
    CHECK(v6->address.family() == AddressFamily::ipv6);
    CHECK(v6->address.masked(48).str() == "2001:db8:53::");
    CHECK_FALSE(IpInterface::parse("198.51.100.10"));
    CHECK_FALSE(IpInterface::parse("198.51.100.10/33"));
    CHECK_FALSE(IpInterface::parse("198.51.100.300/24"));
}

TEST_CASE("IpPrefix: host bits must be zero") {
    CHECK(IpPrefix::parse("203.0.113.0/24"));
    CHECK_FALSE(IpPrefix::parse("203.0.113.1/24"));
    auto p = *IpPrefix::parse("2001:db8::/32");
    CHECK(p.contains(*IpAddress::parse("2001:db8:ffff::1")));
    CHECK_FALSE(p.contains(*IpAddress::parse("2001:db9::1")));
    CHECK_FALSE(p.contains(*IpAddress::parse("198.51.100.1")));
}

TEST_CASE("parse_duration: units and errors") {
    CHECK(parse_duration("14d")->count() == 14 * 86400);
    CHECK(parse_duration("2w")->count() == 14 * 86400);
    CHECK(parse_duration("90")->count() == 90);
    CHECK(parse_duration("30m")->count() == 1800);
    CHECK_FALSE(parse_duration("d"));
    CHECK_FALSE(parse_duration("3x"));
    CHECK_FALSE(parse_duration("-1d"));
    CHECK(format_duration(Duration(14 * 86400)) == "2w");
    CHECK(format_duration(Duration(36 * 3600)) == "36h");
}

TEST_CASE("serial arithmetic follows RFC 1982") {
    CHECK(serial_newer(2, 1));
    CHECK_FALSE(serial_newer(1, 2));
    CHECK(serial_newer(0, 0xFFFFFFFFu));  // wrapped
    CHECK_FALSE(serial_newer(5, 5));
    CHECK(serial_at_least(5, 5));
}

TEST_CASE("Secret: formats as *** and references parse") {
    Secret s("hunter2");
    CHECK(fmt::format("{}", s) == "***");
    CHECK(s.reveal() == "hunter2");
    auto env = parse_secret_ref("env:PVE_TOKEN");
    REQUIRE(env);
    CHECK(env->kind == SecretRef::Kind::env);
    CHECK(parse_secret_ref("file:/etc/dnsctl/token")->kind == SecretRef::Kind::file);
    auto inline_value = parse_secret_ref("4f1c2a-secret");
    REQUIRE_FALSE(inline_value);
    CHECK(inline_value.error().message.find("env:") != std::string::npos);
    CHECK(inline_value.error().message.find("4f1c2a") == std::string::npos);
}
