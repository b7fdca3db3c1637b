#include <catch2/catch.hpp>

#include "schema.hpp"

using namespace pvesim;

namespace {

const Endpoint& endpoint(const char* method, const char* path) {
    const auto* e = Schema::builtin().find(method, path);
    REQUIRE(e != nullptr);
    return *e;
}

ErrorMap validate(const char* method, const char* path, Params params) {
    return Schema::builtin().validate(endpoint(method, path), params);
}

const char* kConfig = "/nodes/{node}/qemu/{vmid}/config";

}  // namespace

TEST_CASE("schema: the table covers the endpoints pve-sim serves") {
    auto keys = Schema::builtin().endpoint_keys();
    CHECK(std::find(keys.begin(), keys.end(), "POST /nodes/{node}/qemu/{vmid}/clone") != keys.end());
    CHECK(std::find(keys.begin(), keys.end(), "GET /nodes/{node}/qemu/{vmid}/agent/file-read") != keys.end());
    CHECK_FALSE(endpoint("POST", "/access/ticket").allow_token());
    CHECK(endpoint("GET", kConfig).proxy_to() == "node");
}

TEST_CASE("schema: valid config update passes") {
    auto errors = validate("PUT", kConfig,
                           {{"node", "pve1"}, {"vmid", "101"}, {"cores", "2"}, {"memory", "2048"}, {"onboot", "1"},
                            {"tags", "dns;prod"}, {"net0", "virtio,bridge=vmbr0,firewall=1"},
                            {"ipconfig0", "ip=198.51.100.10/24,gw=198.51.100.1"},
                            {"sshkeys", "ssh-ed25519%20AAAA%20ops%40host"}, {"name", "ns1.example.net"}});
    CHECK(errors.empty());
}

TEST_CASE("schema: unknown parameter is refused with PVE's text") {
    auto errors = validate("PUT", kConfig, {{"node", "pve1"}, {"vmid", "101"}, {"foo", "1"}});
    REQUIRE(errors.count("foo"));
    CHECK(errors["foo"] == "property is not defined in schema and the schema does not allow additional properties");
}

TEST_CASE("schema: booleans are only 0 or 1") {
    auto errors = validate("PUT", kConfig, {{"node", "pve1"}, {"vmid", "101"}, {"onboot", "true"}});
    CHECK(errors["onboot"] == "type check ('boolean') failed - got 'true'");
}

TEST_CASE("schema: required parameters") {
    auto errors = validate("POST", "/nodes/{node}/qemu/{vmid}/clone", {{"node", "pve1"}, {"vmid", "9000"}});
    CHECK(errors["newid"] == "property is missing and it is not optional");
}

TEST_CASE("schema: integers, formats and ranges in PVE's order") {
    auto errors = validate("POST", "/nodes/{node}/qemu/{vmid}/clone",
                           {{"node", "pve1"}, {"vmid", "9000"}, {"newid", "abc"}, {"name", "bad_name"}, {"target", "-x"}});
    CHECK(errors["newid"] == "type check ('integer') failed - got 'abc'");
    CHECK(errors["name"] == "invalid format - value does not look like a valid DNS name\n");
    CHECK(errors["target"] == "invalid format - value does not look like a valid node name\n");
    // pve-vmid's format is checked before its minimum
    auto low = validate("POST", "/nodes/{node}/qemu/{vmid}/clone", {{"node", "pve1"}, {"vmid", "9000"}, {"newid", "99"}});
    CHECK(low["newid"] == "invalid format - value does not look like a valid VM ID\n");
    auto cores = validate("PUT", kConfig, {{"node", "pve1"}, {"vmid", "101"}, {"cores", "0"}});
    CHECK(cores["cores"] == "value must have a minimum value of 1");
}

TEST_CASE("schema: enumerations list their values") {
    auto errors = validate("GET", "/cluster/resources", {{"type", "bogus"}});
    CHECK(errors["type"] == "value 'bogus' does not have a value in the enumeration 'vm, storage, node, sdn'");
}

TEST_CASE("schema: sshkeys must already be percent-encoded") {
    auto errors = validate("PUT", kConfig, {{"node", "pve1"}, {"vmid", "101"}, {"sshkeys", "ssh-ed25519 AAAA ops@host"}});
    CHECK(errors["sshkeys"] == "invalid format - invalid urlencoded string: ssh-ed25519 AAAA ops@host\n");
}

TEST_CASE("schema: tags and property strings") {
    auto tags = validate("PUT", kConfig, {{"node", "pve1"}, {"vmid", "101"}, {"tags", "ok;-bad"}});
    CHECK(tags["tags"] == "invalid format - invalid characters in tag\n");
    auto net = validate("PUT", kConfig, {{"node", "pve1"}, {"vmid", "101"}, {"net0", "virtio,bridge=vmbr0,mtu=0"}});
    CHECK(net["net0"] == "invalid format - format error\nnet0.mtu: value must have a minimum value of 1\n");
    auto model = validate("PUT", kConfig, {{"node", "pve1"}, {"vmid", "101"}, {"net0", "bogus,bridge=vmbr0"}});
    CHECK(model["net0"].find("net0.model: value 'bogus' does not have a value in the enumeration") != std::string::npos);
    auto memory = validate("PUT", kConfig, {{"node", "pve1"}, {"vmid", "101"}, {"memory", "8"}});
    CHECK(memory["memory"] == "invalid format - format error\nmemory.current: value must have a minimum value of 16\n");
    auto ip = validate("PUT", kConfig, {{"node", "pve1"}, {"vmid", "101"}, {"ipconfig0", "ip=10.0.0.1"}});
    CHECK(ip["ipconfig0"].find("ipconfig0.ip: invalid format - value does not look like a valid ipv4 network configuration") !=
          std::string::npos);
    auto index = validate("PUT", kConfig, {{"node", "pve1"}, {"vmid", "101"}, {"net32", "virtio,bridge=vmbr0"}});
    CHECK(index.count("net32"));  // net0..net31 only
}

TEST_CASE("schema: property strings print canonically") {
    const auto& schema = Schema::builtin();
    const auto* net = schema.property_format(*schema.config_property("net0"));
    REQUIRE(net);
    std::string error;
    auto parsed = schema.parse_property_string(*net, "bridge=vmbr0,virtio=bc:24:11:00:00:01,firewall=true", "net0", &error);
    REQUIRE(parsed);
    CHECK((*parsed)["model"] == "virtio");
    CHECK((*parsed)["firewall"] == "1");
    CHECK(schema.print_property_string(*net, *parsed) == "virtio=bc:24:11:00:00:01,bridge=vmbr0,firewall=1");
    const auto* scsi = schema.property_format(*schema.config_property("scsi0"));
    auto disk = schema.parse_property_string(*scsi, "local-lvm:vm-101-disk-0,size=2048M,iothread=1", "scsi0", &error);
    REQUIRE(disk);
    CHECK(schema.print_property_string(*scsi, *disk) == "local-lvm:vm-101-disk-0,iothread=1,size=2G");
}

TEST_CASE("schema: GET config types values like PVE") {
    const auto& schema = Schema::builtin();
    CHECK(schema.config_value_type("memory") == "string");
    CHECK(schema.config_value_type("cores") == "integer");
    CHECK(schema.config_value_type("template") == "boolean");
    CHECK(schema.config_value_type("net3") == "string");
}
