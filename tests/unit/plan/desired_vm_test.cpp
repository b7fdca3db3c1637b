#include <catch2/catch.hpp>

#include "plan/address.hpp"
#include "plan/desired_vm.hpp"
#include "unit/plan/estate_fixture.hpp"

using namespace dnsctl;
using namespace dnsctl::test;

TEST_CASE("derive_desired_vms: one VM per host, primary first", "[plan][desired]") {
    auto inventory = reference_inventory();
    auto vms = derive_desired_vms(inventory, kDnsctlKey, reference_resolvers());
    REQUIRE(vms);
    REQUIRE(vms->size() == 5);
    const auto& primary = (*vms)[0];
    CHECK(primary.address == "vm[pa5/110]");
    CHECK(primary.role == VmRole::primary);
    CHECK(primary.tags == std::vector<std::string>{"dns-primary", "dnsctl"});
    CHECK(primary.memory_mib == 4096);
    CHECK(primary.disk_gib == 40);

    const auto& ns = (*vms)[1];
    CHECK(ns.address == "vm[th2/101]");
    CHECK(ns.cluster == "th2");
    CHECK(ns.node == "pve-th2");
    CHECK(ns.role == VmRole::public_nameserver);
    CHECK(ns.fqdn.str() == "ns-ipset.rdem-systems.eu");
    CHECK(ns.template_vmid == Vmid{9000});
    CHECK(ns.storage == "local-lvm");
    CHECK(ns.full_clone);
    CHECK(ns.vlan == std::optional<int>(53));
    CHECK(ns.ipconfig0 == "ip=198.51.100.53/24,gw=198.51.100.1,ip6=2001:db8:1::53/64,gw6=2001:db8:1::1");
    CHECK(ns.nameserver == std::optional<std::string>("2001:db8:53::53 198.51.100.2"));
    CHECK(ns.searchdomain == std::optional<std::string>("rdem-systems.eu"));
    CHECK(ns.ciuser == "dnsctl");
    CHECK(ns.ssh_keys == std::vector<std::string>{kDnsctlKey, kOperatorKey});
    CHECK(ns.tags == std::vector<std::string>{"dns-public", "dnsctl"});
    CHECK(ns.clone_description() == "managed-by: dnsctl estate=rdem-prod");

    auto attributes = ns.attributes();
    CHECK(attributes.at("net0") == "virtio,bridge=vmbr0,tag=53");
    CHECK(attributes.at("scsi0_size") == "20G");
    CHECK(attributes.at("status") == "running");
    CHECK(attributes.at("tags") == "dns-public;dnsctl");
    CHECK(attributes.at("agent") == "1");
    CHECK(attributes.at("onboot") == "1");
    CHECK(attributes.at("sshkeys") == std::string(kDnsctlKey) + "\n" + kOperatorKey);
    CHECK((*vms)[2].attributes().at("net0") == "virtio,bridge=vmbr0");
}

TEST_CASE("derive_desired_vms: without resolvers nameserver and searchdomain stay unmanaged", "[plan][desired]") {
    auto vms = derive_desired_vms(reference_inventory(), kDnsctlKey);
    REQUIRE(vms);
    CHECK_FALSE((*vms)[0].nameserver);
    CHECK_FALSE((*vms)[0].attributes().contains("nameserver"));
    CHECK_FALSE((*vms)[0].attributes().contains("searchdomain"));
}

TEST_CASE("derive_desired_vms: an explicit searchdomain wins and duplicate keys appear once", "[plan][desired]") {
    auto inventory = reference_inventory();
    inventory.ssh.extra_authorized_keys.push_back(std::string(kDnsctlKey) + "\n");
    auto resolvers = reference_resolvers();
    resolvers.searchdomain = "Infra.Example.NET.";
    auto vms = derive_desired_vms(inventory, std::string(kDnsctlKey) + "\n", resolvers);
    REQUIRE(vms);
    CHECK((*vms)[1].searchdomain == std::optional<std::string>("infra.example.net"));
    CHECK((*vms)[1].ssh_keys.size() == 2);
}

TEST_CASE("derive_desired_vms: refuses a missing key or an unknown cluster", "[plan][desired]") {
    auto inventory = reference_inventory();
    CHECK_FALSE(derive_desired_vms(inventory, "  \n"));
    CHECK_FALSE(derive_desired_vms(inventory, "ssh-ed25519 A a\nssh-ed25519 B b"));
    inventory.nameservers[0].cluster = "nowhere";
    auto vms = derive_desired_vms(inventory, kDnsctlKey);
    REQUIRE_FALSE(vms);
    CHECK_THAT(vms.error().message, Catch::Contains("cluster 'nowhere'"));
}

TEST_CASE("nameserver_zones: every apex NS name maps to its zones", "[plan][desired]") {
    auto zones = nameserver_zones(reference_inventory());
    CHECK(zones.size() == 4);
    CHECK(zones.at("ns-ielo.rdem-systems.net") == std::set<std::string>{"rdem-systems.eu"});
}

TEST_CASE("VmAddress: parses what vm_address prints", "[plan][desired]") {
    auto address = VmAddress::parse("vm[th2/101]");
    REQUIRE(address);
    CHECK(address->cluster == "th2");
    CHECK(address->vmid == Vmid{101});
    CHECK(address->str() == "vm[th2/101]");
    CHECK_FALSE(VmAddress::parse("vm[th2/99]"));
    CHECK_FALSE(VmAddress::parse("vm[/101]"));
    CHECK_FALSE(VmAddress::parse("vm[th2/10x]"));
    CHECK_FALSE(VmAddress::parse("th2/101"));
}
