// The plan of the VM layer: a plain value (no callbacks) that says, per VM,
// what will change, why, and the exact Proxmox requests an executor sends, in
// order. make_plan is pure and deterministic: the same desired and observed
// state always give the same plan, so a plan can be saved, rendered, diffed,
// golden-tested and re-checked before it is applied.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/types.hpp"
#include "plan/desired_vm.hpp"
#include "plan/observed_state.hpp"
#include "plan/vm_attributes.hpp"
#include "proxmox/proxmox_api.hpp"

namespace dnsctl {

struct PlanOptions {
    bool allow_replace = false;          // --allow-replace: replace whatever cannot be updated in place
    std::set<std::string> replace;       // --replace ADDR (repeatable): rebuild these VMs
    bool allow_destroy = false;          // --allow-destroy: destroy owned VMs that left the inventory
    // Names in some zone's apex NS RRset -> those zones (nameserver_zones()).
    // A VM with such a name is never destroyed.
    std::map<std::string, std::set<std::string>> nameserver_zones;
};

// JSON names: "no-op", "create", "update", "start", "delete", "wait".
// A replacement is {delete, create}; an update of a stopped VM is {update, start}.
enum class Action { no_op, create, update, start, destroy, wait };
std::string_view to_string(Action action);

// ---- steps: the Proxmox requests of one change, in order. Steps that start a
// PVE task are followed by a WaitTask naming them; the executor polls that
// task's UPID (on the node in the UPID) until it stops and requires success
// (OK or "WARNINGS: n").

struct CloneStep {            // POST /nodes/{node}/qemu/{source}/clone (full clone)
    std::string node;         // the template's node
    Vmid source;
    CloneRequest request;     // newid, name, description (marker only), full, storage
};
struct WaitTaskStep {         // wait for the task started by steps[step]
    std::size_t step = 0;
};
struct ConfirmUnlockedStep {  // GET config until it has no `lock` (deadline per operation)
    std::string node;
    Vmid vmid;
};
struct ConfigureStep {        // PUT /nodes/{node}/qemu/{vmid}/config (synchronous)
    std::string node;
    Vmid vmid;
    ConfigUpdate update;      // digest set when the plan read the config it changes
};
struct VerifyCloudinitStep {  // GET …/cloudinit; check_cloudinit(expected, entries) must be empty
    std::string node;
    Vmid vmid;
    std::map<std::string, std::string> expected;  // the cloud-init keys as written
};
struct ResizeDiskStep {       // PUT …/resize (a task since PVE 8.0); only ever grows
    std::string node;
    Vmid vmid;
    std::string disk;         // scsi0
    std::string size;         // absolute, e.g. "20G"
};
struct StartStep {            // POST …/status/start
    std::string node;
    Vmid vmid;
};
struct ShutdownStep {         // POST …/status/shutdown (forceStop after the timeout)
    std::string node;
    Vmid vmid;
    bool force_stop = true;
};
struct StopStep {             // POST …/status/stop (hard)
    std::string node;
    Vmid vmid;
};
struct DestroyStep {          // DELETE …/qemu/{vmid}?purge=1&destroy-unreferenced-disks=1
    std::string node;
    Vmid vmid;
};
struct ConfirmAbsentStep {    // the VMID is gone from /cluster/resources ("does not exist" = done)
    Vmid vmid;
};
struct WaitIdleStep {         // work from an earlier run is in flight: wait until the VM has no
    std::string node;         // lock and none of these tasks runs, then observe and plan again
    Vmid vmid;
    std::optional<std::string> lock;
    std::vector<std::string> tasks;  // UPIDs
    // The template a `lock: clone` would come from: a clone's task lists under
    // its source VMID, so with none running there either the lock is stale.
    std::optional<Vmid> clone_source;
};

using Step = std::variant<CloneStep, WaitTaskStep, ConfirmUnlockedStep, ConfigureStep, VerifyCloudinitStep,
                          ResizeDiskStep, StartStep, ShutdownStep, StopStep, DestroyStep, ConfirmAbsentStep,
                          WaitIdleStep>;

// "clone", "wait_task", "confirm_unlocked", "configure", "verify_cloudinit",
// "resize_disk", "start", "shutdown", "stop", "destroy", "confirm_absent", "wait_idle"
std::string_view step_kind(const Step& step);

struct ResourceChange {
    std::string address;  // vm[<cluster>/<vmid>]
    std::string cluster;
    Vmid vmid;
    std::string node;     // where the VM is (or will be)
    std::optional<VmRole> role;  // from the inventory, or the role tag of an owned VM
    std::string name;     // FQDN

    std::vector<Action> actions;  // {no_op}, {create}, {update}, {start}, {update, start},
                                  // {destroy, create}, {destroy}, {wait}
    std::optional<VmAttributes> before;  // nullopt = does not exist (create)
    std::optional<VmAttributes> after;   // nullopt = will not exist (delete)
    std::set<std::string> sensitive;     // attribute names redacted in every rendering

    // Machine reason: create_because_absent, update_because_drift,
    // update_because_inventory_changed, update_because_unfinished,
    // start_because_stopped, replace_by_request, replace_because_cannot_update,
    // delete_because_not_in_inventory, wait_because_in_flight; "" for no-op.
    std::string action_reason;
    std::string reason;  // the "# why" line

    bool restart_needed = false;                 // a running VM is stopped and started again
    bool touches_in_service_nameserver = false;  // run such changes one nameserver at a time

    std::vector<Step> steps;

    [[nodiscard]] bool is_no_op() const;
    [[nodiscard]] bool has(Action action) const;
    // Attribute names whose before and after differ (both present), sorted.
    [[nodiscard]] std::vector<std::string> changed_attributes() const;
};

struct PlanProblem {
    std::string address;  // may be empty when it concerns no single VM
    std::string message;
};

struct IncompleteCluster {
    std::string cluster;
    std::vector<std::string> reasons;
    std::vector<std::string> unplanned;  // addresses nothing could be decided for
};

struct PlanSummary {
    int add = 0;      // creates, replacements included
    int change = 0;   // updates and starts
    int destroy = 0;  // deletes, replacements included
    int wait = 0;     // in-flight work to wait for
};

struct Plan {
    std::string estate;
    PlanOptions options;
    std::vector<ResourceChange> changes;  // the primary, the nameservers (inventory order), then the rest by address
    std::vector<PlanProblem> errors;      // the plan cannot be applied while any exists
    std::vector<PlanProblem> warnings;
    std::vector<IncompleteCluster> incomplete;
    // address -> observed_digest() of every VM a change touches (actions other
    // than no-op): `apply --plan` refuses the plan when one differs.
    std::map<std::string, std::string> observed_digests;

    [[nodiscard]] bool complete() const { return incomplete.empty(); }
    [[nodiscard]] bool has_changes() const;
    // Complete, without errors, and with something to do.
    [[nodiscard]] bool applyable() const { return complete() && errors.empty() && has_changes(); }
    [[nodiscard]] PlanSummary summary() const;
    [[nodiscard]] const ResourceChange* find(std::string_view address) const;
};

Plan make_plan(const std::vector<DesiredVm>& desired, const ObservedState& observed, const PlanOptions& options);

// Addresses whose digest in `saved` differs from (or is missing in) `fresh`,
// sorted. Empty = the saved plan was made from what is there now.
std::vector<std::string> changed_digests(const std::map<std::string, std::string>& saved,
                                         const std::map<std::string, std::string>& fresh);

}  // namespace dnsctl
