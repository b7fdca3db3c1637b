// FakeProxmoxApi: one in-memory Proxmox VE cluster behind the ProxmoxApi port,
// with PVE's observable quirks (tags normalised on write, MACs generated,
// sshkeys must be percent-encoded, cloud-init values pending until a start,
// clone tasks that hold `lock: clone`, 595 for an unreachable node, 500-style
// errors classified as the port documents), per-method failure injection and
// call counting. Safe to call from several threads.
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "proxmox/proxmox_api.hpp"

namespace dnsctl {

enum class ProxmoxMethod {
    list_nodes,
    list_vms,
    get_config,
    get_cloudinit,
    active_tasks,
    clone,
    update_config,
    resize_disk,
    start,
    shutdown,
    stop,
    destroy,
    task_status,
    task_log,
    agent_file_read,
};

struct FakeVm {
    std::string type = "qemu";       // "lxc": a container, listed, but the qemu calls do not find it
    std::string node;
    std::string status = "stopped";  // running | stopped
    bool is_template = false;
    VmConfig config;                 // without "digest": computed on every read
    std::map<std::string, std::string> cloudinit_image;  // cloud-init keys in the generated image
    std::map<std::string, std::string> files;            // what the guest agent can read
};

class FakeProxmoxApi final : public ProxmoxApi {
public:
    FakeProxmoxApi() = default;

    // ---- the world
    void add_node(const std::string& node, const std::string& status = "online");
    // An unreachable node: listed as offline, and every request proxied to it
    // fails like PVE's 595.
    void set_node_reachable(const std::string& node, bool reachable);
    // Every request fails as if the API endpoint were down.
    void set_api_down(bool down);
    void put_vm(Vmid vmid, FakeVm vm);
    void remove_vm(Vmid vmid);
    [[nodiscard]] std::optional<FakeVm> vm(Vmid vmid) const;
    [[nodiscard]] std::set<Vmid> vmids() const;
    // Edits a VM's config behind the client's back (drift).
    void edit_config(Vmid vmid, const std::string& key, const std::optional<std::string>& value);

    // ---- tasks
    // When set, clone tasks keep running (placeholder config with lock: clone)
    // until finish_tasks().
    void set_clone_in_flight(bool in_flight);
    // Finishes every running task with OK, applying its effect.
    void finish_tasks();
    // The next task started by `method` ends with this exit status and, unless
    // it is OK or "WARNINGS: n", without effect.
    void set_next_task_exitstatus(ProxmoxMethod method, std::string exitstatus);

    // ---- failure injection and counting
    void fail_next(ProxmoxMethod method, Error error, int times = 1);
    void fail_always(ProxmoxMethod method, Error error);
    void clear_failures();
    [[nodiscard]] int calls(ProxmoxMethod method) const;
    [[nodiscard]] int total_calls() const;
    void reset_calls();

    // ---- ProxmoxApi
    Result<std::vector<NodeSummary>> list_nodes() override;
    Result<std::vector<VmSummary>> list_vms() override;
    Result<VmConfig> get_config(const std::string& node, Vmid vmid) override;
    Result<std::vector<CloudinitEntry>> get_cloudinit(const std::string& node, Vmid vmid) override;
    Result<std::vector<TaskSummary>> active_tasks(const std::string& node, Vmid vmid) override;
    Result<std::string> clone(const std::string& node, Vmid source, const CloneRequest& request) override;
    Result<void> update_config(const std::string& node, Vmid vmid, const ConfigUpdate& update) override;
    Result<std::string> resize_disk(const std::string& node, Vmid vmid, const std::string& disk,
                                    const std::string& size) override;
    Result<std::string> start(const std::string& node, Vmid vmid) override;
    Result<std::string> shutdown(const std::string& node, Vmid vmid, bool force_stop) override;
    Result<std::string> stop(const std::string& node, Vmid vmid) override;
    Result<std::string> destroy(const std::string& node, Vmid vmid) override;
    Result<TaskStatus> task_status(const std::string& node, const std::string& upid) override;
    Result<std::vector<std::string>> task_log(const std::string& node, const std::string& upid) override;
    Result<std::string> agent_file_read(const std::string& node, Vmid vmid, const std::string& path) override;

    // The config digest PVE would return (40 hex).
    [[nodiscard]] static std::string config_digest(const VmConfig& config);

private:
    struct Failure {
        Error error;
        int remaining = 0;  // < 0: always
    };
    struct Task {
        std::string node;
        std::string type;
        Vmid vmid;           // the VM acted on (for clone: the new VMID)
        std::string id;      // as PVE reports it (clone: the source VMID)
        TaskStatus status;
        std::vector<std::string> log;
        std::optional<FakeVm> pending_clone;  // applied when an in-flight clone finishes
    };

    // The private functions below expect mutex_ to be held.
    std::optional<Error> enter(ProxmoxMethod method);
    std::optional<Error> check_node(const std::string& node) const;
    Result<FakeVm*> find_vm(const std::string& node, Vmid vmid);
    std::string new_task(const std::string& node, const std::string& type, Vmid vmid, const std::string& id,
                         ProxmoxMethod method, bool& effect);
    std::string new_mac();

    mutable std::mutex mutex_;
    std::map<std::string, std::string> nodes_;  // node -> status
    std::set<std::string> unreachable_;
    bool api_down_ = false;
    std::map<Vmid, FakeVm> vms_;
    std::map<std::string, Task> tasks_;
    std::deque<std::string> task_order_;
    bool clone_in_flight_ = false;
    std::map<ProxmoxMethod, std::string> next_exitstatus_;
    std::map<ProxmoxMethod, Failure> failures_;
    std::map<ProxmoxMethod, int> calls_;
    int task_counter_ = 0;
    int mac_counter_ = 0;
};

}  // namespace dnsctl
