// CpprestProxmoxApi, RetryingProxmoxApi and wait_for_task against pve-sim,
// the project's Proxmox VE 8.4 simulator, over pinned HTTPS.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <fstream>

#include "core/clock.hpp"
#include "proxmox/percent_encoding.hpp"
#include "proxmox/retrying_proxmox_api.hpp"
#include "proxmox/tasks.hpp"
#include "pvesim_fixture.hpp"

using namespace dnsctl;
using namespace dnsctl::integration;
using namespace std::chrono_literals;

namespace {

const Vmid kTemplate{PveSim::kTemplate};
const std::string kNode = PveSim::kNode;

template <class T>
T must(Result<T> result) {
    if (!result) FAIL(result.error().message);
    return std::move(*result);
}

void must(Result<void> result) {
    if (!result) FAIL(result.error().message);
}

TaskStatus finish(ProxmoxApi& api, const std::string& upid) {
    SystemClock clock;
    return must(wait_for_task(api, must(upid_node(upid)), upid, clock, clock.now() + 30s, 50ms));
}

std::optional<VmSummary> find_vm(ProxmoxApi& api, Vmid vmid) {
    for (auto& vm : must(api.list_vms())) {
        if (vm.vmid == vmid) return vm;
    }
    return std::nullopt;
}

CloneRequest clone_request(Vmid newid, std::string name) {
    CloneRequest request;
    request.newid = newid;
    request.name = std::move(name);
    request.description = "managed-by: dnsctl estate=test";
    request.storage = "local-lvm";
    return request;
}

RetryPolicy quick_policy() {
    RetryPolicy policy;
    policy.max_attempts = 10;
    policy.first_delay = 50ms;
    policy.max_delay = 400ms;
    policy.max_elapsed = 30s;
    return policy;
}

// How many requests in pve-sim's log match, and how many of those a fault rule hit.
struct Count {
    int requests = 0;
    int faulted = 0;
};

Count count(const nlohmann::json& log, const std::string& method, const std::string& path_part,
            const std::string& rule) {
    Count c;
    for (const auto& entry : log) {
        if (entry.value("method", "") != method) continue;
        if (entry.value("path", "").find(path_part) == std::string::npos) continue;
        ++c.requests;
        for (const auto& id : entry.value("faults", nlohmann::json::array())) {
            if (id == rule) ++c.faulted;
        }
    }
    return c;
}

bool mentions(const Error& error, const std::string& part) { return error.message.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("pve-sim: list_nodes, list_vms and get_config over a pinned connection") {
    PveSim sim;
    auto api = sim.api();
    auto nodes = must(api->list_nodes());
    REQUIRE(nodes.size() == 2);
    CHECK(nodes[0].status == "online");

    auto vms = must(api->list_vms());
    REQUIRE(vms.size() == 1);
    CHECK(vms[0].vmid == kTemplate);
    CHECK(vms[0].type == "qemu");
    CHECK(vms[0].node == kNode);
    CHECK(vms[0].is_template);
    CHECK(vms[0].name == "tmpl-debian12");

    auto config = must(api->get_config(kNode, kTemplate));
    CHECK(config.at("name") == "tmpl-debian12");
    CHECK(config.at("cores") == "2");
    CHECK(config.at("memory") == "2048");
    CHECK(config.contains("digest"));
    CHECK(config.at("scsi0").find("size=2G") != std::string::npos);
}

TEST_CASE("pve-sim: a wrong pin is refused as a pin mismatch") {
    PveSim sim;
    auto config = sim.api_config();
    std::string wrong = sim.fingerprint();
    wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
    config.fingerprint_sha256 = wrong;
    auto api = must(CpprestProxmoxApi::open(config));
    auto vms = api->list_vms();
    REQUIRE_FALSE(vms);
    INFO(vms.error().message);
    CHECK(vms.error().kind == ErrorKind::denied);
    CHECK(mentions(vms.error(), "pin mismatch"));
    CHECK(mentions(vms.error(), "presented SHA-256 fingerprint " + sim.fingerprint()));
}

TEST_CASE("pve-sim: clone, configure with sshkeys, resize, start, read a guest file, destroy") {
    PveSim sim;
    auto api = sim.api();
    const Vmid vmid{101};

    auto clone_upid = must(api->clone(kNode, kTemplate, clone_request(vmid, "ns1.example.eu")));
    CHECK(must(upid_node(clone_upid)) == kNode);
    auto cloned = finish(*api, clone_upid);
    CHECK(cloned.exitstatus == "OK");
    auto summary = find_vm(*api, vmid);
    REQUIRE(summary);
    CHECK(summary->node == kNode);
    auto config = must(api->get_config(kNode, vmid));
    CHECK_FALSE(config.contains("lock"));
    CHECK(config.at("name") == "ns1.example.eu");
    CHECK(config.at("net0") != "virtio=BC:24:11:90:00:01,bridge=vmbr0");  // a fresh MAC

    const std::string keys =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm7e1QpZ8sKzJ0bq1Y1o5u2mC0y4XyFQn0iS6b8h2Xf dnsctl@controller\n"
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOq2n9v0P2bXn7g5m3kVQw1s8e4Zf6Hj2Kl9Pq0Rt3Uv ops@example.eu";
    ConfigUpdate update;
    update.set = {{"sshkeys", encode_sshkeys(keys)},
                  {"ciuser", "ops"},
                  {"ipconfig0", "ip=198.51.100.10/24,gw=198.51.100.1"},
                  {"nameserver", "198.51.100.53 2001:db8::53"},
                  {"searchdomain", "example.eu"},
                  {"cores", "4"},
                  {"memory", "4096"},
                  {"onboot", "1"},
                  {"tags", "dnsctl;DNS"}};
    update.digest = config.at("digest");
    must(api->update_config(kNode, vmid, update));

    config = must(api->get_config(kNode, vmid));
    CHECK(must(decode_sshkeys(config.at("sshkeys"))) == keys);
    CHECK(config.at("cores") == "4");
    CHECK(config.at("memory") == "4096");
    CHECK(config.at("tags") == "dns;dnsctl");
    CHECK(config.at("ipconfig0") == "ip=198.51.100.10/24,gw=198.51.100.1");

    auto cloudinit = must(api->get_cloudinit(kNode, vmid));
    bool saw_ciuser = false;
    for (const auto& entry : cloudinit) {
        if (entry.key == "ciuser") saw_ciuser = entry.pending.value_or(entry.value.value_or("")) == "ops";
    }
    CHECK(saw_ciuser);

    // A stale digest is a conflict.
    ConfigUpdate stale;
    stale.set = {{"cores", "2"}};
    stale.digest = update.digest;
    auto refused = api->update_config(kNode, vmid, stale);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == ErrorKind::conflict);

    finish(*api, must(api->resize_disk(kNode, vmid, "scsi0", "+1G")));
    CHECK(must(api->get_config(kNode, vmid)).at("scsi0").find("size=3G") != std::string::npos);
    auto shrink = api->resize_disk(kNode, vmid, "scsi0", "1G");
    if (shrink) {
        SystemClock clock;
        auto shrunk = wait_for_task(*api, kNode, *shrink, clock, clock.now() + 30s, 50ms);
        REQUIRE_FALSE(shrunk);
        CHECK(mentions(shrunk.error(), "shrinking disks is not supported"));
    } else {
        CHECK(mentions(shrink.error(), "shrinking disks is not supported"));
    }

    finish(*api, must(api->start(kNode, vmid)));
    CHECK(find_vm(*api, vmid)->status == "running");
    auto again = api->start(kNode, vmid);  // already running: the task fails
    if (again) {
        SystemClock clock;
        auto failed = wait_for_task(*api, kNode, *again, clock, clock.now() + 30s, 50ms);
        REQUIRE_FALSE(failed);
        CHECK(failed.error().kind == ErrorKind::conflict);
    }

    const auto key_file = sim.state_dir() / "guests" / PveSim::kCluster / "101" / "etc" / "ssh" /
                          "ssh_host_ed25519_key.pub";
    std::filesystem::create_directories(key_file.parent_path());
    std::ofstream(key_file) << "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfNs1 root@ns1\n";
    CHECK(must(api->agent_file_read(kNode, vmid, "/etc/ssh/ssh_host_ed25519_key.pub")) ==
          "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfNs1 root@ns1\n");
    auto missing = api->agent_file_read(kNode, vmid, "/etc/ssh/none.pub");
    REQUIRE_FALSE(missing);

    CHECK(api->active_tasks(kNode, vmid));

    auto running_destroy = api->destroy(kNode, vmid);
    REQUIRE_FALSE(running_destroy);
    CHECK(running_destroy.error().kind == ErrorKind::conflict);

    finish(*api, must(api->stop(kNode, vmid)));
    finish(*api, must(api->destroy(kNode, vmid)));
    CHECK_FALSE(find_vm(*api, vmid));
    auto gone = api->get_config(kNode, vmid);
    REQUIRE_FALSE(gone);
    CHECK(gone.error().kind == ErrorKind::not_found);
}

TEST_CASE("pve-sim: a task that ends with WARNINGS succeeds and its log is kept") {
    PveSim sim;
    auto api = sim.api();
    finish(*api, must(api->clone(kNode, kTemplate, clone_request(Vmid{102}, "ns2.example.eu"))));
    sim.admin("POST", "/faults",
              {{"id", "warn"}, {"path", "/nodes/*/qemu/*/status/start"}, {"action", "task_warnings"}, {"warnings", 2}});
    auto started = finish(*api, must(api->start(kNode, Vmid{102})));
    CHECK(started.exitstatus == "WARNINGS: 2");
    CHECK(started.succeeded());
    REQUIRE_FALSE(started.log.empty());
    CHECK(started.log.back() == "TASK WARNINGS: 2");
}

TEST_CASE("pve-sim: missing VMs, bad parameters and refused tokens are classified") {
    PveSim sim;
    auto api = sim.api();

    auto missing = api->get_config(kNode, Vmid{4242});
    REQUIRE_FALSE(missing);
    INFO(missing.error().message);
    CHECK(missing.error().kind == ErrorKind::not_found);
    CHECK(mentions(missing.error(), "does not exist"));
    auto missing_start = api->start(kNode, Vmid{4242});
    REQUIRE_FALSE(missing_start);
    CHECK(missing_start.error().kind == ErrorKind::not_found);

    ConfigUpdate unknown;
    unknown.set = {{"bogus_key", "1"}};
    auto bad = api->update_config(kNode, kTemplate, unknown);
    REQUIRE_FALSE(bad);
    INFO(bad.error().message);
    CHECK(bad.error().kind == ErrorKind::invalid);
    CHECK(mentions(bad.error(), "bogus_key"));
    CHECK(mentions(bad.error(), "400"));

    ConfigUpdate bad_value;
    bad_value.set = {{"cores", "many"}};
    auto typed = api->update_config(kNode, kTemplate, bad_value);
    REQUIRE_FALSE(typed);
    CHECK(typed.error().kind == ErrorKind::invalid);
    CHECK(mentions(typed.error(), "cores"));

    auto taken = api->clone(kNode, kTemplate, clone_request(kTemplate, "dup"));
    REQUIRE_FALSE(taken);
    INFO(taken.error().message);
    CHECK(taken.error().kind == ErrorKind::conflict);

    auto config = sim.api_config();
    config.token_secret = Secret("not-the-secret");
    auto denied = must(CpprestProxmoxApi::open(config))->list_vms();
    REQUIRE_FALSE(denied);
    CHECK(denied.error().kind == ErrorKind::denied);
    CHECK_FALSE(mentions(denied.error(), "not-the-secret"));
}

TEST_CASE("pve-sim: an unreachable node (595) is unavailable, never 'absent'") {
    PveSim sim;
    auto api = sim.api();
    finish(*api, must(api->clone(kNode, kTemplate, clone_request(Vmid{103}, "ns3.example.eu"))));
    sim.admin("POST", std::string("/clusters/c1/nodes/") + kNode, {{"unreachable", true}});

    auto config = api->get_config(kNode, Vmid{103});
    REQUIRE_FALSE(config);
    INFO(config.error().message);
    CHECK(config.error().kind == ErrorKind::unavailable);
    CHECK(mentions(config.error(), "595"));
    CHECK(mentions(config.error(), "could not reach the node"));

    // The listing still names the VM (status unknown) and the node is offline.
    auto vm = find_vm(*api, Vmid{103});
    REQUIRE(vm);
    CHECK(vm->status == "unknown");
    for (const auto& node : must(api->list_nodes())) {
        if (node.node == kNode) CHECK(node.status != "online");
    }

    // The retrying decorator tries a bounded number of times, then says so.
    SystemClock clock;
    RetryPolicy policy = quick_policy();
    policy.max_attempts = 3;
    RetryingProxmoxApi retrying(*api, clock, make_seeded_random(5), policy);
    auto retried = retrying.get_config(kNode, Vmid{103});
    REQUIRE_FALSE(retried);
    CHECK(retried.error().kind == ErrorKind::unavailable);
    CHECK(mentions(retried.error(), "gave up after 3 attempts"));
    CHECK(count(sim.request_log(), "GET", "/qemu/103/config", "").requests == 4);  // 1 direct + 3
}

TEST_CASE("pve-sim: with 20 % injected 500s on reads and lock timeouts on config writes, retries get through") {
    PveSim sim;
    auto raw = sim.api();
    SystemClock clock;
    RetryingProxmoxApi api(*raw, clock, make_seeded_random(42), quick_policy());
    sim.admin("PUT", "/faults",
              {{"seed", 11},
               {"rules",
                {{{"id", "flaky"}, {"method", "GET"}, {"action", "error"}, {"status", 500}, {"rate", 0.2}},
                 {{"id", "locked"},
                  {"method", "PUT"},
                  {"path", "/nodes/*/qemu/*/config"},
                  {"action", "lock_timeout"},
                  {"rate", 0.3}}}}});

    const Vmid vmid{104};
    finish(api, must(api.clone(kNode, kTemplate, clone_request(vmid, "ns4.example.eu"))));
    for (int i = 0; i < 8; ++i) {
        ConfigUpdate update;
        update.set = {{"description", fmt::format("managed-by: dnsctl estate=test\nrevision {}", i)}};
        must(api.update_config(kNode, vmid, update));
        auto config = must(api.get_config(kNode, vmid));
        CHECK(config.at("description").find(fmt::format("revision {}", i)) != std::string::npos);
        CHECK(find_vm(api, vmid));
    }

    // The faults really happened, and were retried.
    auto log = sim.request_log();
    auto reads = count(log, "GET", "/", "flaky");
    auto writes = count(log, "PUT", "/qemu/104/config", "locked");
    INFO("reads " << reads.requests << " (" << reads.faulted << " failed), config writes " << writes.requests << " ("
                  << writes.faulted << " failed)");
    CHECK(reads.faulted > 0);
    CHECK(writes.faulted > 0);
    CHECK(writes.requests == 8 + writes.faulted);
}

TEST_CASE("pve-sim: real lock contention on a config write is waited out") {
    PveSim sim;
    auto raw = sim.api();
    finish(*raw, must(raw->clone(kNode, kTemplate, clone_request(Vmid{105}, "ns5.example.eu"))));
    sim.admin("POST", "/clusters/c1/vms/105/flock", {{"ms", 700}});

    SystemClock clock;
    RetryingProxmoxApi api(*raw, clock, make_seeded_random(8), quick_policy());
    ConfigUpdate update;
    update.set = {{"cores", "3"}};
    must(api.update_config(kNode, Vmid{105}, update));
    CHECK(must(raw->get_config(kNode, Vmid{105})).at("cores") == "3");
    CHECK(count(sim.request_log(), "PUT", "/qemu/105/config", "").requests >= 2);
}

TEST_CASE("pve-sim: an unrecognised 500 on a clone is not retried") {
    PveSim sim;
    auto raw = sim.api();
    SystemClock clock;
    RetryingProxmoxApi api(*raw, clock, make_seeded_random(9), quick_policy());
    sim.admin("POST", "/faults",
              {{"id", "boom"},
               {"method", "POST"},
               {"path", "/nodes/*/qemu/*/clone"},
               {"action", "error"},
               {"status", 500},
               {"ordinals", {0}}});
    auto failed = api.clone(kNode, kTemplate, clone_request(Vmid{106}, "ns6.example.eu"));
    REQUIRE_FALSE(failed);
    CHECK(failed.error().kind == ErrorKind::internal);
    CHECK(count(sim.request_log(), "POST", "/clone", "").requests == 1);
}

TEST_CASE("pve-sim: a clone whose answer is lost is not repeated, and re-observing finds it") {
    PveSim sim;
    auto raw = sim.api();
    SystemClock clock;
    RetryingProxmoxApi api(*raw, clock, make_seeded_random(10), quick_policy());
    sim.admin("POST", "/faults",
              {{"id", "lost"},
               {"method", "POST"},
               {"path", "/nodes/*/qemu/*/clone"},
               {"action", "reset"},
               {"after_handler", true},
               {"ordinals", {0}}});
    auto lost = api.clone(kNode, kTemplate, clone_request(Vmid{107}, "ns7.example.eu"));
    REQUIRE_FALSE(lost);
    INFO(lost.error().message);
    CHECK(lost.error().kind == ErrorKind::unavailable);
    CHECK(lost.error().maybe_applied);
    CHECK(count(sim.request_log(), "POST", "/clone", "").requests == 1);

    // Re-observe: the clone did take effect.
    auto vm = find_vm(api, Vmid{107});
    REQUIRE(vm);
    CHECK(vm->node == kNode);
}
