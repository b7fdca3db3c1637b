#include <catch2/catch.hpp>

#include "values.hpp"

using namespace pvesim;

TEST_CASE("normalise_tags: lower-cased, de-duplicated, sorted, semicolon-joined") {
    CHECK(normalise_tags("prod,DNS") == "dns;prod");
    CHECK(normalise_tags("b a;A  c,b") == "a;b;c");
    CHECK(normalise_tags("") == "");
}

TEST_CASE("invalid_tag: names the first tag PVE refuses") {
    CHECK_FALSE(invalid_tag("dns;prod-1;a.b+c"));
    CHECK(invalid_tag("ok;-bad") == std::optional<std::string>("-bad"));
}

TEST_CASE("is_urlencoded: the server-side sshkeys check") {
    CHECK(is_urlencoded("ssh-ed25519%20AAAAC3Nza%2B%2Fx%3D%20ops%40host"));
    CHECK_FALSE(is_urlencoded("ssh-ed25519 AAAA"));
    CHECK_FALSE(is_urlencoded("a+b"));
    CHECK(percent_decode("a%20b+c%2B") == "a b+c+");
    CHECK(form_decode("a%20b+c") == "a b c");
}

TEST_CASE("valid_ssh_public_keys: every line must be a public key") {
    CHECK(valid_ssh_public_keys("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOps ops@host\n"));
    CHECK(valid_ssh_public_keys("ssh-rsa AAAAB3Nza== a\necdsa-sha2-nistp256 AAAAE2V= b"));
    CHECK_FALSE(valid_ssh_public_keys("not a key"));
}

TEST_CASE("sizes: parse_size and PVE's format_size") {
    auto two_g = parse_size("2G");
    REQUIRE(two_g);
    CHECK_FALSE(two_g->relative);
    CHECK(two_g->bytes == 2ULL << 30);
    auto grow = parse_size("+512M");
    REQUIRE(grow);
    CHECK(grow->relative);
    CHECK(grow->bytes == 512ULL << 20);
    CHECK(parse_size("1073741824")->bytes == 1ULL << 30);  // no unit: bytes
    CHECK_FALSE(parse_size("2GB"));
    CHECK(format_size(2ULL << 30) == "2G");
    CHECK(format_size(1536ULL << 20) == "1536M");
    CHECK(format_size(123) == "123");
    CHECK(format_size(1ULL << 40) == "1T");
}

TEST_CASE("make_mac: Proxmox prefix, unicast, upper-case") {
    auto mac = make_mac(0xABCDEF);
    CHECK(mac == "BC:24:11:AB:CD:EF");
    CHECK(is_unicast_mac(mac));
    CHECK_FALSE(is_unicast_mac("01:00:5E:00:00:01"));
}

TEST_CASE("parse_ipconfig: fields and the gateway rule") {
    std::string error;
    auto cfg = parse_ipconfig("ip=198.51.100.10/24,gw=198.51.100.1,ip6=2001:db8::10/64", &error);
    REQUIRE(cfg);
    CHECK(*cfg->ip == "198.51.100.10/24");
    CHECK(*cfg->gw == "198.51.100.1");
    CHECK(*cfg->ip6 == "2001:db8::10/64");
    CHECK_FALSE(parse_ipconfig("gw=198.51.100.1", &error));
    CHECK_FALSE(parse_ipconfig("ip=300.1.1.1/24", &error));
}

TEST_CASE("names: DNS names, node names, storage IDs") {
    CHECK(is_dns_name("ns1.example.net"));
    CHECK_FALSE(is_dns_name("bad_name"));
    CHECK(is_node_name("pve-th2-1"));
    CHECK_FALSE(is_node_name("-x"));
    CHECK(is_storage_id("local-lvm"));
    CHECK_FALSE(is_storage_id("1local"));
}

TEST_CASE("stable_hash: deterministic and spread") {
    CHECK(stable_hash("a") == stable_hash("a"));
    CHECK(stable_hash("a") != stable_hash("b"));
}
