#include <catch2/catch.hpp>

#include "unit/fakes/fake_proxmox_api.hpp"

using namespace dnsctl;

namespace {

void one_node_cluster(FakeProxmoxApi& api) {
    api.add_node("pve1");
    FakeVm tmpl;
    tmpl.node = "pve1";
    tmpl.is_template = true;
    tmpl.config = {{"name", "tmpl"},
                   {"template", "1"},
                   {"scsi0", "local-lvm:base-9000-disk-0,size=4G"},
                   {"net0", "virtio=BC:24:11:AA:00:01,bridge=vmbr0"}};
    api.put_vm(Vmid{9000}, tmpl);
}

TaskStatus wait(FakeProxmoxApi& api, const Result<std::string>& upid) {
    REQUIRE(upid);
    auto status = api.task_status(upid_node(*upid).value(), *upid);
    REQUIRE(status);
    return *status;
}

}  // namespace

TEST_CASE("FakeProxmoxApi: injected failures, then normal answers, calls counted", "[fakes]") {
    FakeProxmoxApi api;
    one_node_cluster(api);
    api.fail_next(ProxmoxMethod::list_vms, Error{ErrorKind::unavailable, "503", false}, 2);
    CHECK_FALSE(api.list_vms());
    CHECK_FALSE(api.list_vms());
    CHECK(api.list_vms());
    CHECK(api.calls(ProxmoxMethod::list_vms) == 3);
    api.fail_always(ProxmoxMethod::list_nodes, Error{ErrorKind::denied, "403", false});
    for (int i = 0; i < 3; ++i) CHECK(api.list_nodes().error().kind == ErrorKind::denied);
    api.clear_failures();
    CHECK(api.list_nodes());
    CHECK(api.total_calls() == 7);
    api.reset_calls();
    CHECK(api.total_calls() == 0);
}

TEST_CASE("FakeProxmoxApi: clone gives a new MAC, refuses a taken VMID, can stay in flight", "[fakes]") {
    FakeProxmoxApi api;
    one_node_cluster(api);
    CHECK(wait(api, api.clone("pve1", Vmid{9000}, CloneRequest{Vmid{101}, "a", "d", true, "local-lvm", {}})).succeeded());
    auto vm = api.vm(Vmid{101});
    REQUIRE(vm);
    CHECK_FALSE(vm->is_template);
    CHECK(vm->config.at("name") == "a");
    CHECK(vm->config.at("description") == "d");
    CHECK(vm->config.at("net0") != "virtio=BC:24:11:AA:00:01,bridge=vmbr0");
    CHECK(vm->config.at("net0").ends_with(",bridge=vmbr0"));
    CHECK(api.clone("pve1", Vmid{9000}, CloneRequest{Vmid{101}, "b", "", true, {}, {}}).error().kind ==
          ErrorKind::conflict);
    CHECK(api.clone("pve2", Vmid{9000}, CloneRequest{Vmid{102}, "b", "", true, {}, {}}).error().kind ==
          ErrorKind::invalid);

    api.set_clone_in_flight(true);
    auto upid = api.clone("pve1", Vmid{9000}, CloneRequest{Vmid{102}, "b", "", true, {}, {}});
    CHECK(wait(api, upid).running);
    CHECK(api.vm(Vmid{102})->config == VmConfig{{"lock", "clone"}});
    auto tasks = api.active_tasks("pve1", Vmid{9000});  // a clone task is listed under its source
    REQUIRE(tasks);
    CHECK(tasks->size() == 1);
    CHECK(api.update_config("pve1", Vmid{102}, ConfigUpdate{{{"cores", "2"}}, {}, {}}).error().kind ==
          ErrorKind::unavailable);
    api.finish_tasks();
    CHECK(wait(api, upid).succeeded());
    CHECK(api.vm(Vmid{102})->config.at("name") == "b");
}

TEST_CASE("FakeProxmoxApi: config writes behave like PVE's", "[fakes]") {
    FakeProxmoxApi api;
    one_node_cluster(api);
    REQUIRE(api.clone("pve1", Vmid{9000}, CloneRequest{Vmid{101}, "a", "", true, {}, {}}));
    auto raw = api.update_config("pve1", Vmid{101}, ConfigUpdate{{{"sshkeys", "ssh-ed25519 AAAA a"}}, {}, {}});
    CHECK(raw.error().kind == ErrorKind::invalid);
    auto bad_key = api.update_config("pve1", Vmid{101}, ConfigUpdate{{{"sshkeys", "not-a-key"}}, {}, {}});
    CHECK(bad_key.error().message == "SSH public key validation error");
    REQUIRE(api.update_config("pve1", Vmid{101},
                              ConfigUpdate{{{"tags", "Prod,dnsctl DNS"}, {"net0", "virtio,bridge=vmbr1"}}, {}, {}}));
    auto config = api.get_config("pve1", Vmid{101}).value();
    CHECK(config.at("tags") == "dns;dnsctl;prod");
    CHECK(config.at("net0").starts_with("virtio=BC:24:11:"));
    CHECK(config.at("net0").ends_with(",bridge=vmbr1"));
    CHECK(config.at("digest").size() == 40);
    auto stale = api.update_config("pve1", Vmid{101}, ConfigUpdate{{{"cores", "2"}}, {}, std::string("0000")});
    CHECK(stale.error().kind == ErrorKind::conflict);
    REQUIRE(api.update_config("pve1", Vmid{101}, ConfigUpdate{{{"cores", "2"}}, {}, config.at("digest")}));
    CHECK(api.update_config("pve1", Vmid{101}, ConfigUpdate{}).error().kind == ErrorKind::invalid);
    CHECK(api.get_config("pve1", Vmid{555}).error().kind == ErrorKind::not_found);
}

TEST_CASE("FakeProxmoxApi: cloud-init values stay pending until a start", "[fakes]") {
    FakeProxmoxApi api;
    one_node_cluster(api);
    REQUIRE(api.clone("pve1", Vmid{9000}, CloneRequest{Vmid{101}, "a", "", true, {}, {}}));
    REQUIRE(api.update_config("pve1", Vmid{101}, ConfigUpdate{{{"ciuser", "dnsctl"}}, {}, {}}));
    auto before = api.get_cloudinit("pve1", Vmid{101}).value();
    REQUIRE(before.size() == 1);
    CHECK(before[0].pending == std::optional<std::string>("dnsctl"));
    CHECK_FALSE(before[0].value);
    CHECK(wait(api, api.start("pve1", Vmid{101})).succeeded());
    auto after = api.get_cloudinit("pve1", Vmid{101}).value();
    CHECK(after[0].value == std::optional<std::string>("dnsctl"));
    CHECK_FALSE(after[0].pending);
    // Starting a running VM fails in the task, like PVE.
    CHECK_FALSE(wait(api, api.start("pve1", Vmid{101})).succeeded());
}

TEST_CASE("FakeProxmoxApi: disks only grow, running VMs are not destroyed, WARNINGS succeed", "[fakes]") {
    FakeProxmoxApi api;
    one_node_cluster(api);
    REQUIRE(api.clone("pve1", Vmid{9000}, CloneRequest{Vmid{101}, "a", "", true, {}, {}}));
    CHECK(wait(api, api.resize_disk("pve1", Vmid{101}, "scsi0", "20G")).succeeded());
    CHECK(api.vm(Vmid{101})->config.at("scsi0") == "local-lvm:base-9000-disk-0,size=20G");
    auto shrink = wait(api, api.resize_disk("pve1", Vmid{101}, "scsi0", "10G"));
    CHECK(shrink.exitstatus == "shrinking disks is not supported");
    CHECK(api.vm(Vmid{101})->config.at("scsi0") == "local-lvm:base-9000-disk-0,size=20G");

    api.set_next_task_exitstatus(ProxmoxMethod::start, "WARNINGS: 1");
    auto started = wait(api, api.start("pve1", Vmid{101}));
    CHECK(started.exitstatus == "WARNINGS: 1");
    CHECK(started.succeeded());
    CHECK(api.destroy("pve1", Vmid{101}).error().kind == ErrorKind::conflict);
    CHECK(wait(api, api.stop("pve1", Vmid{101})).succeeded());
    CHECK(wait(api, api.destroy("pve1", Vmid{101})).succeeded());
    CHECK_FALSE(api.vm(Vmid{101}));
}

TEST_CASE("FakeProxmoxApi: an unreachable node answers 595 and lists its VMs as unknown", "[fakes]") {
    FakeProxmoxApi api;
    one_node_cluster(api);
    api.set_node_reachable("pve1", false);
    auto nodes = api.list_nodes().value();
    CHECK(nodes.at(0).status == "offline");
    auto vms = api.list_vms().value();
    CHECK(vms.at(0).status == "unknown");
    auto config = api.get_config("pve1", Vmid{9000});
    REQUIRE_FALSE(config);
    CHECK(config.error().kind == ErrorKind::unavailable);
    CHECK_THAT(config.error().message, Catch::Contains("595"));
    api.set_node_reachable("pve1", true);
    CHECK(api.get_config("pve1", Vmid{9000}));
}

TEST_CASE("FakeProxmoxApi: the guest agent reads files of a running VM only", "[fakes]") {
    FakeProxmoxApi api;
    one_node_cluster(api);
    FakeVm vm;
    vm.node = "pve1";
    vm.config = {{"agent", "1"}};
    vm.files = {{"/etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAA root@ns1\n"}};
    api.put_vm(Vmid{101}, vm);
    CHECK(api.agent_file_read("pve1", Vmid{101}, "/etc/ssh/ssh_host_ed25519_key.pub").error().kind ==
          ErrorKind::unavailable);
    REQUIRE(api.start("pve1", Vmid{101}));
    CHECK(api.agent_file_read("pve1", Vmid{101}, "/etc/ssh/ssh_host_ed25519_key.pub") ==
          std::string("ssh-ed25519 AAAA root@ns1\n"));
    CHECK_FALSE(api.agent_file_read("pve1", Vmid{101}, "/nope"));
}
