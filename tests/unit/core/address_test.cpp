#include "core/address.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

using namespace dnsctl;

TEST_CASE("Address: every form parses and prints back the same text") {
    const char* texts[] = {
        "vm[th2/5301]",
        "host[ns-ipset.rdem-systems.eu]",
        "file[ns-ipset.rdem-systems.eu:/etc/knot/knot.conf]",
        "file[ns-ipset.rdem-systems.eu:/var/lib/dnsctl/zones/a b:c].zone]",
        "service[ns-arelion.rdem-systems.fr/nsd]",
        "zone[ns-rds.rdem-systems.com/rdem-systems.com]",
    };
    for (const char* text : texts) {
        INFO(text);
        auto parsed = Address::parse(text);
        REQUIRE(parsed);
        CHECK(parsed->str() == text);
        CHECK(*Address::parse(parsed->str()) == *parsed);
    }
}

TEST_CASE("Address: kinds and fields") {
    auto vm = Address::parse("vm[pa4/5302]");
    REQUIRE(vm);
    CHECK(vm->kind() == ResourceKind::vm);
    REQUIRE(vm->as<VmRef>() != nullptr);
    CHECK(vm->as<VmRef>()->cluster == "pa4");
    CHECK(vm->as<VmRef>()->vmid.value == 5302);
    CHECK(vm->as<HostRef>() == nullptr);

    auto file = Address::parse("file[NS1.Example.EU.:/etc/nsd/nsd.conf]");
    REQUIRE(file);
    CHECK(file->kind() == ResourceKind::file);
    CHECK(file->as<FileRef>()->host.str() == "ns1.example.eu");
    CHECK(file->as<FileRef>()->path == "/etc/nsd/nsd.conf");
    CHECK(file->str() == "file[ns1.example.eu:/etc/nsd/nsd.conf]");  // canonical spelling

    auto zone = Address::parse("zone[ns1.example.eu/Example.EU]");
    REQUIRE(zone);
    CHECK(zone->as<ZoneRef>()->zone.str() == "example.eu");
    CHECK(to_string(ResourceKind::service) == "service");
}

TEST_CASE("Address: malformed addresses are refused with the reason and the forms") {
    struct Case {
        const char* text;
        const char* reason;
    };
    const Case cases[] = {
        {"th2/5301", "no <kind>[…] around it"},
        {"vm[th2/5301", "no <kind>[…] around it"},
        {"disk[th2/5301]", "unknown kind 'disk'"},
        {"vm[th2]", "no '/' between cluster and VMID"},
        {"vm[/5301]", "the cluster is not a name"},
        {"vm[th2/99]", "the VMID is not a number from 100 to 999999999"},
        {"vm[th2/12x]", "the VMID is not a number"},
        {"host[]", "no host"},
        {"host[bad_name-.eu]", "host: "},
        {"file[ns1.example.eu]", "no ':' between host and path"},
        {"file[ns1.example.eu:etc/knot.conf]", "the path is not absolute"},
        {"file[ns1.example.eu:/etc/../shadow]", "the path is not absolute and normalised"},
        {"file[ns1.example.eu:/etc//knot.conf]", "the path is not absolute and normalised"},
        {"file[ns1.example.eu:/etc/knot/]", "the path is not absolute and normalised"},
        {"file[ns1.example.eu:/etc/\x1b[31m]", "control characters"},
        {"service[ns1.example.eu/knot;rm -rf /]", "the service is not a unit name"},
        {"zone[ns1.example.eu]", "no '/' between host and zone"},
        {"zone[ns1.example.eu/-bad.eu]", "zone: "},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        auto parsed = Address::parse(c.text);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().kind == ErrorKind::invalid);
        CHECK_THAT(parsed.error().message, Catch::Contains(c.reason));
        CHECK_THAT(parsed.error().message, Catch::Contains("expected vm[<cluster>/<vmid>], host[<fqdn>]"));
    }
}

TEST_CASE("Address: ordering is by kind, then by value (VMIDs numerically)") {
    std::vector<Address> addresses;
    for (const char* text : {"zone[a.eu/a.eu]", "host[b.eu]", "vm[th2/1000]", "host[a.eu]", "vm[th2/200]",
                             "file[a.eu:/etc/z]", "vm[pa4/5000]"}) {
        addresses.push_back(*Address::parse(text));
    }
    std::sort(addresses.begin(), addresses.end());
    std::vector<std::string> texts;
    for (const auto& address : addresses) texts.push_back(address.str());
    CHECK(texts == std::vector<std::string>{"vm[pa4/5000]", "vm[th2/200]", "vm[th2/1000]", "host[a.eu]",
                                            "host[b.eu]", "file[a.eu:/etc/z]", "zone[a.eu/a.eu]"});
}

TEST_CASE("valid_absolute_path: the root and ordinary paths pass, tricks do not") {
    CHECK(valid_absolute_path("/"));
    CHECK(valid_absolute_path("/etc/knot/knot.conf"));
    CHECK(valid_absolute_path("/var/lib/knot/zones/example.eu.zone"));
    CHECK_FALSE(valid_absolute_path(""));
    CHECK_FALSE(valid_absolute_path("relative/path"));
    CHECK_FALSE(valid_absolute_path("/a/./b"));
    CHECK_FALSE(valid_absolute_path("/a/.."));
    CHECK_FALSE(valid_absolute_path(std::string("/a\0b", 4)));
    CHECK_FALSE(valid_absolute_path("/" + std::string(5000, 'a')));
}
