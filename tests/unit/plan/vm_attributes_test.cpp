#include <catch2/catch.hpp>

#include "plan/vm_attributes.hpp"

using namespace dnsctl;

TEST_CASE("percent_encode: everything outside A-Za-z0-9-_.~ becomes %XX", "[plan][attributes]") {
    CHECK(percent_encode("ssh-ed25519 AAAA+/= me@host\n") == "ssh-ed25519%20AAAA%2B%2F%3D%20me%40host%0A");
    CHECK(percent_encode("a-b_c.d~e") == "a-b_c.d~e");
    CHECK(percent_encode("\xc3\xa9") == "%C3%A9");
}

TEST_CASE("normalise_sshkeys: either escape case, malformed escapes kept", "[plan][attributes]") {
    CHECK(normalise_sshkeys("ssh-ed25519%20AAAA%2fc%0Assh-rsa%20B") == "ssh-ed25519 AAAA/c\nssh-rsa B");
    CHECK(normalise_sshkeys("100%") == "100%");
    CHECK(normalise_sshkeys(percent_encode("ssh-rsa AAAA== x\ny")) == "ssh-rsa AAAA== x\ny");
}

TEST_CASE("normalise_tags: lower-case, sorted, de-duplicated, joined by semicolons", "[plan][attributes]") {
    CHECK(normalise_tags("prod,DNS dnsctl;dns") == "dns;dnsctl;prod");
    CHECK(normalise_tags("") == "");
    CHECK(join_tags({"dnsctl", "dns-public", "DNSCTL"}) == "dns-public;dnsctl");
}

TEST_CASE("parse_memory_mib: bare numbers and PVE 8.1 property strings", "[plan][attributes]") {
    CHECK(parse_memory_mib("2048") == 2048);
    CHECK(parse_memory_mib("current=4096") == 4096);
    CHECK(parse_memory_mib(" current=512 ") == 512);
    CHECK_FALSE(parse_memory_mib("lots"));
    CHECK_FALSE(parse_memory_mib(""));
}

TEST_CASE("sizes: parsed with units, printed in the largest exact unit", "[plan][attributes]") {
    CHECK(parse_size_bytes("20G") == 20ULL << 30);
    CHECK(parse_size_bytes("20480M") == 20ULL << 30);
    CHECK(parse_size_bytes("1.5T") == (3ULL << 40) / 2);
    CHECK(parse_size_bytes("1024") == 1024);
    CHECK_FALSE(parse_size_bytes("G"));
    CHECK_FALSE(parse_size_bytes("1x"));
    CHECK(format_size(20ULL << 30) == "20G");
    CHECK(format_size((3ULL << 40) / 2) == "1536G");
    CHECK(format_size(2252ULL << 20) == "2252M");
    CHECK(format_size(1000) == "1000");
    CHECK(drive_size("local-lvm:vm-101-disk-0,iothread=1,size=20480M") == std::optional<std::string>("20G"));
    CHECK_FALSE(drive_size("local-lvm:vm-101-disk-0"));
}

TEST_CASE("NetDevice: the MAC and unmanaged options are kept apart from what is compared", "[plan][attributes]") {
    auto net = NetDevice::parse("virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1,tag=53");
    CHECK(net.model == "virtio");
    CHECK(net.mac == std::optional<std::string>("BC:24:11:00:00:01"));
    CHECK(net.managed() == "virtio,bridge=vmbr0,tag=53");
    CHECK(net.str() == "virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=53,firewall=1");
    auto named = NetDevice::parse("model=e1000,macaddr=02:00:00:00:00:01,bridge=vmbr1");
    CHECK(named.model == "e1000");
    CHECK(named.mac == std::optional<std::string>("02:00:00:00:00:01"));
    CHECK(named.managed() == "e1000,bridge=vmbr1");
}

TEST_CASE("normalise_ipconfig: canonical order and address spelling", "[plan][attributes]") {
    CHECK(normalise_ipconfig("gw6=2001:0DB8::1,ip6=2001:db8:0:0::10/64,gw=198.51.100.1,ip=198.51.100.10/24") ==
          "ip=198.51.100.10/24,gw=198.51.100.1,ip6=2001:db8::10/64,gw6=2001:db8::1");
    CHECK(normalise_ipconfig("ip=dhcp,ip6=auto") == "ip=dhcp,ip6=auto");
}

TEST_CASE("resolver settings and flags normalise", "[plan][attributes]") {
    CHECK(normalise_nameserver("2001:DB8::53  198.51.100.2") == "2001:db8::53 198.51.100.2");
    CHECK(normalise_searchdomain("Example.EU. other.fr") == "example.eu other.fr");
    CHECK(normalise_flag("", false) == "0");
    CHECK(normalise_flag("1", false) == "1");
    CHECK(normalise_flag("enabled=1,fstrim_cloned_disks=1", false) == "1");
    CHECK(normalise_flag("0,type=virtio", true) == "0");
}

TEST_CASE("normalise_flag: a value of separators only is the default, never a read past the end",
          "[plan][attributes]") {
    CHECK(normalise_flag(",", false) == "0");
    CHECK(normalise_flag(",", true) == "1");
    CHECK(normalise_flag(" , ,", true) == "1");
    CHECK(normalise_flag(",1", false) == "1");
    CHECK(normalise_flag(" ,enabled=0", true) == "0");
}

TEST_CASE("normalise_sshkeys: decoded, trimmed, blank lines dropped", "[plan][attributes]") {
    CHECK(normalise_sshkeys("ssh-ed25519%20AAAA%20a%0d%0A%0A%20ssh-rsa%20BBBB%20b%20%0a") ==
          "ssh-ed25519 AAAA a\nssh-rsa BBBB b");
}

TEST_CASE("marker and stamp live in the description next to the operators' notes", "[plan][attributes]") {
    auto description = compose_description("Rack 4, contact noc@example.net\n", "prod", std::string("sha256:00ff"));
    CHECK(description ==
          "managed-by: dnsctl estate=prod\ndnsctl-config: sha256:00ff\nRack 4, contact noc@example.net");
    CHECK(has_marker(description, "prod"));
    CHECK_FALSE(has_marker(description, "pro"));
    CHECK(marker_estate(description) == std::optional<std::string>("prod"));
    CHECK(recorded_stamp(description) == std::optional<std::string>("sha256:00ff"));
    // Rewriting keeps the notes once and replaces the old dnsctl lines.
    auto again = compose_description(description, "prod", std::string("sha256:1111"));
    CHECK(again == "managed-by: dnsctl estate=prod\ndnsctl-config: sha256:1111\nRack 4, contact noc@example.net");
    CHECK_FALSE(recorded_stamp(compose_description("", "prod", std::nullopt)));
    CHECK_FALSE(marker_estate("managed by hand"));
}

TEST_CASE("config_stamp: depends on the stamped values only", "[plan][attributes]") {
    VmAttributes a{{"cores", "2"}, {"memory", "2048"}, {"status", "running"}};
    auto b = a;
    b["status"] = "stopped";
    CHECK(config_stamp(a) == config_stamp(b));
    b["cores"] = "4";
    CHECK(config_stamp(a) != config_stamp(b));
    CHECK(config_stamp(a).size() == std::string("sha256:").size() + 16);
}

TEST_CASE("observed_attributes: PVE defaults for absent keys", "[plan][attributes]") {
    VmConfig config{{"name", "NS1.Example.EU"}};
    auto attributes = observed_attributes(
        config, "stopped", {"agent", "cores", "memory", "name", "net0", "onboot", "scsi0_size", "status", "tags"});
    CHECK(attributes.at("agent") == "0");
    CHECK(attributes.at("cores") == "1");
    CHECK(attributes.at("memory") == "512");
    CHECK(attributes.at("name") == "ns1.example.eu");
    CHECK(attributes.at("net0") == "");
    CHECK(attributes.at("onboot") == "0");
    CHECK(attributes.at("scsi0_size") == "");
    CHECK(attributes.at("status") == "stopped");
    CHECK(attributes.at("tags") == "");
}

TEST_CASE("config_values: sshkeys encoded, net0 rebuilt on the existing device", "[plan][attributes]") {
    VmAttributes desired{{"sshkeys", "ssh-ed25519 AAAA a\nssh-ed25519 BBBB b"},
                         {"net0", "virtio,bridge=vmbr1"},
                         {"cores", "4"},
                         {"status", "running"},
                         {"scsi0_size", "20G"}};
    auto values = config_values(desired, {"sshkeys", "net0", "cores", "status", "scsi0_size"},
                                std::string("virtio=BC:24:11:00:00:07,bridge=vmbr0,tag=5,firewall=1"));
    CHECK(values.size() == 3);
    CHECK(values.at("sshkeys") == "ssh-ed25519%20AAAA%20a%0Assh-ed25519%20BBBB%20b");
    CHECK(values.at("net0") == "virtio=BC:24:11:00:00:07,bridge=vmbr1,firewall=1");
    CHECK(values.at("cores") == "4");
}

TEST_CASE("check_cloudinit: the effective value must be the one written", "[plan][attributes]") {
    std::map<std::string, std::string> expected{{"ipconfig0", "ip=198.51.100.10/24,gw=198.51.100.1"},
                                                {"sshkeys", "ssh-ed25519%20AAAA%20a"}};
    std::vector<CloudinitEntry> pending{
        {"ipconfig0", std::string("ip=dhcp"), std::string("gw=198.51.100.1,ip=198.51.100.10/24"), false},
        {"sshkeys", std::nullopt, std::string("ssh-ed25519%20aaaa%20a"), false}};
    auto problems = check_cloudinit(expected, pending);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0] == "cloud-init sshkeys does not hold the configured value");
    pending[1].pending = "ssh-ed25519%20AAAA%20a";
    CHECK(check_cloudinit(expected, pending).empty());
    pending[0].deleted = true;
    CHECK(check_cloudinit(expected, pending) == std::vector<std::string>{"cloud-init ipconfig0 is marked for deletion"});
    CHECK(check_cloudinit({{"ciuser", "dnsctl"}}, {}) == std::vector<std::string>{"cloud-init has no ciuser"});
}
