// A reference estate for planner tests: four clusters (one FakeProxmoxApi
// each, holding template 9000), a hidden primary and four public
// nameservers, plus a small step runner that carries a plan's steps out
// against the fakes (tests only: it checks that the steps are complete and
// that "apply, then plan again" shows nothing).
#pragma once

#include <spdlog/logger.h>

#include <map>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "inventory/model.hpp"
#include "plan/desired_vm.hpp"
#include "plan/observed_state.hpp"
#include "plan/plan.hpp"
#include "unit/fakes/fake_proxmox_api.hpp"

namespace dnsctl::test {

inline constexpr const char* kDnsctlKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDnsctlTestKeyOnly0000000000000000000000000 dnsctl@rdem-prod";
inline constexpr const char* kOperatorKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOperatorTestKeyOnly000000000000000000000 ops@rdem";

Inventory reference_inventory();
ResolverSettings reference_resolvers();

struct Estate {
    Inventory inventory = reference_inventory();
    std::map<std::string, std::unique_ptr<FakeProxmoxApi>> clusters;  // th2, pa4, pa5, pa3
    std::shared_ptr<spdlog::logger> logger;

    Estate();  // empty clusters: one online node and template 9000 each

    FakeProxmoxApi& cluster(const std::string& name) { return *clusters.at(name); }
    ClusterApis apis();
    std::vector<DesiredVm> desired() const;
    ObservedState observe();
    PlanOptions options() const;  // NS RRsets from the inventory, no flags
    Plan plan();                  // observe + make_plan with options()
    Plan plan(const PlanOptions& options);
};

// Carries out every step of every change against the fakes; fails on the
// first step that fails.
Result<void> run_steps(const Plan& plan, Estate& estate);

// Applies a plan to empty clusters so the estate is converged.
void converge(Estate& estate);

// The template every fake cluster holds.
FakeVm template_vm(const std::string& node);

}  // namespace dnsctl::test
