#include <catch2/catch.hpp>

#include "config.hpp"

using namespace pvesim;

TEST_CASE("config: the example serves the four reference clusters") {
    std::string error;
    auto config = load_config(std::filesystem::path(PVESIM_EXAMPLES_DIR) / "pve-sim.yaml", error);
    INFO(error);
    REQUIRE(config);
    REQUIRE(config->clusters.size() == 4);
    std::vector<std::string> names;
    for (const auto& cluster : config->clusters) {
        names.push_back(cluster.spec.name);
        REQUIRE(cluster.spec.nodes.size() == 1);
        CHECK(cluster.spec.nodes[0].name == "pve-" + cluster.spec.name + "-1");
        CHECK(cluster.spec.nodes[0].bridges == std::vector<std::string>{"vmbr0"});
        CHECK(cluster.spec.storages.at(0).id == "local-lvm");
        REQUIRE(cluster.vms.size() == 1);
        const auto& tmpl = cluster.vms[0];
        CHECK(tmpl.vmid == 9000);
        CHECK(tmpl.node == cluster.spec.nodes[0].name);
        CHECK(tmpl.config.at("name") == "tmpl-debian12");
        CHECK(tmpl.config.at("template") == "1");
        CHECK(tmpl.config.at("agent") == "1");
        CHECK(tmpl.config.count("scsi0"));
        CHECK(tmpl.config.at("ide2").find("cloudinit") != std::string::npos);
        const auto* token = cluster.access.token("dnsctl@pve", "dnsctl");
        REQUIRE(token);
        CHECK(token->privsep);
        CHECK(cluster.token_secret_files.at("dnsctl@pve!dnsctl").find("secrets/" + cluster.spec.name + "-dnsctl.token") !=
              std::string::npos);
        Identity who{"dnsctl@pve", "dnsctl"};
        for (const char* privilege : {"VM.Clone", "VM.Allocate", "VM.Config.Cloudinit", "VM.PowerMgmt", "VM.Monitor",
                                      "Datastore.AllocateSpace", "SDN.Use"}) {
            bool granted = cluster.access.allowed(who, "/vms/101", privilege) &&
                           cluster.access.allowed(who, "/storage/local-lvm", privilege) &&
                           cluster.access.allowed(who, "/sdn/zones/localnetwork/vmbr0", privilege);
            INFO(privilege);
            CHECK(granted);
        }
        CHECK_FALSE(cluster.access.allowed(Identity{"dnsctl@pve", "readonly"}, "/vms/101", "VM.PowerMgmt"));
    }
    CHECK(names == std::vector<std::string>{"th2", "pa4", "pa5", "pa3"});
}

TEST_CASE("config: mistakes are reported with their line") {
    std::string error;
    CHECK_FALSE(parse_config("clusters:\n  - name: a\n    nodez: []\n", ".", error));
    CHECK(error.find("unknown key 'nodez' in cluster") != std::string::npos);
    CHECK(error.find("line 3") != std::string::npos);
    CHECK_FALSE(parse_config("clusters:\n  - name: a\n    nodes: [{name: n}]\n    timing: {clone: 5}\n", ".", error));
    CHECK(error.find("unknown timing key 'clone'") != std::string::npos);
    CHECK_FALSE(parse_config("clusters:\n  - name: a\n    nodes: [{name: n}]\n    roles: {R: [VM.Fly]}\n", ".", error));
    CHECK(error.find("unknown privilege 'VM.Fly'") != std::string::npos);
    CHECK_FALSE(parse_config("clusters: []\nfaults: [{action: boom}]\n", ".", error));
    CHECK(error.find("unknown fault action 'boom'") != std::string::npos);
}

TEST_CASE("config: defaults") {
    std::string error;
    auto config = parse_config("clusters:\n  - name: a\n    nodes: [{name: n}]\n", ".", error);
    REQUIRE(config);
    const auto& cluster = config->clusters[0];
    CHECK(cluster.listen_host == "127.0.0.1");
    CHECK(cluster.listen_port == 0);
    CHECK(cluster.spec.version == "8.4.1");
    CHECK(cluster.spec.timing.config_lock_wait == Millis(10000));
    CHECK(cluster.access.user("root@pam"));
}
