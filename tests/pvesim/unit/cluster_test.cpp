#include <catch2/catch.hpp>

#include "cluster.hpp"
#include "fakes.hpp"

using namespace pvesim;
using pvesim::testing::FakeClock;

namespace {

Config template_config() {
    return {{"name", "tmpl-debian12"}, {"template", "1"}, {"memory", "2048"}, {"cores", "2"},
            {"scsi0", "local-lvm:base-9000-disk-0,size=2G"}, {"ide2", "local-lvm:vm-9000-cloudinit,media=cdrom"},
            {"agent", "1"}, {"net0", "virtio=BC:24:11:90:00:01,bridge=vmbr0"}, {"ipconfig0", "ip=dhcp"},
            {"smbios1", "uuid=7d1c4f3e-2b8a-4c61-9e0f-5a6b7c8d9e01"}};
}

struct World {
    FakeClock clock;
    ClusterState state;

    explicit World(ClusterSpec spec = make_spec()) : state(std::move(spec), clock, Schema::builtin()) {
        REQUIRE(state.add_vm(9000, "pve1", template_config(), false, ""));
    }

    static ClusterSpec make_spec() {
        ClusterSpec spec;
        spec.name = "th2";
        spec.nodes = {NodeSpec{"pve1"}};
        spec.storages = {StorageSpec{"local-lvm"}, StorageSpec{"lvm-thick", "lvm"}};
        spec.pools = {PoolSpec{"dns", ""}};
        spec.timing.clone = Millis(2000);
        spec.timing.start = Millis(500);
        spec.timing.stop = Millis(300);
        spec.timing.resize = Millis(100);
        spec.timing.destroy = Millis(100);
        spec.timing.agent_ready = Millis(1000);
        return spec;
    }

    void run(Millis duration) {
        auto end = clock.now() + duration;
        while (true) {
            state.tick();
            auto next = state.next_deadline();
            if (!next || *next > end) break;
            clock.set(*next);
        }
        clock.set(end);
        state.tick();
    }

    const Task& task(const Outcome<std::string>& upid) {
        REQUIRE(upid);
        const auto* t = state.task(*upid);
        REQUIRE(t);
        return *t;
    }

    std::string clone_101(TaskOptions options = {"dnsctl@pve!dnsctl", std::nullopt, 0}) {
        CloneArgs args;
        args.node = "pve1";
        args.source = 9000;
        args.newid = 101;
        args.name = "ns1";
        args.full = true;
        auto upid = state.clone(args, options);
        REQUIRE(upid);
        return *upid;
    }
};

}  // namespace

TEST_CASE("cluster: a clone holds lock: clone until its task ends") {
    World w;
    auto upid = w.clone_101();
    CHECK(upid.rfind("UPID:pve1:", 0) == 0);
    CHECK(upid.find(":qmclone:9000:dnsctl@pve!dnsctl:") != std::string::npos);
    const auto* vm = w.state.find_vm(101);
    REQUIRE(vm);
    CHECK(vm->config.at("lock") == "clone");
    CHECK(w.state.task(upid)->running);
    w.run(Millis(1999));
    CHECK(w.state.task(upid)->running);
    w.run(Millis(1));
    const auto* task = w.state.task(upid);
    CHECK_FALSE(task->running);
    CHECK(task->exitstatus == "OK");
    CHECK(task->log.back() == "TASK OK");
    vm = w.state.find_vm(101);
    CHECK_FALSE(vm->config.count("lock"));
    CHECK_FALSE(vm->config.count("template"));
    CHECK(vm->config.at("name") == "ns1");
    CHECK(vm->config.at("scsi0") == "local-lvm:vm-101-disk-0,size=2G");
    CHECK(vm->config.at("ide2") == "local-lvm:vm-101-cloudinit,media=cdrom");
    // new MAC, new UUID
    CHECK(vm->config.at("net0").rfind("virtio=BC:24:11:", 0) == 0);
    CHECK(vm->config.at("net0") != "virtio=BC:24:11:90:00:01,bridge=vmbr0");
    CHECK(vm->config.at("smbios1") != "uuid=7d1c4f3e-2b8a-4c61-9e0f-5a6b7c8d9e01");
}

TEST_CASE("cluster: the clone's flock blocks config writes until it ends") {
    World w;
    w.clone_101();
    auto busy = w.state.flock_busy_until(101);
    REQUIRE(busy);
    CHECK(*busy == w.clock.now() + Millis(2000));
    // a stopped template is locked shared: another clone may read it
    CHECK_FALSE(w.state.flock_busy_until(9000, true));
    CHECK(w.state.flock_busy_until(9000, false));
    w.run(Millis(2000));
    CHECK_FALSE(w.state.flock_busy_until(101));
}

TEST_CASE("cluster: clone refusals") {
    World w;
    CloneArgs args;
    args.node = "pve1";
    args.source = 9000;
    args.newid = 9000;
    CHECK(w.state.clone(args, {}).error().message == "unable to create VM 9000: config file already exists");
    args.newid = 102;
    args.node = "other";
    CHECK(w.state.clone(args, {}).error().message == "unable to find configuration file for VM 9000 on node 'other'");
    args.node = "pve1";
    args.full = false;
    args.storage = "local-lvm";
    CHECK(w.state.clone(args, {}).error().message == "parameter 'storage' not allowed for linked clones");
    args.storage.reset();
    args.pool = "nope";
    CHECK(w.state.clone(args, {}).error().message == "pool 'nope' does not exist");
    args.pool.reset();
    args.target = "pve2";
    CHECK(w.state.clone(args, {}).error().message == "no such cluster node 'pve2'");
}

TEST_CASE("cluster: linked clone of a template on lvmthin") {
    World w;
    CloneArgs args;
    args.node = "pve1";
    args.source = 9000;
    args.newid = 102;
    auto upid = w.state.clone(args, {});  // template: linked by default
    REQUIRE(upid);
    CHECK(w.state.find_vm(102)->config.at("scsi0") == "local-lvm:base-9000-disk-0/vm-102-disk-0,size=2G");
    CHECK(w.state.find_vm(102)->config.at("name") == "Copy-of-VM-tmpl-debian12");
}

TEST_CASE("cluster: an injected task failure removes the half-made clone") {
    World w;
    auto upid = w.clone_101({"u@pve", std::string("can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout"), 0});
    w.run(Millis(2000));
    CHECK(w.state.task(upid)->exitstatus ==
          "clone failed: can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout");
    CHECK(w.state.task(upid)->log.back().rfind("TASK ERROR: clone failed", 0) == 0);
    CHECK_FALSE(w.state.find_vm(101));
}

TEST_CASE("cluster: WARNINGS exit status still applies the change") {
    World w;
    w.clone_101();
    w.run(Millis(2000));
    auto upid = w.state.power(TaskJob::Kind::start, 101, false, false, {"u@pve", std::nullopt, 1});
    w.run(Millis(500));
    CHECK(w.state.task(*upid)->exitstatus == "WARNINGS: 1");
    CHECK(w.state.task(*upid)->log.back() == "TASK WARNINGS: 1");
    CHECK(w.state.find_vm(101)->running);
}

TEST_CASE("cluster: config updates normalise like PVE") {
    World w;
    w.clone_101();
    w.run(Millis(2000));
    ConfigUpdate update;
    update.set = {{"tags", "Prod,DNS dns"}, {"net1", "virtio,bridge=vmbr0"}, {"description", "managed-by: dnsctl\n\n"},
                  {"cipassword", "hunter2"}, {"scsi1", "local-lvm:4"}};
    REQUIRE(w.state.update_config(101, update));
    const auto* vm = w.state.find_vm(101);
    CHECK(vm->config.at("tags") == "dns;prod");
    CHECK(vm->config.at("net1").rfind("virtio=BC:24:11:", 0) == 0);
    CHECK(vm->config.at("net1").find(",bridge=vmbr0") != std::string::npos);
    CHECK(vm->config.at("description") == "managed-by: dnsctl");
    CHECK(vm->config.at("scsi1") == "local-lvm:vm-101-disk-1,size=4G");
    CHECK(w.state.view_config(*vm, false).at("cipassword") == "**********");
    CHECK(vm->config.at("cipassword") != "hunter2");
}

TEST_CASE("cluster: digest, lock and empty updates are refused") {
    World w;
    w.clone_101();
    ConfigUpdate update;
    update.set = {{"cores", "4"}};
    CHECK(w.state.update_config(101, update).error().message == "VM is locked (clone)");
    w.run(Millis(2000));
    update.digest = "0000";
    CHECK(w.state.update_config(101, update).error().message == "checksum mismatch (file change by other user?)");
    update.digest = w.state.digest(*w.state.find_vm(101));
    CHECK(w.state.update_config(101, update));
    CHECK(w.state.update_config(101, ConfigUpdate{}).error().message == "no options specified");
    ConfigUpdate bad;
    bad.set = {{"sshkeys", "not%20a%20key"}};
    CHECK(w.state.update_config(101, bad).error().message == "SSH public key validation error");
}

TEST_CASE("cluster: changes to a running VM wait in pending unless hot-pluggable") {
    World w;
    w.clone_101();
    w.run(Millis(2000));
    w.state.power(TaskJob::Kind::start, 101, false, false, {});
    w.run(Millis(500));
    REQUIRE(w.state.find_vm(101)->running);
    ConfigUpdate update;
    update.set = {{"memory", "4096"}, {"name", "ns1b"}};
    REQUIRE(w.state.update_config(101, update));
    const auto* vm = w.state.find_vm(101);
    CHECK(vm->config.at("memory") == "2048");
    CHECK(vm->pending.at("memory") == "4096");
    CHECK(vm->config.at("name") == "ns1b");
    CHECK(w.state.view_config(*vm, false).at("memory") == "4096");
    CHECK(w.state.view_config(*vm, true).at("memory") == "2048");
    auto pending = w.state.pending_view(*vm);
    bool found = false;
    for (const auto& item : pending) {
        if (item["key"] == "memory") {
            found = true;
            CHECK(item["value"] == "2048");
            CHECK(item["pending"] == "4096");
        }
    }
    CHECK(found);
    w.state.power(TaskJob::Kind::stop, 101, false, false, {});
    w.run(Millis(300));
    CHECK(w.state.find_vm(101)->config.at("memory") == "4096");
    CHECK(w.state.find_vm(101)->pending.empty());
}

TEST_CASE("cluster: cloud-init changes are pending until start or regenerate") {
    World w;
    w.clone_101();
    w.run(Millis(2000));
    auto in_sync = w.state.cloudinit_view(*w.state.find_vm(101));
    for (const auto& item : in_sync) CHECK_FALSE(item.contains("pending"));
    ConfigUpdate update;
    update.set = {{"ipconfig0", "ip=198.51.100.10/24,gw=198.51.100.1"}, {"ciuser", "ops"}};
    REQUIRE(w.state.update_config(101, update));
    auto view = w.state.cloudinit_view(*w.state.find_vm(101));
    int pending = 0;
    for (const auto& item : view) {
        if (item["key"] == "ipconfig0") {
            CHECK(item["value"] == "ip=dhcp");
            CHECK(item["pending"] == "ip=198.51.100.10/24,gw=198.51.100.1");
        }
        if (item["key"] == "ciuser") CHECK_FALSE(item.contains("value"));
        if (item.contains("pending")) ++pending;
    }
    CHECK(pending == 2);
    REQUIRE(w.state.regenerate_cloudinit(101));
    for (const auto& item : w.state.cloudinit_view(*w.state.find_vm(101))) CHECK_FALSE(item.contains("pending"));
}

TEST_CASE("cluster: resize grows, refuses to shrink, no unit means bytes") {
    World w;
    w.clone_101();
    w.run(Millis(2000));
    auto grow = w.state.resize(101, "scsi0", "+8G", std::nullopt, false, {});
    w.run(Millis(100));
    CHECK(w.state.task(*grow)->exitstatus == "OK");
    CHECK(w.state.find_vm(101)->config.at("scsi0") == "local-lvm:vm-101-disk-0,size=10G");
    auto shrink = w.state.resize(101, "scsi0", "5G", std::nullopt, false, {});
    w.run(Millis(100));
    CHECK(w.state.task(*shrink)->exitstatus == "shrinking disks is not supported");
    auto bytes = w.state.resize(101, "scsi0", "11811160064", std::nullopt, false, {});  // 11 GiB
    w.run(Millis(100));
    CHECK(w.state.task(*bytes)->exitstatus == "OK");
    CHECK(w.state.find_vm(101)->config.at("scsi0") == "local-lvm:vm-101-disk-0,size=11G");
    auto missing = w.state.resize(101, "scsi5", "+1G", std::nullopt, false, {});
    w.run(Millis(100));
    CHECK(w.state.task(*missing)->exitstatus == "disk 'scsi5' does not exist");
    auto cdrom = w.state.resize(101, "ide2", "+1G", std::nullopt, false, {});
    w.run(Millis(100));
    CHECK(w.state.task(*cdrom)->exitstatus == "you can't resize a cdrom");
}

TEST_CASE("cluster: a task waiting for a flock times out like PVE") {
    auto spec = World::make_spec();
    spec.timing.config_lock_wait = Millis(1000);
    World w(spec);
    w.clone_101();
    w.run(Millis(2000));
    w.state.hold_flock(101, Millis(5000));
    auto upid = w.state.resize(101, "scsi0", "+1G", std::nullopt, false, {});
    w.run(Millis(999));
    CHECK(w.state.task(*upid)->running);
    w.run(Millis(1));
    CHECK(w.state.task(*upid)->exitstatus == "can't lock file '/var/lock/qemu-server/lock-101.conf' - got timeout");
    // a shorter hold: the task runs once the flock is free
    w.state.hold_flock(101, Millis(300));
    auto second = w.state.resize(101, "scsi0", "+1G", std::nullopt, false, {});
    w.run(Millis(300));
    CHECK(w.state.task(*second)->running);
    w.run(Millis(100));
    CHECK(w.state.task(*second)->exitstatus == "OK");
}

TEST_CASE("cluster: power transitions and their refusals") {
    World w;
    auto on_template = w.state.power(TaskJob::Kind::start, 9000, false, false, {});
    w.run(Millis(500));
    CHECK(w.state.task(*on_template)->exitstatus == "you can't start a vm if it's a template");
    w.clone_101();
    w.run(Millis(2000));
    CHECK(w.state.power(TaskJob::Kind::reboot, 101, false, false, {}).error().message == "VM 101 not running");
    w.state.power(TaskJob::Kind::start, 101, false, false, {});
    w.run(Millis(500));
    auto again = w.state.power(TaskJob::Kind::start, 101, false, false, {});
    w.run(Millis(500));
    CHECK(w.state.task(*again)->exitstatus == "VM 101 already running");
    CHECK(w.state.destroy(101, false, {}).error().message == "VM 101 is running - destroy failed");
    auto stop = w.state.power(TaskJob::Kind::stop, 101, false, false, {});
    w.run(Millis(300));
    CHECK(w.state.task(*stop)->exitstatus == "OK");
    CHECK_FALSE(w.state.find_vm(101)->running);
    auto destroy = w.state.destroy(101, false, {});
    w.run(Millis(100));
    CHECK(w.state.task(*destroy)->exitstatus == "OK");
    CHECK_FALSE(w.state.find_vm(101));
}

TEST_CASE("cluster: a missing bridge makes start fail") {
    World w;
    w.clone_101();
    w.run(Millis(2000));
    ConfigUpdate update;
    update.set = {{"net1", "virtio,bridge=vmbr9"}};
    REQUIRE(w.state.update_config(101, update));
    auto upid = w.state.power(TaskJob::Kind::start, 101, false, false, {});
    w.run(Millis(500));
    CHECK(w.state.task(*upid)->exitstatus == "bridge 'vmbr9' does not exist");
    CHECK_FALSE(w.state.find_vm(101)->running);
}

TEST_CASE("cluster: hooks hold the task until they report") {
    auto spec = World::make_spec();
    spec.hook_events = {"start"};
    World w(spec);
    w.clone_101();
    w.run(Millis(2000));
    auto upid = w.state.power(TaskJob::Kind::start, 101, false, false, {});
    w.clock.advance(Millis(500));
    auto result = w.state.tick();
    REQUIRE(result.hooks.size() == 1);
    CHECK(result.hooks[0].event == "start");
    CHECK(result.hooks[0].vmid == 101);
    CHECK(w.state.task(*upid)->running);
    CHECK(w.state.flock_busy_until(101));
    w.state.hook_finished(*upid, std::string("start failed: hook exited with status 3"));
    w.state.tick();
    CHECK(w.state.task(*upid)->exitstatus == "start failed: hook exited with status 3");
    CHECK_FALSE(w.state.find_vm(101)->running);
}

TEST_CASE("cluster: nextid is the lowest free VMID") {
    World w;
    CHECK(w.state.next_free_vmid() == 100);
    w.clone_101();
    CHECK(w.state.next_free_vmid() == 100);
}

TEST_CASE("cluster: state survives a save and load, work in flight does not") {
    World w;
    auto done = w.clone_101();
    w.run(Millis(2000));
    ConfigUpdate update;
    update.set = {{"tags", "dns"}};
    REQUIRE(w.state.update_config(101, update));
    CloneArgs args;
    args.node = "pve1";
    args.source = 9000;
    args.newid = 102;
    auto in_flight = w.state.clone(args, {});
    auto saved = w.state.save();

    World restored;
    restored.state.load(saved);
    REQUIRE(restored.state.find_vm(101));
    CHECK(restored.state.find_vm(101)->config.at("tags") == "dns");
    CHECK(restored.state.task(done)->exitstatus == "OK");
    CHECK(restored.state.task(*in_flight)->exitstatus == "unexpected status");
    // the half-made clone keeps its lock, as on a real node after a crash
    CHECK(restored.state.find_vm(102)->config.at("lock") == "clone");
}

TEST_CASE("cluster: the running machine follows the VM's machine type") {
    World w;
    w.clone_101();
    w.run(Millis(2000));
    const Vm& vm = *w.state.find_vm(101);
    CHECK(w.state.running_machine(vm).empty());  // stopped
    CHECK(w.state.machine_to_run({}) == "pc-i440fx-9.2+pve1");
    CHECK(w.state.machine_to_run({{"machine", "pc"}}) == "pc-i440fx-9.2+pve1");
    CHECK(w.state.machine_to_run({{"machine", "q35"}}) == "pc-q35-9.2+pve1");
    CHECK(w.state.machine_to_run({{"machine", "type=q35,viommu=intel"}}) == "pc-q35-9.2+pve1");
    CHECK(w.state.machine_to_run({{"machine", "viommu=virtio"}}) == "pc-i440fx-9.2+pve1");
    CHECK(w.state.machine_to_run({{"machine", "pc-q35-8.1"}}) == "pc-q35-8.1+pve0");
    CHECK(w.state.machine_to_run({{"machine", "pc-i440fx-9.0+pve1.pxe"}}) == "pc-i440fx-9.0+pve1");
    CHECK(w.state.machine_to_run({{"machine", "pc-8.0"}}) == "pc-i440fx-8.0+pve0");
    CHECK(w.state.machine_to_run({{"machine", "q35"}}, "pc") == "pc-i440fx-9.2+pve1");

    ConfigUpdate update;
    update.set = {{"machine", "q35"}};
    REQUIRE(w.state.update_config(101, update));
    w.state.power(TaskJob::Kind::start, 101, false, false, {});
    w.run(Millis(500));
    CHECK(w.state.running_machine(*w.state.find_vm(101)) == "pc-q35-9.2+pve1");
    // a change while running waits for the next start; the running machine stays
    update.set = {{"machine", "pc"}};
    REQUIRE(w.state.update_config(101, update));
    CHECK(w.state.running_machine(*w.state.find_vm(101)) == "pc-q35-9.2+pve1");
    auto saved = w.state.save();
    World restored;
    restored.state.load(saved);
    CHECK(restored.state.running_machine(*restored.state.find_vm(101)) == "pc-q35-9.2+pve1");

    w.state.power(TaskJob::Kind::stop, 101, false, false, {});
    w.run(Millis(300));
    CHECK(w.state.running_machine(*w.state.find_vm(101)).empty());
    w.state.power(TaskJob::Kind::start, 101, false, false, {}, "type=q35");
    w.run(Millis(500));
    CHECK(w.state.running_machine(*w.state.find_vm(101)) == "pc-q35-9.2+pve1");  // the start parameter wins
}

TEST_CASE("cluster: the cdrom alias is ide2 as a CD-ROM, a boot order names existing devices") {
    World w;
    w.clone_101();
    w.run(Millis(2000));
    ConfigUpdate update;
    update.set = {{"cdrom", "none"}};
    REQUIRE(w.state.update_config(101, update));
    CHECK(w.state.find_vm(101)->config.at("ide2") == "none,media=cdrom");
    CHECK_FALSE(w.state.find_vm(101)->config.count("cdrom"));

    update.set = {{"boot", "order=scsi0;ide2;net0"}};
    REQUIRE(w.state.update_config(101, update));
    CHECK(w.state.find_vm(101)->config.at("boot") == "order=scsi0;ide2;net0");
    update.set = {{"boot", "order=scsi0 net0"}};  // any list separator, stored with ";"
    REQUIRE(w.state.update_config(101, update));
    CHECK(w.state.find_vm(101)->config.at("boot") == "order=scsi0;net0");
    update.set = {{"boot", "order=scsi0;scsi5"}};
    auto missing = w.state.update_config(101, update);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().status == 500);
    CHECK(missing.error().message == "invalid bootorder: device 'scsi5' does not exist'");
    // a device added in the same update counts; one deleted in it does not
    update.set = {{"boot", "order=net1"}, {"net1", "virtio,bridge=vmbr0"}};
    REQUIRE(w.state.update_config(101, update));
    update.set = {{"boot", "order=net1"}};
    update.deletes = {"net1"};
    CHECK_FALSE(w.state.update_config(101, update));
    CHECK(w.state.find_vm(101)->config.at("boot") == "order=net1");
    update.set = {{"boot", "cdn"}};
    update.deletes = {};
    REQUIRE(w.state.update_config(101, update));
    CHECK(w.state.find_vm(101)->config.at("boot") == "cdn");
}
