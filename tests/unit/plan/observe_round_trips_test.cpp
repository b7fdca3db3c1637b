// observe: what it reads in its first round trip, and how it treats a
// listing that contradicts itself.
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "proxmox/retrying_proxmox_api.hpp"
#include "unit/plan/estate_fixture.hpp"
#include "unit/proxmox/fake_clock.hpp"

using namespace dnsctl;
using namespace dnsctl::test;

namespace {

// Forwards every call to a FakeProxmoxApi; tests override what they watch.
class ForwardingApi : public ProxmoxApi {
public:
    explicit ForwardingApi(ProxmoxApi& inner) : inner_(inner) {}
    Result<std::vector<NodeSummary>> list_nodes() override { return inner_.list_nodes(); }
    Result<std::vector<VmSummary>> list_vms() override { return inner_.list_vms(); }
    Result<VmConfig> get_config(const std::string& node, Vmid vmid) override { return inner_.get_config(node, vmid); }
    Result<std::vector<CloudinitEntry>> get_cloudinit(const std::string& node, Vmid vmid) override {
        return inner_.get_cloudinit(node, vmid);
    }
    Result<std::vector<TaskSummary>> active_tasks(const std::string& node, Vmid vmid) override {
        return inner_.active_tasks(node, vmid);
    }
    Result<std::string> clone(const std::string& node, Vmid source, const CloneRequest& request) override {
        return inner_.clone(node, source, request);
    }
    Result<void> update_config(const std::string& node, Vmid vmid, const ConfigUpdate& update) override {
        return inner_.update_config(node, vmid, update);
    }
    Result<std::string> resize_disk(const std::string& node, Vmid vmid, const std::string& disk,
                                    const std::string& size) override {
        return inner_.resize_disk(node, vmid, disk, size);
    }
    Result<std::string> start(const std::string& node, Vmid vmid) override { return inner_.start(node, vmid); }
    Result<std::string> shutdown(const std::string& node, Vmid vmid, bool force_stop) override {
        return inner_.shutdown(node, vmid, force_stop);
    }
    Result<std::string> stop(const std::string& node, Vmid vmid) override { return inner_.stop(node, vmid); }
    Result<std::string> destroy(const std::string& node, Vmid vmid) override { return inner_.destroy(node, vmid); }
    Result<TaskStatus> task_status(const std::string& node, const std::string& upid) override {
        return inner_.task_status(node, upid);
    }
    Result<std::vector<std::string>> task_log(const std::string& node, const std::string& upid) override {
        return inner_.task_log(node, upid);
    }
    Result<std::string> agent_file_read(const std::string& node, Vmid vmid, const std::string& path) override {
        return inner_.agent_file_read(node, vmid, path);
    }

protected:
    ProxmoxApi& inner_;
};

// Holds the listing back until `expected` config reads have arrived: an
// observe that waits for the listing before reading configs never opens the
// gate (the test then fails after the guard time instead of hanging).
class ListingGate final : public ForwardingApi {
public:
    ListingGate(ProxmoxApi& inner, int expected) : ForwardingApi(inner), expected_(expected) {}
    Result<std::vector<VmSummary>> list_vms() override {
        std::unique_lock lock(mutex_);
        opened_ = changed_.wait_for(lock, std::chrono::seconds(10), [&] { return configs_ >= expected_; });
        lock.unlock();
        return inner_.list_vms();
    }
    Result<VmConfig> get_config(const std::string& node, Vmid vmid) override {
        {
            std::lock_guard lock(mutex_);
            ++configs_;
        }
        changed_.notify_all();
        return inner_.get_config(node, vmid);
    }
    [[nodiscard]] bool opened() const { return opened_; }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    int expected_;
    int configs_ = 0;
    bool opened_ = false;
};

// Lists one guest twice (as a confused cluster might).
class DuplicatingListing final : public ForwardingApi {
public:
    DuplicatingListing(ProxmoxApi& inner, Vmid vmid, std::string other_node)
        : ForwardingApi(inner), vmid_(vmid), other_node_(std::move(other_node)) {}
    Result<std::vector<VmSummary>> list_vms() override {
        auto vms = inner_.list_vms();
        if (!vms) return vms;
        for (const auto& vm : *vms) {
            if (vm.vmid == vmid_) {
                auto twin = vm;
                twin.node = other_node_;
                vms->push_back(twin);
                break;
            }
        }
        return vms;
    }

private:
    Vmid vmid_;
    std::string other_node_;
};

ObservedState observe_with(Estate& estate, const std::string& cluster, ProxmoxApi& api) {
    auto apis = estate.apis();
    apis[cluster] = &api;
    return dnsctl::observe(estate.inventory, apis, *estate.logger);
}

}  // namespace

TEST_CASE("observe: the inventory's VMs and the template are read in the same round trip as the listings",
          "[plan][observe]") {
    Estate estate;
    converge(estate);
    // pa5 holds the primary (110) and one nameserver (103), plus template 9000.
    estate.cluster("pa5").reset_calls();
    ListingGate gate(estate.cluster("pa5"), 3);
    auto observed = observe_with(estate, "pa5", gate);
    CHECK(gate.opened());
    const auto& pa5 = observed.clusters.at("pa5");
    CHECK(pa5.complete);
    CHECK(pa5.vms.at(Vmid{110}).config);
    CHECK(pa5.vms.at(Vmid{9000}).config);
    // Nothing read twice.
    CHECK(estate.cluster("pa5").calls(ProxmoxMethod::get_config) == 3);
}

TEST_CASE("observe: a converged estate is read with no request beyond the first round trip", "[plan][observe]") {
    Estate estate;
    converge(estate);
    for (auto& [name, api] : estate.clusters) api->reset_calls();
    auto observed = estate.observe();
    REQUIRE(observed.complete());
    auto& pa5 = estate.cluster("pa5");
    CHECK(pa5.calls(ProxmoxMethod::get_config) == 3);
    CHECK(pa5.total_calls() == 5);
}

TEST_CASE("observe: a VM found on another node than the inventory's is read there", "[plan][observe]") {
    Estate estate;
    converge(estate);
    auto& th2 = estate.cluster("th2");
    th2.add_node("pve-th2b");
    auto vm = th2.vm(Vmid{101}).value();
    vm.node = "pve-th2b";
    th2.put_vm(Vmid{101}, vm);
    th2.reset_calls();
    auto observed = estate.observe();
    const auto& cluster = observed.clusters.at("th2");
    CHECK(cluster.complete);
    REQUIRE(cluster.vms.at(Vmid{101}).config);
    CHECK(cluster.vms.at(Vmid{101}).summary.node == "pve-th2b");
    // The early read asked pve-th2 and missed; the second one asked pve-th2b.
    CHECK(th2.calls(ProxmoxMethod::get_config) == 3);
}

TEST_CASE("observe: an early read that fails costs no backoff and is made again, with retries, when it matters",
          "[plan][observe]") {
    Estate estate;
    converge(estate);
    auto& pa3 = estate.cluster("pa3");
    proxmox_test::FakeClock clock;
    RetryingProxmoxApi retrying(pa3, clock, make_seeded_random(1));
    pa3.fail_next(ProxmoxMethod::get_config, Error{ErrorKind::unavailable, "503 busy", false}, 2);
    pa3.reset_calls();
    auto observed = observe_with(estate, "pa3", retrying);
    const auto& cluster = observed.clusters.at("pa3");
    CHECK(cluster.complete);
    CHECK(cluster.vms.at(Vmid{104}).config);
    CHECK(cluster.vms.at(Vmid{9000}).config);
    // Two early reads failed once each (no backoff), then two reads through
    // the retrying decorator succeeded at once.
    CHECK(pa3.calls(ProxmoxMethod::get_config) == 4);
    CHECK(clock.sleeps.empty());
}

TEST_CASE("observe: with the inventory's node unreachable, no early read is retried", "[plan][observe]") {
    Estate estate;
    converge(estate);
    auto& pa4 = estate.cluster("pa4");
    pa4.set_node_reachable("pve-pa4", false);
    proxmox_test::FakeClock clock;
    RetryingProxmoxApi retrying(pa4, clock, make_seeded_random(1));
    pa4.reset_calls();
    auto observed = observe_with(estate, "pa4", retrying);
    const auto& cluster = observed.clusters.at("pa4");
    CHECK_FALSE(cluster.complete);
    CHECK_THAT(cluster.problems.at(0).message, Catch::Contains("pve-pa4 is unreachable"));
    CHECK(clock.sleeps.empty());
    CHECK(pa4.calls(ProxmoxMethod::get_config) == 2);  // 102 and the template, once each
}

TEST_CASE("observe: a listing that names one VMID twice makes the cluster incomplete, saying so",
          "[plan][observe]") {
    Estate estate;
    converge(estate);
    DuplicatingListing confused(estate.cluster("th2"), Vmid{101}, "pve-th2b");
    auto observed = observe_with(estate, "th2", confused);
    const auto& th2 = observed.clusters.at("th2");
    CHECK_FALSE(th2.complete);
    REQUIRE_FALSE(th2.problems.empty());
    CHECK_THAT(th2.problems[0].message,
               Catch::Contains("VMID 101 more than once") && Catch::Contains("pve-th2") && Catch::Contains("pve-th2b"));
    CHECK(observed.clusters.at("pa4").complete);
    // Nothing is planned for the cluster.
    auto plan = make_plan(estate.desired(), observed, estate.options());
    CHECK(plan.find("vm[th2/101]") == nullptr);
}
