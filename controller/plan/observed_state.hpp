// What the Proxmox clusters hold, as far as dnsctl's VMs are concerned. One
// observation per cluster; a cluster that could not be read completely says so
// with its reasons, and planning treats every VM it could not see there as
// unknown, never as absent.
#pragma once

#include <spdlog/logger.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/types.hpp"
#include "inventory/model.hpp"
#include "proxmox/proxmox_api.hpp"

namespace dnsctl {

struct ObservationProblem {
    ErrorKind kind = ErrorKind::unavailable;
    std::string message;  // "node pve-th2 is offline", "GET /cluster/resources: 503 …"
};

struct ObservedVm {
    VmSummary summary;  // from /cluster/resources: node, status, name, tags, lock, template
    // Read for relevant VMs only: the inventory's VMIDs, VMs tagged dnsctl,
    // the cluster's template, and stopped untagged VMs that may be a clone an
    // interrupted run never configured (may_be_unfinished_clone). Never for
    // containers (type lxc).
    std::optional<VmConfig> config;
    // Read when the VM is locked, or is ours and not running (work in flight).
    // With a `clone` lock, the template's clone tasks are added (a clone's
    // task lists under its source VMID), and when none runs the config is
    // read again after them: a lock still there has no task behind it.
    std::optional<std::vector<TaskSummary>> active_tasks;
    // Read for stopped VMs of this estate (about to be started).
    std::optional<std::vector<CloudinitEntry>> cloudinit;

    [[nodiscard]] std::string description() const;           // "" without config
    [[nodiscard]] bool owned_by(std::string_view estate) const;  // description holds this estate's marker
    [[nodiscard]] bool tagged_dnsctl() const;                // tag `dnsctl` in the listing
    [[nodiscard]] bool in_flight() const;                    // locked or with running tasks
};

struct ClusterObservation {
    std::string cluster;
    bool complete = true;
    std::vector<ObservationProblem> problems;  // why it is incomplete
    std::vector<NodeSummary> nodes;
    std::map<Vmid, ObservedVm> vms;  // every guest the API listed

    [[nodiscard]] const ObservedVm* find(Vmid vmid) const;
    void mark_incomplete(ErrorKind kind, std::string message);
};

struct ObservedState {
    std::string estate;
    std::map<std::string, ClusterObservation> clusters;  // by cluster name

    [[nodiscard]] bool complete() const;
    [[nodiscard]] const ClusterObservation* find(std::string_view cluster) const;
};

// Cluster name -> its API. A cluster without an entry is observed as incomplete.
using ClusterApis = std::map<std::string, ProxmoxApi*>;

// Reads every cluster of the inventory concurrently (one thread per cluster).
// Per cluster, in one round trip: GET /nodes, GET /cluster/resources?type=vm
// and the configs of the inventory's VMs and of the template on the
// inventory's node (single attempts: ProxmoxApi::without_retries). Then, only
// where the listing asks for it: configs of other relevant VMs (tagged
// dnsctl, or found on another node, or whose early read failed; up to 8 VMs
// at once), active tasks and cloud-init (locked or stopped VMs). One round
// trip per cluster for a converged estate, whatever its size (DESIGN §10). A
// failed read, or a listing that names one VMID twice, makes that cluster
// incomplete; nothing is inferred from it. Implementations of ProxmoxApi must
// allow concurrent calls.
ObservedState observe(const Inventory& inventory, const ClusterApis& apis, spdlog::logger& logger);

// One cluster (used by observe, and by an executor re-checking one cluster).
ClusterObservation observe_cluster(const Inventory& inventory, const Cluster& cluster, ProxmoxApi& api,
                                   spdlog::logger& logger);

// sha256 of everything observed about one VMID (listing, config, tasks,
// cloud-init), or of "absent": a saved plan is stale once this changes.
std::string observed_digest(const ClusterObservation& cluster, Vmid vmid);

}  // namespace dnsctl
