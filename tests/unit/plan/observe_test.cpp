#include <catch2/catch.hpp>

#include "unit/plan/estate_fixture.hpp"

using namespace dnsctl;
using namespace dnsctl::test;

namespace {

int reads(FakeProxmoxApi& api) { return api.total_calls(); }

}  // namespace

TEST_CASE("observe: a converged cluster costs two listings plus one config per VM and the template", "[plan][observe]") {
    Estate estate;
    converge(estate);
    for (auto& [name, api] : estate.clusters) api->reset_calls();
    auto observed = estate.observe();
    REQUIRE(observed.complete());
    // pa5 holds the primary and one nameserver.
    auto& pa5 = estate.cluster("pa5");
    CHECK(pa5.calls(ProxmoxMethod::list_nodes) == 1);
    CHECK(pa5.calls(ProxmoxMethod::list_vms) == 1);
    CHECK(pa5.calls(ProxmoxMethod::get_config) == 3);
    CHECK(pa5.calls(ProxmoxMethod::active_tasks) == 0);
    CHECK(pa5.calls(ProxmoxMethod::get_cloudinit) == 0);
    CHECK(reads(pa5) == 5);
    CHECK(reads(estate.cluster("th2")) == 4);
    for (const auto& cluster : estate.inventory.clusters) {
        INFO(cluster.name);
        CHECK(observed.clusters.at(cluster.name).complete);
        CHECK(observed.clusters.at(cluster.name).problems.empty());
    }
    const auto& vm = observed.clusters.at("th2").vms.at(Vmid{101});
    CHECK(vm.config);
    CHECK(vm.owned_by("rdem-prod"));
    CHECK_FALSE(vm.owned_by("staging"));
    CHECK(vm.tagged_dnsctl());
    CHECK_FALSE(vm.in_flight());
}

TEST_CASE("observe: every cluster of the inventory is observed, each with its own API", "[plan][observe]") {
    Estate estate;
    auto observed = estate.observe();
    CHECK(observed.estate == "rdem-prod");
    CHECK(observed.clusters.size() == 4);
    for (auto& [name, api] : estate.clusters) {
        INFO(name);
        CHECK(api->calls(ProxmoxMethod::list_vms) == 1);
        CHECK(observed.clusters.at(name).vms.contains(Vmid{9000}));
        CHECK(observed.clusters.at(name).vms.at(Vmid{9000}).config);
    }
}

TEST_CASE("observe: a cluster without an API connection is incomplete", "[plan][observe]") {
    Estate estate;
    auto apis = estate.apis();
    apis.erase("pa3");
    auto observed = dnsctl::observe(estate.inventory, apis, *estate.logger);
    CHECK_FALSE(observed.complete());
    CHECK_FALSE(observed.clusters.at("pa3").complete);
    CHECK(observed.clusters.at("th2").complete);
}

TEST_CASE("observe: an unreachable node makes the cluster incomplete, its VMs are not absent", "[plan][observe]") {
    Estate estate;
    converge(estate);
    estate.cluster("pa4").set_node_reachable("pve-pa4", false);
    auto observed = estate.observe();
    const auto& pa4 = observed.clusters.at("pa4");
    CHECK_FALSE(pa4.complete);
    REQUIRE_FALSE(pa4.problems.empty());
    CHECK_THAT(pa4.problems[0].message, Catch::Contains("pve-pa4 is unreachable"));
    // Still listed (status unknown), just not readable.
    REQUIRE(pa4.vms.contains(Vmid{102}));
    CHECK(pa4.vms.at(Vmid{102}).summary.status == "unknown");
    CHECK_FALSE(pa4.vms.at(Vmid{102}).config);
    CHECK(observed.clusters.at("th2").complete);
}

TEST_CASE("observe: a VM missing while another node is offline cannot be called absent", "[plan][observe]") {
    Estate estate;
    estate.cluster("th2").add_node("pve-th2b");
    estate.cluster("th2").set_node_reachable("pve-th2b", false);
    auto observed = estate.observe();
    const auto& th2 = observed.clusters.at("th2");
    CHECK_FALSE(th2.complete);
    REQUIRE(th2.problems.size() == 1);
    CHECK_THAT(th2.problems[0].message, Catch::Contains("pve-th2b is unreachable"));
    auto plan = make_plan(estate.desired(), observed, estate.options());
    CHECK(plan.find("vm[th2/101]") == nullptr);
}

TEST_CASE("observe: API failures are reported with their kind, never as an empty cluster", "[plan][observe]") {
    SECTION("API down") {
        Estate estate;
        estate.cluster("pa5").set_api_down(true);
        auto observed = estate.observe();
        const auto& pa5 = observed.clusters.at("pa5");
        CHECK_FALSE(pa5.complete);
        CHECK(pa5.problems.at(0).kind == ErrorKind::unavailable);
        CHECK_THAT(pa5.problems.at(0).message, Catch::Contains("GET /nodes") && Catch::Contains("Connection refused"));
        CHECK(pa5.vms.empty());
    }
    SECTION("listing denied") {
        Estate estate;
        estate.cluster("pa5").fail_always(ProxmoxMethod::list_vms,
                                          Error{ErrorKind::denied, "Permission check failed (/, Sys.Audit)", false});
        auto observed = estate.observe();
        const auto& pa5 = observed.clusters.at("pa5");
        CHECK_FALSE(pa5.complete);
        CHECK(pa5.problems.at(0).kind == ErrorKind::denied);
        CHECK_THAT(pa5.problems.at(0).message, Catch::Contains("Sys.Audit"));
    }
    SECTION("config reads fail") {
        Estate estate;
        converge(estate);
        // Every read: a single failure of an early read is made good by the
        // read that follows the listing.
        estate.cluster("pa5").fail_always(ProxmoxMethod::get_config,
                                          Error{ErrorKind::unavailable, "596 certificate verify failed", false});
        auto observed = estate.observe();
        const auto& pa5 = observed.clusters.at("pa5");
        CHECK_FALSE(pa5.complete);
        CHECK_THAT(pa5.problems.at(0).message, Catch::Contains("596"));
        CHECK(observed.clusters.at("pa4").complete);
    }
}

TEST_CASE("observe: locked and stopped VMs get their tasks and cloud-init read", "[plan][observe]") {
    Estate estate;
    converge(estate);
    auto& pa3 = estate.cluster("pa3");
    REQUIRE(pa3.stop("pve-pa3", Vmid{104}));
    estate.cluster("pa4").set_clone_in_flight(true);
    REQUIRE(estate.cluster("pa4").clone("pve-pa4", Vmid{9000}, CloneRequest{Vmid{120}, "x", "", true, {}, {}}));
    estate.cluster("pa4").edit_config(Vmid{102}, "lock", "backup");
    for (auto& [name, api] : estate.clusters) api->reset_calls();

    auto observed = estate.observe();
    const auto& stopped = observed.clusters.at("pa3").vms.at(Vmid{104});
    CHECK(stopped.active_tasks);
    REQUIRE(stopped.cloudinit);
    CHECK_FALSE(stopped.cloudinit->empty());
    CHECK(pa3.calls(ProxmoxMethod::get_cloudinit) == 1);

    const auto& locked = observed.clusters.at("pa4").vms.at(Vmid{102});
    CHECK(locked.in_flight());
    CHECK(locked.active_tasks);
    CHECK_FALSE(locked.cloudinit);  // running: nothing to start
    // Someone's clone placeholder, neither tagged nor in the inventory: not read at all.
    const auto& placeholder = observed.clusters.at("pa4").vms.at(Vmid{120});
    CHECK_FALSE(placeholder.config);
}

TEST_CASE("observed_digest: changes with what was observed, stable otherwise", "[plan][observe]") {
    Estate estate;
    converge(estate);
    auto first = estate.observe();
    auto second = estate.observe();
    const auto& th2a = first.clusters.at("th2");
    const auto& th2b = second.clusters.at("th2");
    CHECK(observed_digest(th2a, Vmid{101}) == observed_digest(th2b, Vmid{101}));
    CHECK(observed_digest(th2a, Vmid{101}) != observed_digest(th2a, Vmid{555}));
    CHECK(observed_digest(th2a, Vmid{555}).starts_with("sha256:"));
    estate.cluster("th2").edit_config(Vmid{101}, "cores", "3");
    auto third = estate.observe();
    CHECK(observed_digest(th2a, Vmid{101}) != observed_digest(third.clusters.at("th2"), Vmid{101}));
}

TEST_CASE("observe: a container is listed but never read through the qemu calls", "[plan][observe]") {
    Estate estate;
    converge(estate);
    FakeVm container;
    container.type = "lxc";
    container.node = "pve-th2";
    container.status = "stopped";
    container.config = {{"name", "ct.example.org"}, {"tags", "dnsctl"}};
    estate.cluster("th2").put_vm(Vmid{101}, container);  // at an inventory VMID
    estate.cluster("th2").put_vm(Vmid{150}, container);  // tagged, elsewhere
    for (auto& [name, api] : estate.clusters) api->reset_calls();
    auto observed = estate.observe();
    const auto& th2 = observed.clusters.at("th2");
    CHECK(th2.complete);
    CHECK(th2.problems.empty());
    CHECK(th2.vms.at(Vmid{101}).summary.type == "lxc");
    CHECK_FALSE(th2.vms.at(Vmid{101}).config);
    // The inventory's VMIDs and the template are read once, early, in the
    // listing's round trip (observe does not know yet what they are); once
    // the listing says 101 is a container, nothing more is asked about it.
    CHECK(estate.cluster("th2").calls(ProxmoxMethod::get_config) == 2);
    CHECK(estate.cluster("th2").calls(ProxmoxMethod::active_tasks) == 0);
    CHECK(estate.cluster("th2").calls(ProxmoxMethod::get_cloudinit) == 0);
}

TEST_CASE("observe: stopped untagged VMs named like an FQDN are read to find unfinished clones",
          "[plan][observe]") {
    Estate estate;
    converge(estate);
    auto& th2 = estate.cluster("th2");
    auto put = [&](std::uint32_t vmid, std::string name, std::string status) {
        FakeVm vm;
        vm.node = "pve-th2";
        vm.status = std::move(status);
        vm.config = {{"name", std::move(name)}, {"tags", "web"}};
        th2.put_vm(Vmid{vmid}, vm);
    };
    put(201, "web1.customer.example", "stopped");  // could be one: read
    put(202, "web2", "stopped");                   // dnsctl names every VM with a dot: not read
    put(203, "web3.customer.example", "running");  // an unfinished clone was never started: not read
    th2.reset_calls();
    auto observed = estate.observe();
    const auto& obs = observed.clusters.at("th2");
    CHECK(obs.complete);
    CHECK(obs.vms.at(Vmid{201}).config);
    CHECK_FALSE(obs.vms.at(Vmid{202}).config);
    CHECK_FALSE(obs.vms.at(Vmid{203}).config);
    CHECK(th2.calls(ProxmoxMethod::get_config) == 3);  // 101, the template, 201
    CHECK(th2.calls(ProxmoxMethod::active_tasks) == 0);  // 201 is not this estate's
}

TEST_CASE("observe: a possible unfinished clone that cannot be read is skipped, the cluster stays complete",
          "[plan][observe]") {
    Estate estate;
    converge(estate);
    auto& th2 = estate.cluster("th2");
    // Listed as stopped on a node /nodes calls offline: its config cannot be read.
    th2.add_node("pve-th2-b", "offline");
    FakeVm vm;
    vm.node = "pve-th2-b";
    vm.status = "stopped";
    vm.config = {{"name", "web1.customer.example"}};
    th2.put_vm(Vmid{201}, vm);
    auto observed = estate.observe();
    const auto& obs = observed.clusters.at("th2");
    CHECK(obs.complete);
    CHECK(obs.problems.empty());
    CHECK_FALSE(obs.vms.at(Vmid{201}).config);
}
