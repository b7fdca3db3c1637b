#include <catch2/catch.hpp>

#include "inventory/public_suffix.hpp"

using namespace dnsctl;

TEST_CASE("registrable_domain: from the Public Suffix List, with the `*` rule for unknown suffixes") {
    auto of = [](std::string_view text) { return registrable_domain(*DnsName::parse(text)); };
    CHECK(of("ns-ipset.rdem-systems.eu") == "rdem-systems.eu");
    CHECK(of("ns-arelion.rdem-systems.fr") == "rdem-systems.fr");
    CHECK(of("a.b.rdem-systems.com") == "rdem-systems.com");
    CHECK(of("ns1.example.co.uk") == "example.co.uk");
    CHECK(of("ns1.example.org.uk") == "example.org.uk");
    CHECK(of("ns.example.unknowntld") == "example.unknowntld");
    CHECK(of("example.eu") == "example.eu");
    CHECK_FALSE(of("co.uk"));
    CHECK_FALSE(of("eu"));
}
