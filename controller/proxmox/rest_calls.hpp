// The REST calls behind ProxmoxApi, as data (pure functions): what to send
// for each port method, and how to read what comes back. CpprestProxmoxApi
// only moves these over HTTPS; unit tests check the exact wire form here.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "proxmox/proxmox_api.hpp"

namespace dnsctl {

struct ApiCall {
    std::string method;  // GET | POST | PUT | DELETE
    std::string path;    // below /api2/json/, query included: "cluster/resources?type=vm"
    std::string body;    // application/x-www-form-urlencoded; empty when there is none
    bool mutating = false;

    // "PUT /nodes/pve1/qemu/101/config", for messages and logs (never a secret).
    [[nodiscard]] std::string describe() const;
};

ApiCall list_nodes_call();
ApiCall list_vms_call();
ApiCall get_config_call(const std::string& node, Vmid vmid);
ApiCall get_cloudinit_call(const std::string& node, Vmid vmid);
ApiCall active_tasks_call(const std::string& node, Vmid vmid);
ApiCall clone_call(const std::string& node, Vmid source, const CloneRequest& request);
ApiCall update_config_call(const std::string& node, Vmid vmid, const ConfigUpdate& update);
ApiCall resize_disk_call(const std::string& node, Vmid vmid, const std::string& disk, const std::string& size);
ApiCall start_call(const std::string& node, Vmid vmid);
ApiCall shutdown_call(const std::string& node, Vmid vmid, bool force_stop);
ApiCall stop_call(const std::string& node, Vmid vmid);
ApiCall destroy_call(const std::string& node, Vmid vmid);
ApiCall task_status_call(const std::string& node, const std::string& upid);
ApiCall task_log_call(const std::string& node, const std::string& upid, int start, int limit);
ApiCall agent_file_read_call(const std::string& node, Vmid vmid, const std::string& path);

// Decoders of a 2xx body ({"data": …}). Errors are `internal` ("unexpected
// answer …"); the adapter adds the call's name.
Result<std::vector<NodeSummary>> decode_nodes(std::string_view body);
Result<std::vector<VmSummary>> decode_vms(std::string_view body);
Result<VmConfig> decode_config(std::string_view body);
Result<std::vector<CloudinitEntry>> decode_cloudinit(std::string_view body);
Result<std::vector<TaskSummary>> decode_tasks(std::string_view body);
Result<std::string> decode_upid(std::string_view body);
Result<TaskStatus> decode_task_status(std::string_view body);
Result<std::vector<std::string>> decode_task_log(std::string_view body);  // ordered by line number
Result<std::string> decode_file_read(std::string_view body);               // refuses a truncated file
Result<void> decode_any(std::string_view body);                            // only checks the envelope

}  // namespace dnsctl
