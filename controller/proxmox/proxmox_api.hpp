// ProxmoxApi: the narrow port to one Proxmox VE cluster's REST API (PVE 8.4).
// CpprestProxmoxApi implements it over HTTPS; tests use FakeProxmoxApi.
//
// Error kinds returned by implementations (proxmox/error_classification.hpp):
//   not_found    500 "... does not exist" / "unable to find configuration file"
//   unavailable  transient: lock timeout, VM locked, 502/503/504, 595/596 (node
//                unreachable), connection errors, timeouts; also an
//                unrecognised 500 on a read (reads are safe to repeat)
//   denied       401 (bad credentials) / 403 (names the missing privilege);
//                the server's TLS certificate refused (pin mismatch, bad chain)
//   invalid      400 parameter errors (the `errors` object in the message)
//   conflict     digest mismatch, "already exists", "VM is running"
//   internal     any other 500 on a mutating call (terminal)
// Error::maybe_applied is set when a mutating request may have taken effect
// although no answer came back (connection reset after sending, timeout): the
// caller must re-observe before trying again.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/types.hpp"

namespace dnsctl {

// One guest from GET /cluster/resources?type=vm. Containers are listed too:
// their VMIDs are taken just the same.
struct VmSummary {
    Vmid vmid;
    std::string type = "qemu";  // qemu | lxc
    std::string node;
    std::string status;  // running | stopped | unknown
    std::string name;
    bool is_template = false;
    std::string tags;  // as returned: "dns;dnsctl"
    std::optional<std::string> lock;
};

// One node from GET /nodes.
struct NodeSummary {
    std::string node;
    std::string status;  // online | offline | unknown
};

// GET …/qemu/{vmid}/config: flat keys as PVE returns them, all values as
// strings (numbers rendered in decimal). Includes "digest".
using VmConfig = std::map<std::string, std::string>;

// One key of GET …/qemu/{vmid}/cloudinit.
struct CloudinitEntry {
    std::string key;
    std::optional<std::string> value;    // in the current cloud-init image
    std::optional<std::string> pending;  // set but not yet in the image
    bool deleted = false;
};

struct TaskSummary {
    std::string upid;
    std::string type;  // qmclone, qmstart, …
    std::string id;    // vmid as text
    std::string status;  // "running" for active tasks, else the exit status
};

struct TaskStatus {
    std::string upid;
    bool running = true;
    std::string exitstatus;  // set once stopped: OK, "WARNINGS: n", or the error text
    // The task log, kept by wait_for_task when the task ended with warnings
    // (for the caller to log); empty otherwise.
    std::vector<std::string> log;

    [[nodiscard]] bool succeeded() const;  // stopped and (OK or WARNINGS: n)
};

struct CloneRequest {
    Vmid newid;
    std::string name;
    std::string description;
    bool full = true;
    std::optional<std::string> storage;  // full clones only
    std::optional<std::string> pool;
};

// A synchronous config update (PUT …/config). Values are sent as given;
// sshkeys must already be percent-encoded the way PVE stores it
// (encode_sshkeys in proxmox/percent_encoding.hpp). An update with nothing to
// set or remove is a no-op that sends nothing.
struct ConfigUpdate {
    std::map<std::string, std::string> set;
    std::vector<std::string> remove;       // keys for `delete`
    std::optional<std::string> digest;     // optimistic concurrency
};

class ProxmoxApi {
public:
    virtual ~ProxmoxApi() = default;

    virtual Result<std::vector<NodeSummary>> list_nodes() = 0;
    virtual Result<std::vector<VmSummary>> list_vms() = 0;  // one call per cluster
    virtual Result<VmConfig> get_config(const std::string& node, Vmid vmid) = 0;
    virtual Result<std::vector<CloudinitEntry>> get_cloudinit(const std::string& node, Vmid vmid) = 0;
    virtual Result<std::vector<TaskSummary>> active_tasks(const std::string& node, Vmid vmid) = 0;

    // Mutating calls. Those that start a task return its UPID (poll it with
    // wait_for_task, proxmox/tasks.hpp).

    virtual Result<std::string> clone(const std::string& node, Vmid source, const CloneRequest& request) = 0;
    virtual Result<void> update_config(const std::string& node, Vmid vmid, const ConfigUpdate& update) = 0;
    virtual Result<std::string> resize_disk(const std::string& node, Vmid vmid, const std::string& disk,
                                            const std::string& size) = 0;
    virtual Result<std::string> start(const std::string& node, Vmid vmid) = 0;
    virtual Result<std::string> shutdown(const std::string& node, Vmid vmid, bool force_stop) = 0;
    virtual Result<std::string> stop(const std::string& node, Vmid vmid) = 0;
    virtual Result<std::string> destroy(const std::string& node, Vmid vmid) = 0;  // purge, unreferenced disks

    virtual Result<TaskStatus> task_status(const std::string& node, const std::string& upid) = 0;
    virtual Result<std::vector<std::string>> task_log(const std::string& node, const std::string& upid) = 0;  // lines in order

    // Guest agent: reads a file inside a running VM (an authenticated channel).
    virtual Result<std::string> agent_file_read(const std::string& node, Vmid vmid, const std::string& path) = 0;

    // The same cluster without a retrying decorator: each call is one attempt.
    // For poll loops, which repeat their calls themselves within their own
    // deadline and failure budget (a poll retried below them would overshoot
    // both), and for reads whose answer may turn out not to be needed (observe
    // reads the inventory's VMs before the listing says where they are: a
    // failure there costs no backoff). Default: this API.
    virtual ProxmoxApi& without_retries() { return *this; }
};

// The node that runs (and must be polled for) a task: the UPID's second field.
Result<std::string> upid_node(const std::string& upid);

}  // namespace dnsctl
