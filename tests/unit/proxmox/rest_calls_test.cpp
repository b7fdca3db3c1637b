#include <catch2/catch.hpp>

#include "proxmox/percent_encoding.hpp"
#include "proxmox/rest_calls.hpp"

using namespace dnsctl;

namespace {
const std::string kUpid = "UPID:pve1:00076C9F:0106C652:646A9B55:qmclone:9000:dnsctl@pve!ctl:";
}

TEST_CASE("rest calls: reads are GETs with the documented paths and never mutate") {
    CHECK(list_nodes_call().path == "nodes");
    CHECK(list_vms_call().path == "cluster/resources?type=vm");
    CHECK(get_config_call("pve1", Vmid{101}).path == "nodes/pve1/qemu/101/config");
    CHECK(get_cloudinit_call("pve1", Vmid{101}).path == "nodes/pve1/qemu/101/cloudinit");
    CHECK(active_tasks_call("pve1", Vmid{101}).path == "nodes/pve1/tasks?source=active&vmid=101");
    CHECK(task_log_call("pve1", kUpid, 500, 500).path == "nodes/pve1/tasks/" + kUpid + "/log?start=500&limit=500");
    CHECK(agent_file_read_call("pve1", Vmid{101}, "/etc/ssh/ssh_host_ed25519_key.pub").path ==
          "nodes/pve1/qemu/101/agent/file-read?file=%2Fetc%2Fssh%2Fssh_host_ed25519_key.pub");
    for (const auto& call : {list_nodes_call(), list_vms_call(), get_config_call("pve1", Vmid{101}),
                             task_status_call("pve1", kUpid), agent_file_read_call("pve1", Vmid{101}, "/x")}) {
        CHECK(call.method == "GET");
        CHECK_FALSE(call.mutating);
        CHECK(call.body.empty());
    }
}

TEST_CASE("rest calls: a UPID goes into the path raw") {
    auto call = task_status_call("pve1", kUpid);
    CHECK(call.path == "nodes/pve1/tasks/" + kUpid + "/status");
    CHECK(call.describe() == "GET /nodes/pve1/tasks/" + kUpid + "/status");
}

TEST_CASE("rest calls: clone always says full or linked, storage only for full clones") {
    CloneRequest request;
    request.newid = Vmid{101};
    request.name = "ns1.example.eu";
    request.description = "managed-by: dnsctl estate=prod";
    request.storage = "local-lvm";
    auto full = clone_call("pve1", Vmid{9000}, request);
    CHECK(full.method == "POST");
    CHECK(full.mutating);
    CHECK(full.path == "nodes/pve1/qemu/9000/clone");
    CHECK(full.body ==
          "newid=101&name=ns1.example.eu&description=managed-by%3A%20dnsctl%20estate%3Dprod&full=1&storage=local-lvm");

    request.full = false;
    request.description.clear();
    request.pool = "dns";
    CHECK(clone_call("pve1", Vmid{9000}, request).body == "newid=101&name=ns1.example.eu&full=0&pool=dns");
}

TEST_CASE("rest calls: config update is a form PUT with sshkeys encoded twice, delete and digest") {
    ConfigUpdate update;
    update.set["cores"] = "4";
    update.set["sshkeys"] = encode_sshkeys("ssh-ed25519 AAAA+/= dnsctl@ctl");
    update.set["onboot"] = "1";
    update.remove = {"net1", "serial0"};
    update.digest = "0123abcd";
    auto call = update_config_call("pve1", Vmid{101}, update);
    CHECK(call.method == "PUT");
    CHECK(call.mutating);
    CHECK(call.path == "nodes/pve1/qemu/101/config");
    CHECK(call.body ==
          "cores=4&onboot=1&sshkeys=ssh-ed25519%2520AAAA%252B%252F%253D%2520dnsctl%2540ctl"
          "&delete=net1%2Cserial0&digest=0123abcd");
}

TEST_CASE("rest calls: power, resize and destroy") {
    auto resize = resize_disk_call("pve1", Vmid{101}, "scsi0", "20G");
    CHECK(resize.method == "PUT");
    CHECK(resize.body == "disk=scsi0&size=20G");
    CHECK(start_call("pve1", Vmid{101}).path == "nodes/pve1/qemu/101/status/start");
    CHECK(start_call("pve1", Vmid{101}).body.empty());
    CHECK(stop_call("pve1", Vmid{101}).path == "nodes/pve1/qemu/101/status/stop");
    CHECK(shutdown_call("pve1", Vmid{101}, true).body == "forceStop=1");
    CHECK(shutdown_call("pve1", Vmid{101}, false).body == "forceStop=0");
    auto destroy = destroy_call("pve1", Vmid{101});
    CHECK(destroy.method == "DELETE");
    CHECK(destroy.body.empty());  // PVE refuses a body on DELETE
    CHECK(destroy.path == "nodes/pve1/qemu/101?purge=1&destroy-unreferenced-disks=1");
    for (const auto& call : {resize, start_call("pve1", Vmid{1}), destroy}) CHECK(call.mutating);
}

TEST_CASE("decode_vms: guests of both types, typed loosely as PVE sends them") {
    const char* body = R"({"data":[
        {"id":"qemu/101","type":"qemu","vmid":101,"node":"pve1","status":"running","name":"ns1","template":0,
         "tags":"dns;dnsctl","maxmem":2147483648},
        {"id":"storage/pve1/local","type":"storage","node":"pve1","storage":"local"},
        {"id":"qemu/9000","type":"qemu","vmid":"9000","node":"pve1","status":"stopped","name":"tmpl","template":1},
        {"id":"lxc/100","type":"lxc","vmid":100,"node":"pve2","status":"running","name":"ct"},
        {"id":"qemu/102","type":"qemu","vmid":102,"node":"pve2","lock":"clone"}
    ]})";
    auto vms = decode_vms(body);
    REQUIRE(vms);
    REQUIRE(vms->size() == 4);
    CHECK((*vms)[0].vmid.value == 100);
    CHECK((*vms)[0].type == "lxc");
    const auto& ns1 = (*vms)[1];
    CHECK(ns1.vmid.value == 101);
    CHECK(ns1.type == "qemu");
    CHECK(ns1.node == "pve1");
    CHECK(ns1.status == "running");
    CHECK(ns1.tags == "dns;dnsctl");
    CHECK_FALSE(ns1.is_template);
    CHECK_FALSE(ns1.lock);
    const auto& fresh = (*vms)[2];  // just cloned: not yet in the status cache
    CHECK(fresh.status == "unknown");
    CHECK(fresh.name.empty());
    CHECK(fresh.lock == std::optional<std::string>("clone"));
    CHECK((*vms)[3].is_template);
}

TEST_CASE("decoders: unexpected answers are internal errors") {
    for (const char* body : {"", "<html>", "{}", R"({"data":{}})", R"({"data":[1]})",
                             R"({"data":[{"type":"qemu","vmid":"x","node":"a"}]})",
                             R"({"data":[{"type":"qemu","vmid":42,"node":"a"}]})"}) {
        auto vms = decode_vms(body);
        INFO(body);
        REQUIRE_FALSE(vms);
        CHECK(vms.error().kind == ErrorKind::internal);
    }
    CHECK_FALSE(decode_upid(R"({"data":null})"));
    CHECK_FALSE(decode_upid(R"({"data":"OK"})"));
    CHECK(*decode_upid(R"({"data":")" + kUpid + R"("})") == kUpid);
    CHECK(decode_any(R"({"data":null})"));
    CHECK_FALSE(decode_any("not json"));
}

TEST_CASE("decode_config: every value as text, sshkeys left encoded") {
    auto config = decode_config(
        R"({"data":{"cores":2,"memory":"2048","onboot":1,"name":"ns1","digest":"abc123",
            "sshkeys":"ssh-ed25519%20AAAA%2B%20a%40b","net0":"virtio=BC:24:11:00:00:01,bridge=vmbr0"}})");
    REQUIRE(config);
    CHECK(config->at("cores") == "2");
    CHECK(config->at("memory") == "2048");
    CHECK(config->at("onboot") == "1");
    CHECK(config->at("digest") == "abc123");
    CHECK(config->at("sshkeys") == "ssh-ed25519%20AAAA%2B%20a%40b");
    CHECK(*decode_sshkeys(config->at("sshkeys")) == "ssh-ed25519 AAAA+ a@b");
}

TEST_CASE("decode_task_status: running, stopped, and a stopped task without exit status") {
    auto running = decode_task_status(R"({"data":{"upid":"UPID:a:1:2:3:qmstart:100:u@pam:","status":"running"}})");
    REQUIRE(running);
    CHECK(running->running);
    CHECK_FALSE(running->succeeded());

    auto warned = decode_task_status(
        R"({"data":{"id":"100","pid":29475,"status":"stopped","type":"qmstart","pstart":1062565,"exitstatus":"WARNINGS: 1",
            "upid":"UPID:dahu-2:00007323:001036A5:6419CAF8:qmstart:100:root@pam:","starttime":1679411960,
            "user":"root@pam","node":"dahu-2"}})");
    REQUIRE(warned);
    CHECK_FALSE(warned->running);
    CHECK(warned->exitstatus == "WARNINGS: 1");
    CHECK(warned->succeeded());

    auto odd = decode_task_status(R"({"data":{"upid":"UPID:a:1:2:3:qmstart:100:u@pam:","status":"stopped"}})");
    REQUIRE(odd);
    CHECK(odd->exitstatus == "unexpected status");
    CHECK_FALSE(odd->succeeded());
    CHECK_FALSE(decode_task_status(R"({"data":{"status":"paused"}})"));
}

TEST_CASE("decode_task_log, decode_tasks, decode_cloudinit, decode_file_read, decode_nodes") {
    auto log = decode_task_log(R"({"data":[{"n":2,"t":"TASK WARNINGS: 1"},{"n":1,"t":"WARN: no efidisk"}],"total":2})");
    REQUIRE(log);
    CHECK(*log == std::vector<std::string>{"WARN: no efidisk", "TASK WARNINGS: 1"});

    auto tasks = decode_tasks(R"({"data":[{"upid":"UPID:a:1:2:3:qmclone:9000:u@pam:","type":"qmclone","id":"9000"},
                                          {"upid":"UPID:a:1:2:4:qmstart:101:u@pam:","type":"qmstart","id":"101","status":"OK"}]})");
    REQUIRE(tasks);
    REQUIRE(tasks->size() == 2);
    CHECK((*tasks)[0].status == "running");
    CHECK((*tasks)[1].status == "OK");

    auto cloudinit = decode_cloudinit(
        R"({"data":[{"key":"ciuser","value":"ops"},{"key":"ipconfig0","value":"ip=dhcp","pending":"ip=198.51.100.10/24"},
                    {"key":"searchdomain","value":"example.eu","delete":1}]})");
    REQUIRE(cloudinit);
    REQUIRE(cloudinit->size() == 3);
    CHECK_FALSE((*cloudinit)[0].pending);
    CHECK((*cloudinit)[1].pending == std::optional<std::string>("ip=198.51.100.10/24"));
    CHECK((*cloudinit)[2].deleted);

    CHECK(*decode_file_read(R"({"data":{"content":"ssh-ed25519 AAAA root@ns1\n"}})") == "ssh-ed25519 AAAA root@ns1\n");
    auto truncated = decode_file_read(R"({"data":{"content":"xx","truncated":1}})");
    REQUIRE_FALSE(truncated);
    CHECK(truncated.error().kind == ErrorKind::invalid);

    auto nodes = decode_nodes(R"({"data":[{"node":"pve1","status":"online"},{"node":"pve2"}]})");
    REQUIRE(nodes);
    CHECK((*nodes)[0].status == "online");
    CHECK((*nodes)[1].status == "unknown");
}
