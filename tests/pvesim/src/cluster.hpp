// ClusterState: the state machine of one simulated Proxmox VE cluster. It owns
// the VMs and tasks, applies configuration changes the way qemu-server does
// (pending changes, normalisation, MACs, cloud-init image), runs asynchronous
// tasks against an injected clock (tick() finishes what is due), and models
// the per-VM config flock and the `lock` config key. No I/O: hooks and
// persistence are effects returned to the caller.
#pragma once

#include <nlohmann/json.hpp>

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model.hpp"
#include "schema.hpp"

namespace pvesim {

struct ClusterSpec {
    std::string name;
    std::string version = "8.4.1";
    std::string release = "8.4";
    std::string repoid = "2a5fa54a8503f96d";
    // What a running VM reports as running-qemu, and the machine version its
    // unversioned machine type (i440fx, q35) resolves to: PVE 8.4 ships QEMU
    // 9.2 with machine version 9.2+pve1.
    std::string qemu_version = "9.2.0";
    std::string machine_version = "9.2+pve1";
    std::vector<NodeSpec> nodes;
    std::vector<StorageSpec> storages;
    std::vector<PoolSpec> pools;
    Timing timing;
    // /cluster/resources keeps listing the VMs of an unreachable node (from the
    // cluster's replicated configuration) with status "unknown" and no stats;
    // false drops them from the list instead.
    bool list_unreachable_vms = true;
    std::set<std::string> hook_events;  // events that have a hook executable configured
    std::uint64_t seed = 0;
};

// Who started a task and what the fault plan decided for it.
struct TaskOptions {
    std::string user;  // user@realm[!token]
    std::optional<std::string> fail;
    int warnings = 0;
};

struct CloneArgs {
    std::string node;  // node in the request path
    int source = 0;
    int newid = 0;
    std::optional<std::string> name, description, target, storage, format, pool, snapname;
    std::optional<bool> full;
};

struct ConfigUpdate {
    Config set;
    std::vector<std::string> deletes;
    std::vector<std::string> reverts;
    std::optional<std::string> digest;
    bool skiplock = false;
    bool force = false;
};

// A lifecycle hook the caller must run, then report with hook_finished().
struct HookCall {
    std::string upid;
    std::string event;  // start, stop, delete
    int vmid = 0;
    std::string node;
    Config config;  // the VM's configuration as the event sees it
};

struct TickResult {
    std::vector<HookCall> hooks;
    std::vector<int> destroyed;  // VMIDs whose guest folder should go
    bool changed = false;        // state to persist
};

class ClusterState {
public:
    ClusterState(ClusterSpec spec, Clock& clock, const Schema& schema);

    [[nodiscard]] const ClusterSpec& spec() const { return spec_; }
    [[nodiscard]] const std::string& name() const { return spec_.name; }
    [[nodiscard]] Clock& clock() const { return clock_; }
    void set_timing(const Timing& timing) { spec_.timing = timing; }
    Outcome<void> set_node_unreachable(const std::string& node, bool unreachable, const std::string& reason);

    [[nodiscard]] const NodeSpec* node(std::string_view name) const;
    [[nodiscard]] const StorageSpec* storage(std::string_view id) const;
    [[nodiscard]] const PoolSpec* pool(std::string_view id) const;
    [[nodiscard]] const Vm* find_vm(int vmid) const;
    [[nodiscard]] const std::map<int, Vm>& vms() const { return vms_; }
    [[nodiscard]] const std::deque<Task>& tasks() const { return tasks_; }
    [[nodiscard]] const Task* task(std::string_view upid) const;

    // The VM whose config lives on `node`, or the error PVE gives otherwise:
    // "Configuration file 'nodes/<node>/qemu-server/<vmid>.conf' does not exist",
    // or with `on_node_message` "unable to find configuration file for VM <vmid> on node '<node>'".
    Outcome<const Vm*> vm_on_node(int vmid, const std::string& node, bool on_node_message = false) const;

    // Adds a VM from the configuration file (templates and pre-existing guests).
    Outcome<void> add_vm(int vmid, const std::string& node, const Config& config, bool running, const std::string& pool);

    // --- config flock -----------------------------------------------------------
    // When the flock of `vmid` becomes free for an exclusive (or shared) holder;
    // nullopt if free now.
    [[nodiscard]] std::optional<TimePoint> flock_busy_until(int vmid, bool shared = false) const;
    // Holds the flock for `duration` (admin API: lock contention).
    void hold_flock(int vmid, Millis duration);
    // Sets or clears the `lock` config key (admin API: a stale lock).
    Outcome<void> set_lock(int vmid, const std::string& lock);
    static std::string lock_timeout_message(int vmid);

    // --- operations (the API layer has checked permissions and parameters) -----
    Outcome<std::string> clone(const CloneArgs& args, const TaskOptions& options);
    Outcome<void> update_config(int vmid, const ConfigUpdate& update);  // PUT: flock must be free
    Outcome<std::string> update_config_task(int vmid, ConfigUpdate update, const TaskOptions& options);  // POST
    Outcome<std::string> resize(int vmid, const std::string& disk, const std::string& size,
                                std::optional<std::string> digest, bool skiplock, const TaskOptions& options);
    // `machine`: start only, the machine type for this run (as the start call's parameter).
    Outcome<std::string> power(TaskJob::Kind kind, int vmid, bool skiplock, bool force_stop, const TaskOptions& options,
                               const std::string& machine = "");
    Outcome<std::string> destroy(int vmid, bool skiplock, const TaskOptions& options);
    Outcome<void> regenerate_cloudinit(int vmid);  // PUT …/cloudinit
    Outcome<void> stop_task(std::string_view upid);

    // --- views ------------------------------------------------------------------
    // Config as GET …/config returns it (pending applied unless `current`),
    // without digest; cipassword masked.
    [[nodiscard]] Config view_config(const Vm& vm, bool current) const;
    // The config with pending values applied (what the next start uses).
    [[nodiscard]] Config effective_config(const Vm& vm) const;
    [[nodiscard]] std::string digest(const Vm& vm) const;
    [[nodiscard]] int next_free_vmid() const;
    [[nodiscard]] bool agent_enabled(const Vm& vm) const;
    [[nodiscard]] std::uint64_t disk_bytes(const std::string& drive_value) const;
    [[nodiscard]] std::uint64_t memory_mib(const Config& config) const;
    // The versioned QEMU machine a start with this config (and optional
    // `machine` parameter) runs: "pc-i440fx-<machine_version>" by default,
    // "pc-q35-<machine_version>" for q35, a pinned version as given with
    // "+pve0" added when it has no PVE revision.
    [[nodiscard]] std::string machine_to_run(const Config& config, const std::string& machine_parameter = "") const;
    // running-machine of a running VM ("" when stopped).
    [[nodiscard]] std::string running_machine(const Vm& vm) const;
    // Cloud-init keys whose value differs from the current cloud-init image
    // (GET …/cloudinit), in PVE's shape.
    [[nodiscard]] nlohmann::json cloudinit_view(const Vm& vm) const;
    [[nodiscard]] nlohmann::json pending_view(const Vm& vm) const;

    // --- time -------------------------------------------------------------------
    TickResult tick();
    [[nodiscard]] std::optional<TimePoint> next_deadline() const;
    // Result of a hook started from a TickResult; nullopt error = exit status 0.
    void hook_finished(const std::string& upid, std::optional<std::string> error);

    // --- persistence --------------------------------------------------------------
    [[nodiscard]] nlohmann::json save() const;
    void load(const nlohmann::json& state);

private:
    Task& new_task(const std::string& node, const std::string& type, const std::string& id, const TaskOptions& options,
                   TaskJob job, std::vector<int> flocks, Millis work);
    void begin(Task& task);
    void complete(Task& task, TickResult& result);
    void finish(Task& task, std::optional<std::string> error);
    std::optional<std::string> begin_checks(Task& task);
    Vm* vm_mut(int vmid);
    std::optional<std::string> apply_update(Vm& vm, const ConfigUpdate& update, bool running);
    std::optional<std::string> normalise_value(Vm& vm, const std::string& key, std::string& value);
    void apply_pending(Vm& vm);
    void regenerate(Vm& vm);
    std::string new_mac(int vmid, const std::string& key);
    std::string new_volume(const std::string& storage, int vmid, const std::string& suffix_kind);
    std::set<std::string> used_volumes() const;
    std::string hook_event_for(const Task& task) const;

    ClusterSpec spec_;
    Clock& clock_;
    const Schema& schema_;
    std::map<int, Vm> vms_;
    std::deque<Task> tasks_;
    std::map<int, TimePoint> manual_flocks_;
    std::uint64_t counter_ = 0;  // MACs, UUIDs, PIDs
};

bool is_disk_key(std::string_view key);
bool is_cloudinit_key(std::string_view key);  // keys GET …/cloudinit reports
bool is_cdrom(std::string_view drive_value);

}  // namespace pvesim
