#include <catch2/catch.hpp>

#include <stdlib.h>

#include <fstream>
#include <set>

#include <fmt/format.h>

#include "fakes.hpp"
#include "simulator.hpp"
#include "values.hpp"

using namespace pvesim;
using pvesim::testing::FakeClock;
using pvesim::testing::FakeHookRunner;
using pvesim::testing::FakeScheduler;
using nlohmann::json;

namespace {

const char* kConfig = R"(
seed: 5
hooks: {start: /bin/true, stop: /bin/true, delete: /bin/true}
clusters:
  - name: th2
    timing: {clone_ms: 1000, linked_clone_ms: 500, start_ms: 200, stop_ms: 100, destroy_ms: 100, resize_ms: 100,
             config_lock_wait_ms: 300, auth_failure_delay_ms: 3000, agent_ready_ms: 500}
    nodes: [{name: pve1}, {name: pve2}]
    storages: [{id: local-lvm}]
    users:
      - id: root@pam
        password: rootpw
      - id: dnsctl@pve
        password: userpw
        tokens: [{name: dnsctl, secret: s3cret}, {name: audit, secret: audit-secret}]
      - id: limited@pve
        tokens: [{name: t, secret: limited-secret}]
    acl:
      - {path: /, subject: dnsctl@pve, roles: [Administrator]}
      - {path: "/", subject: "dnsctl@pve!dnsctl", roles: [Administrator]}
      - {path: "/", subject: "dnsctl@pve!audit", roles: [PVEAuditor]}
      - {path: /vms/9000, subject: limited@pve, roles: [PVEVMUser]}
      - {path: /vms/9000, subject: "limited@pve!t", roles: [PVEVMUser]}
    vms:
      - vmid: 9000
        config:
          name: tmpl-debian12
          template: 1
          memory: 2048
          cores: 2
          scsi0: local-lvm:base-9000-disk-0,size=2G
          ide2: local-lvm:vm-9000-cloudinit,media=cdrom
          agent: 1
          net0: virtio=BC:24:11:90:00:01,bridge=vmbr0
      - vmid: 200
        node: pve2
        running: true
        config: {name: other, memory: 1024, agent: 1, net0: "virtio=BC:24:11:00:02:00,bridge=vmbr0", ipconfig0: "ip=198.51.100.20/24"}
)";

const std::string kToken = "PVEAPIToken=dnsctl@pve!dnsctl=s3cret";

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "pvesim-test-XXXXXX").string();
        REQUIRE(mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

struct Harness {
    FakeClock clock;
    FakeScheduler scheduler{clock};
    FakeHookRunner hooks;
    std::unique_ptr<Simulator> sim;

    explicit Harness(const std::string& yaml = kConfig, std::filesystem::path state_dir = {}) {
        std::string error;
        auto config = parse_config(yaml, ".", error);
        INFO(error);
        REQUIRE(config);
        SimulatorOptions options;
        options.state_dir = std::move(state_dir);
        options.fingerprints = {{"th2", "AA:BB"}};
        sim = std::make_unique<Simulator>(*config, clock, scheduler, hooks, options);
    }

    // Sends a request and lets fake time pass until it is answered.
    Action send(const std::string& method, const std::string& target, std::map<std::string, std::string> headers = {},
                std::string body = "", Millis limit = Millis(20000)) {
        std::optional<Action> out;
        HttpRequest request{method, target, std::move(headers), std::move(body)};
        if (!request.body.empty() && !request.headers.count("content-type")) {
            request.headers["content-type"] = "application/x-www-form-urlencoded";
        }
        sim->handle("th2", std::move(request), [&](Action a) { out = std::move(a); });
        for (Millis waited{0}; !out && waited < limit; waited += Millis(10)) scheduler.advance(Millis(10));
        REQUIRE(out);
        return *out;
    }

    HttpReply api(const std::string& method, const std::string& path, std::string body = "",
                  const std::string& auth = kToken) {
        auto action = send(method, "/api2/json" + path, {{"authorization", auth}}, std::move(body));
        REQUIRE(action.kind == Action::Kind::reply);
        return action.reply;
    }

    json data(const std::string& method, const std::string& path, std::string body = "") {
        auto reply = api(method, path, std::move(body));
        INFO(reply.status << " " << reply.reason << " " << reply.body);
        REQUIRE(reply.status == 200);
        return json::parse(reply.body)["data"];
    }

    json wait_task(const std::string& upid, const std::string& node = "pve1") {
        for (int i = 0; i < 200; ++i) {
            auto status = data("GET", "/nodes/" + node + "/tasks/" + upid + "/status");
            if (status["status"] == "stopped") return status;
            scheduler.advance(Millis(50));
        }
        FAIL("task never ended");
        return {};
    }

    HttpReply admin(const std::string& method, const std::string& path, const json& body = nullptr) {
        return sim->handle_admin(HttpRequest{method, path, {}, body.is_null() ? "" : body.dump()});
    }

    // A power action on a VM of pve1, its hook (if any) reporting success, to the task's end.
    json power(int vmid, const std::string& action, const std::string& body = "") {
        auto upid = data("POST", fmt::format("/nodes/pve1/qemu/{}/status/{}", vmid, action), body).get<std::string>();
        auto before = hooks.calls.size();
        scheduler.advance(Millis(500));
        for (auto i = before; i < hooks.calls.size(); ++i) hooks.finish(i);
        return wait_task(upid);
    }

    std::string clone(int newid, const std::string& extra = "") {
        auto upid = data("POST", "/nodes/pve1/qemu/9000/clone", fmt::format("newid={}&name=ns{}&full=1{}", newid, newid, extra));
        return upid.get<std::string>();
    }
};

}  // namespace

TEST_CASE("simulator: no credentials is a delayed 401 'No ticket' with an empty body") {
    Harness h;
    std::optional<Action> out;
    h.sim->handle("th2", HttpRequest{"GET", "/api2/json/version", {}, ""}, [&](Action a) { out = a; });
    h.scheduler.advance(Millis(2999));
    CHECK_FALSE(out);
    h.scheduler.advance(Millis(1));
    REQUIRE(out);
    CHECK(out->reply.status == 401);
    CHECK(out->reply.reason == "No ticket");
    CHECK(out->reply.body.empty());
}

TEST_CASE("simulator: a wrong token secret is 'Authentication failed!'") {
    Harness h;
    auto reply = h.api("GET", "/version", "", "PVEAPIToken=dnsctl@pve!dnsctl=wrong");
    CHECK(reply.status == 401);
    CHECK(reply.reason == "Authentication failed!");
}

TEST_CASE("simulator: password login, ticket cookie and CSRF") {
    Harness h;
    auto failed = h.send("POST", "/api2/json/access/ticket", {}, "username=dnsctl%40pve&password=nope");
    CHECK(failed.reply.status == 401);
    CHECK(failed.reply.reason == "authentication failure");
    CHECK(json::parse(failed.reply.body)["data"].is_null());

    auto login = h.send("POST", "/api2/json/access/ticket", {}, "username=dnsctl%40pve&password=userpw");
    REQUIRE(login.reply.status == 200);
    auto data = json::parse(login.reply.body)["data"];
    std::string ticket = data["ticket"];
    std::string csrf = data["CSRFPreventionToken"];
    CHECK(ticket.rfind("PVE:dnsctl@pve:", 0) == 0);
    CHECK(data["username"] == "dnsctl@pve");
    CHECK(data["cap"]["vms"]["VM.Allocate"] == 1);

    std::map<std::string, std::string> cookie = {{"cookie", "PVEAuthCookie=" + percent_encode(ticket)}};
    CHECK(h.send("GET", "/api2/json/version", cookie).reply.status == 200);
    auto no_csrf = h.send("PUT", "/api2/json/nodes/pve1/qemu/9000/config", cookie, "description=x");
    CHECK(no_csrf.reply.status == 401);
    CHECK(no_csrf.reply.reason == "Permission denied - invalid csrf token");
    cookie["csrfpreventiontoken"] = csrf;
    CHECK(h.send("PUT", "/api2/json/nodes/pve1/qemu/9000/config", cookie, "description=x").reply.status == 200);
    // renew with the ticket as password
    auto renew = h.send("POST", "/api2/json/access/ticket", {}, "username=dnsctl%40pve&password=" + percent_encode(ticket));
    CHECK(renew.reply.status == 200);
}

TEST_CASE("simulator: lists leave out what the token cannot see, actions are 403 naming the privilege") {
    Harness h;
    std::string limited = "PVEAPIToken=limited@pve!t=limited-secret";
    auto resources = json::parse(h.api("GET", "/cluster/resources?type=vm", "", limited).body)["data"];
    REQUIRE(resources.size() == 1);
    CHECK(resources[0]["vmid"] == 9000);
    auto clone = h.api("POST", "/nodes/pve1/qemu/9000/clone", "newid=101", limited);
    CHECK(clone.status == 403);
    CHECK(clone.reason == "Permission check failed (/vms/9000, VM.Clone)");
    CHECK(json::parse(clone.body)["message"] == "Permission check failed (/vms/9000, VM.Clone)\n");
    auto audit = "PVEAPIToken=dnsctl@pve!audit=audit-secret";
    auto put = h.api("PUT", "/nodes/pve1/qemu/9000/config", "net0=virtio,bridge=vmbr0", audit);
    CHECK(put.status == 403);
    auto perms = json::parse(h.api("GET", "/access/permissions?path=/vms/9000", "", limited).body)["data"];
    CHECK(perms["/vms/9000"].contains("VM.PowerMgmt"));
    CHECK_FALSE(perms["/vms/9000"].contains("VM.Clone"));
}

TEST_CASE("simulator: parameter errors are 400 with the errors object") {
    Harness h;
    auto unknown = h.api("PUT", "/nodes/pve1/qemu/9000/config", "foo=1");
    CHECK(unknown.status == 400);
    CHECK(unknown.reason == "Parameter verification failed.");
    auto body = json::parse(unknown.body);
    CHECK(body["data"].is_null());
    CHECK(body["errors"]["foo"] == "property is not defined in schema and the schema does not allow additional properties");
    auto boolean = h.api("PUT", "/nodes/pve1/qemu/9000/config", "onboot=true");
    CHECK(json::parse(boolean.body)["errors"]["onboot"] == "type check ('boolean') failed - got 'true'");
    // JSON bodies may use true/false
    auto json_body = h.send("PUT", "/api2/json/nodes/pve1/qemu/9000/config",
                            {{"authorization", kToken}, {"content-type", "application/json"}}, R"({"onboot": true})");
    CHECK(json_body.reply.status == 200);
    auto conflict = h.api("PUT", "/nodes/pve1/qemu/9000/config", "node=pve2&cores=2");
    CHECK(json::parse(conflict.body)["errors"]["node"] == "duplicate parameter (already defined in URI) with conflicting values!");
}

TEST_CASE("simulator: a missing VM is a 500 'does not exist', unknown paths 501") {
    Harness h;
    auto missing = h.api("GET", "/nodes/pve1/qemu/999/config");
    CHECK(missing.status == 500);
    CHECK(missing.reason == "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist");
    CHECK(json::parse(missing.body)["message"] == "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist\n");
    auto start = h.api("POST", "/nodes/pve1/qemu/999/status/start");
    CHECK(start.reason == "unable to find configuration file for VM 999 on node 'pve1'");
    CHECK(h.api("GET", "/nodes/pve1/bogus").status == 501);
    CHECK(h.api("GET", "/nodes/nope/qemu").reason ==
          "hostname lookup 'nope' failed - failed to get address info for: nope: Name or service not known");
}

TEST_CASE("simulator: response values are typed like PVE's") {
    Harness h;
    CHECK(h.data("GET", "/cluster/nextid") == "100");
    auto taken = h.api("GET", "/cluster/nextid?vmid=9000");
    CHECK(json::parse(taken.body)["errors"]["vmid"] == "VM 9000 already exists");
    auto config = h.data("GET", "/nodes/pve1/qemu/9000/config");
    CHECK(config["memory"] == "2048");
    CHECK(config["cores"] == 2);
    CHECK(config["template"] == 1);
    CHECK(config["agent"] == "1");
    CHECK(config["digest"].get<std::string>().size() == 40);
    auto resources = h.data("GET", "/cluster/resources?type=vm");
    CHECK(resources[0]["vmid"].is_number_integer());
}

TEST_CASE("simulator: the clone lifecycle through the API") {
    Harness h;
    auto upid = h.clone(101);
    CHECK(h.data("GET", "/nodes/pve1/qemu/101/config")["lock"] == "clone");
    auto active = h.data("GET", "/nodes/pve1/tasks?vmid=9000&source=active");
    REQUIRE(active.size() == 1);
    CHECK(active[0]["upid"] == upid);
    // a config write during the clone waits for the flock, then times out
    auto blocked = h.api("PUT", "/nodes/pve1/qemu/101/config", "cores=4");
    CHECK(blocked.status == 500);
    CHECK(blocked.reason == "can't lock file '/var/lock/qemu-server/lock-101.conf' - got timeout");
    auto status = h.wait_task(upid);
    CHECK(status["exitstatus"] == "OK");
    CHECK(status["user"] == "dnsctl@pve");
    CHECK(status["tokenid"] == "dnsctl");
    CHECK_FALSE(h.data("GET", "/nodes/pve1/qemu/101/config").contains("lock"));
    auto key = percent_encode("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOps ops@host");
    CHECK(h.api("PUT", "/nodes/pve1/qemu/101/config",
                "sshkeys=" + percent_encode(key) + "&ipconfig0=" + percent_encode("ip=198.51.100.10/24,gw=198.51.100.1") +
                    "&tags=Prod%2CDNS")
              .status == 200);
    auto config = h.data("GET", "/nodes/pve1/qemu/101/config");
    CHECK(config["sshkeys"] == key);
    CHECK(config["tags"] == "dns;prod");
    auto resize = h.data("PUT", "/nodes/pve1/qemu/101/resize", "disk=scsi0&size=%2B8G");
    CHECK(h.wait_task(resize)["exitstatus"] == "OK");
    auto start = h.data("POST", "/nodes/pve1/qemu/101/status/start");
    h.scheduler.advance(Millis(200));
    CHECK(h.hooks.calls.size() == 1);
    h.hooks.finish(0);
    CHECK(h.wait_task(start)["exitstatus"] == "OK");
    CHECK(h.data("GET", "/nodes/pve1/qemu/101/status/current")["status"] == "running");
    auto stop = h.data("POST", "/nodes/pve1/qemu/101/status/stop");
    h.scheduler.advance(Millis(100));
    REQUIRE(h.hooks.calls.size() == 2);
    h.hooks.finish(1);
    CHECK(h.wait_task(stop)["exitstatus"] == "OK");
    auto destroy = h.data("DELETE", "/nodes/pve1/qemu/101?purge=1&destroy-unreferenced-disks=1");
    h.scheduler.advance(Millis(100));
    REQUIRE(h.hooks.calls.size() == 3);
    h.hooks.finish(2);
    CHECK(h.wait_task(destroy)["exitstatus"] == "OK");
    CHECK(h.api("GET", "/nodes/pve1/qemu/101/config").status == 500);
}

TEST_CASE("simulator: the start hook gets the VM as JSON") {
    Harness h;
    h.wait_task(h.clone(101));
    auto key = percent_encode("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOps ops@host");
    h.api("PUT", "/nodes/pve1/qemu/101/config",
          "sshkeys=" + percent_encode(key) + "&ipconfig0=" + percent_encode("ip=198.51.100.10/24,gw=198.51.100.1") +
              "&nameserver=" + percent_encode("198.51.100.53 198.51.100.54") + "&cipassword=secretpw");
    auto start = h.data("POST", "/nodes/pve1/qemu/101/status/start");
    h.scheduler.advance(Millis(200));
    REQUIRE(h.hooks.calls.size() == 1);
    const auto& call = h.hooks.calls[0];
    CHECK(call.event == "start");
    CHECK(call.executable == "/bin/true");
    CHECK(call.env.at("PVESIM_VMID") == "101");
    auto payload = json::parse(call.input);
    CHECK(payload["cluster"] == "th2");
    CHECK(payload["vmid"] == 101);
    CHECK(payload["name"] == "ns101");
    CHECK(payload["sshkeys"] == json::array({"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOps ops@host"}));
    CHECK(payload["ipconfig"][0]["ip"] == "198.51.100.10/24");
    CHECK(payload["ipconfig"][0]["gw"] == "198.51.100.1");
    CHECK(payload["nets"][0]["bridge"] == "vmbr0");
    CHECK(payload["nets"][0]["model"] == "virtio");
    CHECK(payload["nameserver"] == json::array({"198.51.100.53", "198.51.100.54"}));
    CHECK_FALSE(payload["config"].contains("cipassword"));
    CHECK(call.input.find("secretpw") == std::string::npos);
    // the task stays running until the hook reports
    h.scheduler.advance(Millis(1000));
    CHECK(h.data("GET", "/nodes/pve1/tasks/" + start.get<std::string>() + "/status")["status"] == "running");
    h.hooks.finish(0, std::string("hook '/bin/true' exited with status 1"));
    CHECK(h.wait_task(start)["exitstatus"] == "start failed: hook '/bin/true' exited with status 1");
    CHECK(h.data("GET", "/nodes/pve1/qemu/101/status/current")["status"] == "stopped");
}

TEST_CASE("simulator: guest agent answers from the VM's folder while it runs") {
    TempDir dir;
    Harness h(kConfig, dir.path);
    auto agent = h.api("GET", "/nodes/pve2/qemu/200/agent/file-read?file=/etc/ssh/ssh_host_ed25519_key.pub");
    CHECK(agent.reason == "Agent error: Failed to open file '/etc/ssh/ssh_host_ed25519_key.pub': No such file or directory");
    std::filesystem::create_directories(dir.path / "guests/th2/200/etc/ssh");
    std::ofstream(dir.path / "guests/th2/200/etc/ssh/ssh_host_ed25519_key.pub") << "ssh-ed25519 AAAAhost root@ns\n";
    auto read = h.data("GET", "/nodes/pve2/qemu/200/agent/file-read?file=/etc/ssh/ssh_host_ed25519_key.pub");
    CHECK(read["content"] == "ssh-ed25519 AAAAhost root@ns\n");
    CHECK_FALSE(read.contains("truncated"));
    auto escape = h.api("GET", "/nodes/pve2/qemu/200/agent/file-read?file=/../../../th2.key");
    CHECK(escape.status == 500);
    auto stopped = h.api("GET", "/nodes/pve1/qemu/9000/agent/file-read?file=/etc/hostname");
    CHECK(stopped.reason == "VM 9000 is not running");
    auto ifaces = h.data("GET", "/nodes/pve2/qemu/200/agent/network-get-interfaces");
    CHECK(ifaces["result"][1]["hardware-address"] == "bc:24:11:00:02:00");
    CHECK(ifaces["result"][1]["ip-addresses"][0]["ip-address"] == "198.51.100.20");
}

TEST_CASE("simulator: the agent is not up right after start") {
    Harness h;
    auto stop = h.data("POST", "/nodes/pve2/qemu/200/status/stop");
    h.scheduler.advance(Millis(100));
    h.hooks.finish(0);
    h.wait_task(stop, "pve2");
    auto start = h.data("POST", "/nodes/pve2/qemu/200/status/start");
    h.scheduler.advance(Millis(200));
    h.hooks.finish(1);
    h.wait_task(start, "pve2");
    auto early = h.api("POST", "/nodes/pve2/qemu/200/agent/ping");
    if (early.status == 500) CHECK(early.reason == "QEMU guest agent is not running");
    h.scheduler.advance(Millis(500));
    CHECK(h.api("POST", "/nodes/pve2/qemu/200/agent/ping").status == 200);
}

TEST_CASE("simulator: injected latency is a timer, not a block") {
    Harness h;
    h.admin("PUT", "/faults", {{"rules", {{{"id", "slow"}, {"latency_ms", 50}}}}});
    std::optional<Action> out;
    h.sim->handle("th2", HttpRequest{"GET", "/api2/json/version", {{"authorization", kToken}}, ""}, [&](Action a) { out = a; });
    CHECK_FALSE(out);
    h.scheduler.advance(Millis(49));
    CHECK_FALSE(out);
    h.scheduler.advance(Millis(1));
    REQUIRE(out);
    CHECK(out->reply.status == 200);
}

TEST_CASE("simulator: network faults and injected errors") {
    Harness h;
    h.admin("PUT", "/faults",
            {{"rules",
              {{{"id", "reset"}, {"action", "reset"}, {"path", "/version"}, {"ordinals", {0}}},
               {{"id", "hang"}, {"action", "no_answer"}, {"path", "/version"}, {"ordinals", {1}}},
               {{"id", "boom"}, {"action", "error"}, {"status", 500}, {"message", "simulated failure"}, {"path", "/version"}, {"ordinals", {2}}},
               {{"id", "lock"}, {"action", "lock_timeout"}, {"method", "PUT"}, {"path", "/nodes/*/qemu/*/config"}, {"ordinals", {0}}}}}});
    CHECK(h.send("GET", "/api2/json/version", {{"authorization", kToken}}).kind == Action::Kind::reset);
    CHECK(h.send("GET", "/api2/json/version", {{"authorization", kToken}}).kind == Action::Kind::no_answer);
    auto boom = h.api("GET", "/version");
    CHECK(boom.status == 500);
    CHECK(boom.reason == "simulated failure");
    CHECK(h.api("GET", "/version").status == 200);
    auto lock = h.api("PUT", "/nodes/pve1/qemu/9000/config", "cores=4");
    CHECK(lock.reason == "can't lock file '/var/lock/qemu-server/lock-9000.conf' - got timeout");
    CHECK(h.data("GET", "/nodes/pve1/qemu/9000/config")["cores"] == 2);  // nothing applied
    CHECK(h.api("PUT", "/nodes/pve1/qemu/9000/config", "cores=4").status == 200);
    auto log = h.sim->log_since(0);
    REQUIRE(log.size() >= 4);
    CHECK(log[0].outcome == "reset");
    CHECK(log[0].faults == std::vector<std::string>{"reset"});
    for (const auto& entry : log) CHECK(to_json(entry).dump().find("s3cret") == std::string::npos);
}

TEST_CASE("simulator: a fault after the handler loses the answer, not the change") {
    Harness h;
    h.admin("PUT", "/faults", {{"rules", {{{"id", "lost"}, {"action", "reset"}, {"after_handler", true}, {"method", "PUT"}, {"ordinals", {0}}}}}});
    CHECK(h.send("PUT", "/api2/json/nodes/pve1/qemu/9000/config", {{"authorization", kToken}}, "cores=3").kind == Action::Kind::reset);
    CHECK(h.data("GET", "/nodes/pve1/qemu/9000/config")["cores"] == 3);
}

TEST_CASE("simulator: task faults give failing tasks and WARNINGS") {
    Harness h;
    h.admin("PUT", "/faults",
            {{"rules",
              {{{"id", "warn"}, {"action", "task_warnings"}, {"path", "/nodes/*/qemu/*/clone"}, {"ordinals", {0}}},
               {{"id", "fail"}, {"action", "task_fail"}, {"path", "/nodes/*/qemu/*/clone"}, {"ordinals", {1}},
                {"message", "clone failed: can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout"}}}}});
    CHECK(h.wait_task(h.clone(101))["exitstatus"] == "WARNINGS: 1");
    CHECK(h.wait_task(h.clone(102))["exitstatus"] ==
          "clone failed: can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout");
    CHECK(h.api("GET", "/nodes/pve1/qemu/102/config").status == 500);
}

TEST_CASE("simulator: an unreachable node answers 595, the cluster view keeps its VMs") {
    Harness h;
    CHECK(h.admin("POST", "/clusters/th2/nodes/pve2", {{"unreachable", true}}).status == 200);
    auto status = h.api("GET", "/nodes/pve2/qemu/200/status/current");
    CHECK(status.status == 595);
    CHECK(status.reason == "No route to host");
    CHECK(status.body.empty());
    CHECK(h.api("GET", "/nodes/pve1/qemu").status == 200);
    auto resources = h.data("GET", "/cluster/resources?type=vm");
    bool seen = false;
    for (const auto& vm : resources) {
        if (vm["vmid"] == 200) {
            seen = true;
            CHECK(vm["status"] == "unknown");
            CHECK(vm["node"] == "pve2");
        }
    }
    CHECK(seen);
    auto nodes = h.data("GET", "/nodes");
    CHECK(nodes[1]["status"] == "offline");
    h.admin("POST", "/clusters/th2/nodes/pve2", {{"unreachable", false}});
    CHECK(h.api("GET", "/nodes/pve2/qemu/200/status/current").status == 200);
}

TEST_CASE("simulator: a stale lock set through the admin API") {
    Harness h;
    h.admin("POST", "/clusters/th2/vms/9000/lock", {{"lock", "backup"}});
    auto put = h.api("PUT", "/nodes/pve1/qemu/9000/config", "cores=4");
    CHECK(put.reason == "VM is locked (backup)");
    h.admin("POST", "/clusters/th2/vms/9000/lock", {{"lock", ""}});
    CHECK(h.api("PUT", "/nodes/pve1/qemu/9000/config", "cores=4").status == 200);
}

TEST_CASE("simulator: seeded decisions repeat across runs") {
    auto run = [] {
        Harness h;
        h.admin("PUT", "/faults", {{"seed", 99}, {"rules", {{{"id", "flaky"}, {"action", "error"}, {"rate", 0.3}, {"path", "/version"}}}}});
        std::vector<int> statuses;
        for (int i = 0; i < 40; ++i) statuses.push_back(h.api("GET", "/version").status);
        return statuses;
    };
    auto first = run();
    CHECK(first == run());
    CHECK(std::count(first.begin(), first.end(), 500) > 0);
    CHECK(std::count(first.begin(), first.end(), 200) > 0);
}

TEST_CASE("simulator: state persists in the state directory") {
    TempDir dir;
    {
        Harness h(kConfig, dir.path);
        h.wait_task(h.clone(101));
        h.api("PUT", "/nodes/pve1/qemu/101/config", "tags=dns");
    }
    REQUIRE(std::filesystem::exists(dir.path / "state.json"));
    REQUIRE(std::filesystem::exists(dir.path / "requests.log"));
    Harness again(kConfig, dir.path);
    std::string error;
    bool loaded = again.sim->load_state(error);
    INFO(error);
    REQUIRE(loaded);
    CHECK(again.data("GET", "/nodes/pve1/qemu/101/config")["tags"] == "dns");
}

TEST_CASE("simulator: admin API") {
    Harness h;
    CHECK(h.admin("GET", "/healthz").status == 200);
    auto added = h.admin("POST", "/faults", {{"id", "x"}, {"action", "latency"}, {"latency_ms", 5}});
    CHECK(added.status == 200);
    CHECK(json::parse(h.admin("GET", "/faults").body)["rules"].size() == 1);
    CHECK(h.admin("DELETE", "/faults/x").status == 200);
    CHECK(h.admin("DELETE", "/faults/x").status == 404);
    CHECK(h.admin("PUT", "/faults", {{"rules", {{{"action", "nope"}}}}}).status == 400);
    auto timing = json::parse(h.admin("PUT", "/clusters/th2/timing", {{"clone_ms", 10}}).body);
    CHECK(timing["clone_ms"] == 10);
    auto state = json::parse(h.admin("GET", "/state").body);
    CHECK(state["clusters"]["th2"]["vms"].size() == 2);
    CHECK(h.admin("GET", "/nothing").status == 404);
}

TEST_CASE("simulator: bytes that are not UTF-8 do not break answers, logs or the state file") {
    TempDir dir;
    Harness h(kConfig, dir.path);
    CHECK(h.api("PUT", "/nodes/pve1/qemu/9000/config", "description=caf%E9").status == 200);
    auto config = h.data("GET", "/nodes/pve1/qemu/9000/config");
    CHECK(config["description"].get<std::string>().rfind("caf", 0) == 0);
    CHECK(h.api("GET", "/nodes/pve1/qemu/%FF/config").status == 400);
    std::ifstream state(dir.path / "state.json");
    CHECK(json::parse(state, nullptr, false).is_object());
    CHECK(h.admin("GET", "/state").status == 200);
}

TEST_CASE("simulator: status/current reports the running machine and QEMU, only while running") {
    Harness h;
    auto stopped = h.data("GET", "/nodes/pve1/qemu/9000/status/current");
    CHECK_FALSE(stopped.contains("running-machine"));
    CHECK_FALSE(stopped.contains("running-qemu"));
    auto running = h.data("GET", "/nodes/pve2/qemu/200/status/current");  // running from the configuration, no machine key
    CHECK(running["running-machine"] == "pc-i440fx-9.2+pve1");
    CHECK(running["running-qemu"] == "9.2.0");

    h.wait_task(h.clone(101));
    h.api("PUT", "/nodes/pve1/qemu/101/config", "machine=q35");
    CHECK(h.power(101, "start")["exitstatus"] == "OK");
    auto q35 = h.data("GET", "/nodes/pve1/qemu/101/status/current");
    CHECK(q35["running-machine"] == "pc-q35-9.2+pve1");
    CHECK(q35["running-qemu"] == "9.2.0");
    // the full listing carries them too; the plain one does not
    for (const auto& [query, full] : {std::pair{"?full=1", true}, std::pair{"", false}}) {
        for (const auto& vm : h.data("GET", std::string("/nodes/pve1/qemu") + query)) {
            if (vm["vmid"] != 101) continue;
            CHECK(vm.contains("running-machine") == full);
            if (full) CHECK(vm["running-machine"] == "pc-q35-9.2+pve1");
        }
    }
    CHECK(h.power(101, "stop")["exitstatus"] == "OK");
    CHECK_FALSE(h.data("GET", "/nodes/pve1/qemu/101/status/current").contains("running-machine"));
    // a start with the `machine` parameter runs that machine
    CHECK(h.power(101, "start", "machine=pc-i440fx-8.1")["exitstatus"] == "OK");
    CHECK(h.data("GET", "/nodes/pve1/qemu/101/status/current")["running-machine"] == "pc-i440fx-8.1+pve0");
}

TEST_CASE("simulator: the task list filters by status type") {
    Harness h;
    h.wait_task(h.clone(101));
    h.admin("PUT", "/faults", {{"rules", {{{"id", "warn"}, {"action", "task_warnings"}, {"path", "/nodes/*/qemu/*/status/start"}, {"ordinals", {0}}}}}});
    CHECK(h.power(101, "start")["exitstatus"] == "WARNINGS: 1");
    CHECK(h.power(101, "start")["exitstatus"] == "VM 101 already running");
    auto types = [&](const std::string& filter) {
        std::multiset<std::string> out;
        for (const auto& task : h.data("GET", "/nodes/pve1/tasks?statusfilter=" + filter)) out.insert(task["type"].get<std::string>());
        return out;
    };
    CHECK(types("ok") == std::multiset<std::string>{"qmclone"});
    CHECK(types("warning") == std::multiset<std::string>{"qmstart"});
    CHECK(types("ERROR") == std::multiset<std::string>{"qmstart"});
    CHECK(types("ok,warning,error").size() == 3);
    CHECK(types("unknown").empty());
    CHECK(h.api("GET", "/nodes/pve1/tasks?statusfilter=running").status == 400);
}

TEST_CASE("simulator: after a crash mid-clone the new VM keeps lock: clone and no task is active") {
    TempDir dir;
    std::string upid;
    {
        Harness h(kConfig, dir.path);
        upid = h.clone(101);
        CHECK(h.data("GET", "/nodes/pve1/tasks?vmid=9000&source=active").size() == 1);
        // the process dies here: nothing after the clone request is saved
    }
    Harness again(kConfig, dir.path);
    std::string error;
    REQUIRE(again.sim->load_state(error));
    auto config = again.data("GET", "/nodes/pve1/qemu/101/config");
    CHECK(config["lock"] == "clone");
    // no task works on it: neither by the new VMID nor by the source's (a
    // qmclone task's id is the source VMID)
    for (const char* vmid : {"101", "9000"}) {
        auto active = again.api("GET", std::string("/nodes/pve1/tasks?vmid=") + vmid + "&source=active");
        REQUIRE(active.status == 200);
        auto body = json::parse(active.body);
        CHECK(body["data"] == json::array());
        CHECK(body["total"] == 0);
    }
    auto status = again.data("GET", "/nodes/pve1/tasks/" + upid + "/status");
    CHECK(status["status"] == "stopped");
    CHECK(status["exitstatus"] == "unexpected status");
    CHECK(again.data("GET", "/nodes/pve1/tasks?source=all&vmid=9000")[0]["status"] == "unexpected status");
    // and it stays locked until someone unlocks it (PVE: qm unlock 101)
    again.scheduler.advance(Millis(5000));
    CHECK(again.api("PUT", "/nodes/pve1/qemu/101/config", "cores=2").reason == "VM is locked (clone)");
    CHECK(again.admin("POST", "/clusters/th2/vms/101/lock", {{"lock", ""}}).status == 200);
    CHECK(again.api("PUT", "/nodes/pve1/qemu/101/config", "cores=2").status == 200);
}
