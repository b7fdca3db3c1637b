// plan and apply end to end on the reference inventory (a copy in a temporary
// folder), with a FakeProxmoxApi per cluster and a fake clock: exit codes,
// confirmation, saved plans, the run lock, verification.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/null_sink.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stop_token>

#include "cli/vm_commands.hpp"
#include "state/run_lock.hpp"
#include "unit/apply/apply_fakes.hpp"
#include "unit/plan/estate_fixture.hpp"

using namespace dnsctl;
using namespace dnsctl::apply_test;

namespace fs = std::filesystem;

namespace {

const char* const kClusters[] = {"th2", "pa4", "pa5", "pa3"};

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
}

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
}

void replace_once(std::string& text, const std::string& from, const std::string& to) {
    auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
}

// The reference inventory in a folder of its own, with an SSH key pair's
// public half and a FakeProxmoxApi per cluster (one node, template 9000).
struct Setup {
    fs::path dir;
    fs::path inventory;
    std::map<std::string, std::unique_ptr<FakeProxmoxApi>> fakes;
    std::map<std::string, std::unique_ptr<WatchedProxmoxApi>> watched;
    std::shared_ptr<SharedFakeClock> clock = std::make_shared<SharedFakeClock>();
    std::ostringstream out;
    std::ostringstream err;
    std::istringstream in;
    std::shared_ptr<spdlog::logger> logger =
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
    CommandContext context{logger, out, err};
    VmWorld world;

    explicit Setup(const std::string& name) {
        static int counter = 0;
        dir = fs::temp_directory_path() / fmt::format("dnsctl-vm-commands-{}-{}-{}", ::getpid(), name, ++counter);
        fs::remove_all(dir);
        fs::create_directories(dir / "zones");
        const fs::path source = DNSCTL_SOURCE_DIR "/inventory";
        for (const auto& entry : fs::directory_iterator(source / "zones")) {
            fs::copy_file(entry.path(), dir / "zones" / entry.path().filename());
        }
        auto text = read_text(source / "inventory.yaml");
        replace_once(text, "key_file: /etc/dnsctl/id_ed25519", "key_file: keys/id_ed25519");
        inventory = dir / "inventory.yaml";
        write_text(inventory, text);
        fs::create_directories(dir / "keys");
        write_text(dir / "keys/id_ed25519.pub", std::string(test::kDnsctlKey) + "\n");

        for (const auto* cluster : kClusters) {
            auto node = fmt::format("pve-{}-1", cluster);
            auto fake = std::make_unique<FakeProxmoxApi>();
            fake->add_node(node);
            fake->put_vm(Vmid{9000}, test::template_vm(node));
            watched.emplace(cluster, std::make_unique<WatchedProxmoxApi>(*fake));
            fakes.emplace(cluster, std::move(fake));
        }
        world.clock = clock;
        world.in = &in;
        world.connect = [this](const Inventory&, const ConnectOptions&) -> Result<std::unique_ptr<ClusterConnections>> {
            ClusterApis apis;
            for (auto& [name, api] : watched) apis[name] = api.get();
            return std::make_unique<ClusterConnections>(apis);
        };
    }
    ~Setup() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }

    void edit_inventory(const std::string& from, const std::string& to) {
        auto text = read_text(inventory);
        replace_once(text, from, to);
        write_text(inventory, text);
    }
    void clear_output() {
        out.str("");
        err.str("");
    }
    int plan(PlanRequest request = {}) {
        request.inventory = inventory;
        clear_output();
        return run_plan(request, context, world);
    }
    int plan_detailed() {
        PlanRequest request;
        request.detailed_exitcode = true;
        return plan(request);
    }
    int apply(ApplyRequest request = {}) {
        request.inventory = inventory;
        clear_output();
        return run_apply(request, context, world);
    }
    int apply_yes() {
        ApplyRequest request;
        request.yes = true;
        return apply(request);
    }
    int clones() const {
        int total = 0;
        for (const auto& [name, fake] : fakes) total += fake->calls(ProxmoxMethod::clone);
        return total;
    }
    FakeProxmoxApi& fake(const std::string& cluster) { return *fakes.at(cluster); }
};

}  // namespace

TEST_CASE("plan: empty clusters show the five VMs to add", "[cli][apply]") {
    Setup s("plan-empty");
    CHECK(s.plan() == kExitOk);
    CHECK_THAT(s.out.str(), Catch::Contains("Plan: 5 to add, 0 to change, 0 to destroy."));
    CHECK_THAT(s.out.str(), Catch::Contains("+ vm \"vm[th2/5301]\""));
    CHECK_THAT(s.out.str(), Catch::Contains("valid: policy holds"));
    CHECK(s.plan_detailed() == kExitChangesPending);
    CHECK(s.clones() == 0);

    PlanRequest json;
    json.json = true;
    CHECK(s.plan(json) == kExitOk);
    auto document = nlohmann::json::parse(s.out.str());
    CHECK(document.at("resource_changes").size() == 5);
    CHECK(document.at("applyable") == true);
}

TEST_CASE("apply --yes creates the estate, verifies it, and plan then shows no changes", "[cli][apply]") {
    Setup s("apply-yes");
    CHECK(s.apply_yes() == kExitOk);
    CHECK_THAT(s.out.str(), Catch::Contains("Plan: 5 to add"));
    CHECK_THAT(s.out.str(), Catch::Contains("vm[th2/5301] 1/9 clone template 9000 on pve-th2-1 as VM 5301"));
    CHECK_THAT(s.out.str(), Catch::Contains("Apply: 5 ok, 0 failed, 0 skipped"));
    CHECK_THAT(s.out.str(), Catch::Contains("Verified: observed again, the VMs match the inventory."));
    CHECK(s.clones() == 5);
    CHECK(s.plan_detailed() == kExitOk);
    CHECK_THAT(s.out.str(), Catch::Contains("No changes. Your estate matches the inventory."));
    // Nothing to do: apply converges at once.
    CHECK(s.apply_yes() == kExitOk);
    CHECK(s.clones() == 5);
}

TEST_CASE("apply: raising cores plans one in-place update and applies it", "[cli][apply]") {
    Setup s("cores");
    REQUIRE(s.apply_yes() == kExitOk);
    s.edit_inventory("    vmid: 5302\n", "    vmid: 5302\n    resources: {cores: 4}\n");
    CHECK(s.plan_detailed() == kExitChangesPending);
    CHECK_THAT(s.out.str(), Catch::Contains("Plan: 0 to add, 1 to change, 0 to destroy."));
    CHECK_THAT(s.out.str(), Catch::Contains("~ cores = 2 -> 4"));
    CHECK(s.apply_yes() == kExitOk);
    CHECK(s.fake("pa4").vm(Vmid{5302})->config.at("cores") == "4");
    CHECK(s.plan_detailed() == kExitOk);
}

TEST_CASE("apply: without --yes, confirmation is required", "[cli][apply]") {
    Setup s("confirm");
    SECTION("no terminal: refused") {
        s.world.interactive = false;
        CHECK(s.apply() == kExitError);
        CHECK_THAT(s.err.str(), Catch::Contains("standard input is not a terminal"));
        CHECK(s.clones() == 0);
    }
    SECTION("anything but yes cancels") {
        s.world.interactive = true;
        s.in.str("y\n");
        CHECK(s.apply() == kExitError);
        CHECK_THAT(s.out.str(), Catch::Contains("Only 'yes' will be accepted"));
        CHECK_THAT(s.out.str(), Catch::Contains("Apply cancelled."));
        CHECK(s.clones() == 0);
    }
    SECTION("yes applies") {
        s.world.interactive = true;
        s.in.str("yes\n");
        CHECK(s.apply() == kExitOk);
        CHECK(s.clones() == 5);
    }
}

TEST_CASE("plan and apply: an unreachable node makes the cluster incomplete and nothing is re-created",
          "[cli][apply]") {
    Setup s("unreachable");
    REQUIRE(s.apply_yes() == kExitOk);
    s.fake("th2").set_node_reachable("pve-th2-1", false);
    CHECK(s.plan() == kExitError);
    CHECK_THAT(s.out.str(), Catch::Contains("Observation incomplete"));
    CHECK_THAT(s.out.str(), Catch::Contains("cluster th2"));
    CHECK_THAT(s.out.str(), Catch::Contains("No changes planned for what could be observed."));
    CHECK(s.out.str().find("will be created") == std::string::npos);
    CHECK(s.plan_detailed() == kExitError);
    CHECK(s.apply_yes() == kExitError);
    CHECK_THAT(s.err.str(), Catch::Contains("not every cluster could be observed"));
    CHECK(s.clones() == 5);
}

TEST_CASE("apply --dry-run only plans", "[cli][apply]") {
    Setup s("dry-run");
    ApplyRequest request;
    request.dry_run = true;
    CHECK(s.apply(request) == kExitOk);
    CHECK_THAT(s.out.str(), Catch::Contains("Plan: 5 to add"));
    CHECK(s.clones() == 0);
    for (const auto& [name, fake] : s.fakes) {
        CHECK(fake->calls(ProxmoxMethod::update_config) == 0);
        CHECK(fake->calls(ProxmoxMethod::start) == 0);
    }
}

TEST_CASE("plan --out and apply --plan: applied when current, refused when stale", "[cli][apply]") {
    Setup s("saved");
    const auto saved = s.dir / "plan.json";
    PlanRequest request;
    request.out = saved;
    REQUIRE(s.plan(request) == kExitOk);
    auto document = nlohmann::json::parse(read_text(saved));
    CHECK(document.at("observed_digests").size() == 5);
    CHECK(document.at("plan_digest").get<std::string>().starts_with("sha256:"));

    ApplyRequest apply;
    apply.plan_file = saved;
    SECTION("current: applied without asking") {
        s.world.interactive = false;
        CHECK(s.apply(apply) == kExitOk);
        CHECK(s.clones() == 5);
    }
    SECTION("the world changed: refused") {
        FakeVm other = test::template_vm("pve-pa3-1");
        other.is_template = false;
        other.config.erase("template");
        other.config["name"] = "someone-else";
        s.fake("pa3").put_vm(Vmid{5304}, other);
        CHECK(s.apply(apply) == kExitError);
        CHECK_THAT(s.err.str(), Catch::Contains("the saved plan is stale"));
        CHECK_THAT(s.err.str(), Catch::Contains("vm[pa3/5304]"));
        CHECK(s.clones() == 0);
    }
    SECTION("the inventory changed: refused") {
        s.edit_inventory("    vmid: 5302\n", "    vmid: 5302\n    resources: {cores: 4}\n");
        CHECK(s.apply(apply) == kExitError);
        CHECK_THAT(s.err.str(), Catch::Contains("planning again now gives other changes"));
        CHECK(s.clones() == 0);
    }
    SECTION("flags do not go with a saved plan") {
        apply.flags.allow_destroy = true;
        CHECK(s.apply(apply) == kExitError);
        CHECK_THAT(s.err.str(), Catch::Contains("come from the saved plan"));
    }
}

TEST_CASE("apply: a failing cluster stops part-way with exit 1, and the next apply converges", "[cli][apply]") {
    Setup s("part-way");
    s.fake("pa4").fail_always(ProxmoxMethod::resize_disk, Error{ErrorKind::internal, "storage is full", false});
    CHECK(s.apply_yes() == kExitError);
    CHECK_THAT(s.out.str(), Catch::Contains("Apply: 4 ok, 1 failed"));
    CHECK_THAT(s.out.str(), Catch::Contains("storage is full"));
    CHECK_THAT(s.out.str(), Catch::Contains("run apply again"));
    s.fake("pa4").clear_failures();
    CHECK(s.apply_yes() == kExitOk);
    CHECK(s.clones() == 5);
    CHECK(s.plan_detailed() == kExitOk);
}

TEST_CASE("apply: every step done but the clusters do not hold it is exit 3", "[cli][apply]") {
    Setup s("unverified");
    s.watched.at("pa3")->ignore_key("onboot");
    CHECK(s.apply_yes() == kExitUnverified);
    CHECK_THAT(s.out.str(), Catch::Contains("Apply: 5 ok, 0 failed"));
    CHECK_THAT(s.out.str(), Catch::Contains("Verification failed"));
    CHECK_THAT(s.out.str(), Catch::Contains("vm[pa3/5304]"));
}

TEST_CASE("apply: the run lock is taken, a second apply fails at once", "[cli][apply]") {
    Setup s("lock");
    FlockRunLock lock(s.dir / ".dnsctl");
    auto held = lock.acquire("apply");
    REQUIRE(held);
    CHECK(s.apply_yes() == kExitError);
    CHECK_THAT(s.err.str(), Catch::Contains("dnsctl apply:"));
    CHECK(s.clones() == 0);
    held->reset();
    CHECK(s.apply_yes() == kExitOk);
}

TEST_CASE("plan and apply refuse an invalid inventory or a missing SSH public key", "[cli][apply]") {
    Setup s("invalid");
    SECTION("policy violated") {
        s.edit_inventory("asn: 1299", "asn: 199275");
        CHECK(s.plan() == kExitError);
        CHECK_THAT(s.err.str(), Catch::Contains("refusing to act on an inventory"));
        CHECK(s.apply_yes() == kExitError);
    }
    SECTION("a search domain without resolvers") {
        s.edit_inventory("    bridge: vmbr0\n    vlan: 53\n", "    bridge: vmbr0\n    vlan: 53\n    searchdomain: example.net\n");
        CHECK(s.plan() == kExitError);
        CHECK_THAT(s.err.str(), Catch::Contains("searchdomain is given without resolvers"));
    }
    SECTION("no public key") {
        fs::remove(s.dir / "keys/id_ed25519.pub");
        CHECK(s.plan() == kExitError);
        CHECK_THAT(s.err.str(), Catch::Contains("ssh-keygen -t ed25519"));
    }
    CHECK(s.clones() == 0);
    CHECK(s.out.str().find("Plan:") == std::string::npos);
}

TEST_CASE("plan: per-cluster resolvers reach the VMs' cloud-init settings", "[cli][apply]") {
    Setup s("resolvers");
    s.edit_inventory("    bridge: vmbr0\n    vlan: 53\n",
                     "    bridge: vmbr0\n    vlan: 53\n    resolvers: [2001:db8:53::53, 198.51.100.2]\n"
                     "    searchdomain: example.net\n");
    PlanRequest json;
    json.json = true;
    REQUIRE(s.plan(json) == kExitOk);
    auto document = nlohmann::json::parse(s.out.str());
    for (const auto& change : document.at("resource_changes")) {
        const auto& after = change.at("change").at("after");
        if (change.at("cluster") == "pa4") {
            CHECK(after.at("nameserver") == "2001:db8:53::53 198.51.100.2");
            CHECK(after.at("searchdomain") == "example.net");
        } else {
            CHECK_FALSE(after.contains("nameserver"));
        }
    }
}

TEST_CASE("apply: a clone of an earlier run still in flight is waited for, then the VM is finished", "[cli][apply]") {
    Setup s("in-flight");
    auto& pa3 = s.fake("pa3");
    pa3.set_clone_in_flight(true);
    CloneRequest request;
    request.newid = Vmid{5304};
    request.name = "ns-ielo.rdem-systems.net";
    request.description = "managed-by: dnsctl estate=rdem-systems";
    REQUIRE(pa3.clone("pve-pa3-1", Vmid{9000}, request));  // an earlier run's clone, still running
    pa3.set_clone_in_flight(false);
    int sleeps = 0;
    s.clock->on_sleep = [&] {
        if (++sleeps == 3) pa3.finish_tasks();
    };
    CHECK(s.apply_yes() == kExitOk);
    CHECK_THAT(s.out.str(), Catch::Contains("# vm[pa3/5304] has work in flight"));
    CHECK_THAT(s.out.str(), Catch::Contains("Work in flight has ended; planning again:"));
    CHECK_THAT(s.out.str(), Catch::Contains("# vm[pa3/5304] will be updated in-place and started"));
    CHECK_THAT(s.out.str(), Catch::Contains("Verified"));
    CHECK(pa3.calls(ProxmoxMethod::clone) == 1);
    CHECK(pa3.vmids() == std::set<Vmid>{Vmid{5304}, Vmid{9000}});
}

TEST_CASE("apply: a stop request mid-apply prints what was done and what was not, exits 1, releases the run lock",
          "[cli][apply]") {
    Setup s("stopped");
    // pa3's clone keeps running; the stop comes once its clone was sent.
    s.watched.at("pa3")->hold_clone_tasks = true;
    s.clock->on_sleep = [&] {
        if (s.fake("pa3").calls(ProxmoxMethod::clone) > 0) s.world.stop.request_stop();
    };
    CHECK(s.apply_yes() == kExitError);
    CHECK_THAT(s.out.str(), Catch::Contains("Apply summary:"));
    CHECK_THAT(s.out.str(), Catch::Contains("interrupted  vm[pa3/5304]"));
    CHECK_THAT(s.out.str(), Catch::Contains("may still be running"));
    CHECK_THAT(s.out.str(), Catch::Contains("Stopped on request"));
    CHECK_THAT(s.err.str(), Catch::Contains("dnsctl apply: stopped by a stop request: part of the plan was not "
                                            "applied"));
    CHECK(s.out.str().find("Verified") == std::string::npos);
    // The lock is free again.
    {
        FlockRunLock lock(s.dir / ".dnsctl");
        CHECK(lock.acquire("apply"));
    }
    // The next apply finishes without a duplicate.
    s.clock->on_sleep = nullptr;
    s.watched.at("pa3")->hold_clone_tasks = false;
    s.world.stop = std::stop_source();
    CHECK(s.apply_yes() == kExitOk);
    CHECK(s.fake("pa3").calls(ProxmoxMethod::clone) == 1);
    CHECK(s.fake("pa3").vmids() == std::set<Vmid>{Vmid{5304}, Vmid{9000}});
}

TEST_CASE("apply: a stop request before anything is applied applies nothing", "[cli][apply]") {
    Setup s("stopped-early");
    s.world.stop.request_stop();
    CHECK(s.apply_yes() == kExitError);
    CHECK_THAT(s.err.str(), Catch::Contains("stopped by a stop request before anything was applied"));
    CHECK(s.clones() == 0);
}

TEST_CASE("apply: the retry budget bounds how long a lost node's task is polled", "[cli][apply]") {
    Setup s("node-lost");
    s.world.retry.max_elapsed = std::chrono::seconds(20);
    s.watched.at("pa4")->hold_clone_tasks = true;
    s.clock->on_sleep = [&] {
        if (s.fake("pa4").calls(ProxmoxMethod::clone) > 0) s.fake("pa4").set_node_reachable("pve-pa4-1", false);
    };
    const auto began = s.clock->now();
    CHECK(s.apply_yes() == kExitError);
    CHECK(s.clock->now() - began < std::chrono::minutes(1));
    CHECK_THAT(s.out.str(), Catch::Contains("node pve-pa4-1 did not answer for 20s"));
    CHECK_THAT(s.out.str(), Catch::Contains("Apply: 4 ok, 1 failed"));
}
