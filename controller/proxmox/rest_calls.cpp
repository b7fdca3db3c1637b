#include "proxmox/rest_calls.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "proxmox/json_limits.hpp"
#include "proxmox/percent_encoding.hpp"

namespace dnsctl {

namespace {

using nlohmann::json;

std::string vm_path(const std::string& node, Vmid vmid) {
    return fmt::format("nodes/{}/qemu/{}", encode_path_segment(node), vmid.value);
}

std::string task_path(const std::string& node, const std::string& upid) {
    return fmt::format("nodes/{}/tasks/{}", encode_path_segment(node), encode_path_segment(upid));
}

std::string flag(bool value) { return value ? "1" : "0"; }  // PVE booleans are 0/1 only

std::unexpected<Error> unexpected_answer(std::string_view what) {
    return fail(ErrorKind::internal, fmt::format("unexpected answer: {}", what));
}

// The `data` member of the envelope.
Result<json> envelope_data(std::string_view body) {
    if (auto bounded = check_json_limits(body); !bounded) return unexpected_answer(bounded.error().message);
    auto parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) return unexpected_answer("the body is not JSON");
    if (!parsed.is_object() || !parsed.contains("data")) return unexpected_answer("no 'data' in the body");
    return std::move(parsed["data"]);
}

std::string text_of(const json& value) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_null()) return "";
    return value.dump();  // numbers and booleans in their JSON form
}

std::string string_member(const json& object, const char* key, std::string fallback = "") {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return fallback;
    return text_of(*it);
}

// PVE sends booleans as 0/1, sometimes as strings.
bool flag_member(const json& object, const char* key) {
    auto it = object.find(key);
    if (it == object.end()) return false;
    if (it->is_boolean()) return it->get<bool>();
    if (it->is_number_integer()) return it->get<long long>() != 0;
    if (it->is_string()) return it->get<std::string>() == "1";
    return false;
}

Result<Vmid> vmid_member(const json& object) {
    auto it = object.find("vmid");
    if (it == object.end()) return unexpected_answer("a guest without 'vmid'");
    long long value = 0;
    if (it->is_number_integer()) {
        value = it->get<long long>();
    } else if (it->is_string()) {
        try {
            value = std::stoll(it->get<std::string>());
        } catch (const std::exception&) {
            return unexpected_answer(fmt::format("vmid '{}' is not a number", it->get<std::string>()));
        }
    } else {
        return unexpected_answer("vmid is neither a number nor a string");
    }
    if (value < Vmid::kMin || value > Vmid::kMax) return unexpected_answer(fmt::format("vmid {} out of range", value));
    return Vmid{static_cast<std::uint32_t>(value)};
}

Result<json> data_array(std::string_view body) {
    auto data = envelope_data(body);
    if (!data) return data;
    if (!data->is_array()) return unexpected_answer("'data' is not a list");
    for (const auto& item : *data) {
        if (!item.is_object()) return unexpected_answer("a list item is not an object");
    }
    return data;
}

}  // namespace

std::string ApiCall::describe() const { return fmt::format("{} /{}", method, path); }

ApiCall list_nodes_call() { return {"GET", "nodes", "", false}; }

ApiCall list_vms_call() { return {"GET", "cluster/resources?type=vm", "", false}; }

ApiCall get_config_call(const std::string& node, Vmid vmid) {
    return {"GET", vm_path(node, vmid) + "/config", "", false};
}

ApiCall get_cloudinit_call(const std::string& node, Vmid vmid) {
    return {"GET", vm_path(node, vmid) + "/cloudinit", "", false};
}

ApiCall active_tasks_call(const std::string& node, Vmid vmid) {
    return {"GET",
            fmt::format("nodes/{}/tasks?{}", encode_path_segment(node),
                        form_encode({{"source", "active"}, {"vmid", std::to_string(vmid.value)}})),
            "", false};
}

ApiCall clone_call(const std::string& node, Vmid source, const CloneRequest& request) {
    FormFields fields{{"newid", std::to_string(request.newid.value)}};
    if (!request.name.empty()) fields.emplace_back("name", request.name);
    if (!request.description.empty()) fields.emplace_back("description", request.description);
    fields.emplace_back("full", flag(request.full));  // always explicit: the default differs for templates
    if (request.full && request.storage) fields.emplace_back("storage", *request.storage);
    if (request.pool) fields.emplace_back("pool", *request.pool);
    return {"POST", vm_path(node, source) + "/clone", form_encode(fields), true};
}

ApiCall update_config_call(const std::string& node, Vmid vmid, const ConfigUpdate& update) {
    FormFields fields(update.set.begin(), update.set.end());
    if (!update.remove.empty()) {
        std::string keys;
        for (const auto& key : update.remove) keys += (keys.empty() ? "" : ",") + key;
        fields.emplace_back("delete", keys);
    }
    if (update.digest) fields.emplace_back("digest", *update.digest);
    return {"PUT", vm_path(node, vmid) + "/config", form_encode(fields), true};
}

ApiCall resize_disk_call(const std::string& node, Vmid vmid, const std::string& disk, const std::string& size) {
    return {"PUT", vm_path(node, vmid) + "/resize", form_encode({{"disk", disk}, {"size", size}}), true};
}

ApiCall start_call(const std::string& node, Vmid vmid) {
    return {"POST", vm_path(node, vmid) + "/status/start", "", true};
}

ApiCall shutdown_call(const std::string& node, Vmid vmid, bool force_stop) {
    return {"POST", vm_path(node, vmid) + "/status/shutdown", form_encode({{"forceStop", flag(force_stop)}}), true};
}

ApiCall stop_call(const std::string& node, Vmid vmid) {
    return {"POST", vm_path(node, vmid) + "/status/stop", "", true};
}

ApiCall destroy_call(const std::string& node, Vmid vmid) {
    return {"DELETE",
            vm_path(node, vmid) + "?" + form_encode({{"purge", "1"}, {"destroy-unreferenced-disks", "1"}}), "",
            true};
}

ApiCall task_status_call(const std::string& node, const std::string& upid) {
    return {"GET", task_path(node, upid) + "/status", "", false};
}

ApiCall task_log_call(const std::string& node, const std::string& upid, int start, int limit) {
    return {"GET",
            task_path(node, upid) + "/log?" +
                form_encode({{"start", std::to_string(start)}, {"limit", std::to_string(limit)}}),
            "", false};
}

ApiCall agent_file_read_call(const std::string& node, Vmid vmid, const std::string& path) {
    return {"GET", vm_path(node, vmid) + "/agent/file-read?" + form_encode({{"file", path}}), "", false};
}

Result<std::vector<NodeSummary>> decode_nodes(std::string_view body) {
    auto data = data_array(body);
    if (!data) return std::unexpected(data.error());
    std::vector<NodeSummary> nodes;
    for (const auto& item : *data) {
        NodeSummary node{string_member(item, "node"), string_member(item, "status", "unknown")};
        if (node.node.empty()) return unexpected_answer("a node without 'node'");
        nodes.push_back(std::move(node));
    }
    return nodes;
}

Result<std::vector<VmSummary>> decode_vms(std::string_view body) {
    auto data = data_array(body);
    if (!data) return std::unexpected(data.error());
    std::vector<VmSummary> vms;
    for (const auto& item : *data) {
        auto type = string_member(item, "type");
        if (type != "qemu" && type != "lxc") continue;  // storage, node, sdn, pool entries
        auto vmid = vmid_member(item);
        if (!vmid) return std::unexpected(vmid.error());
        VmSummary vm;
        vm.vmid = *vmid;
        vm.type = type;
        vm.node = string_member(item, "node");
        // name/status come from the status cache and may be missing for a
        // guest created seconds ago.
        vm.status = string_member(item, "status", "unknown");
        vm.name = string_member(item, "name");
        vm.is_template = flag_member(item, "template");
        vm.tags = string_member(item, "tags");
        if (auto lock = string_member(item, "lock"); !lock.empty()) vm.lock = lock;
        if (vm.node.empty()) return unexpected_answer(fmt::format("guest {} without 'node'", vm.vmid.value));
        vms.push_back(std::move(vm));
    }
    std::sort(vms.begin(), vms.end(), [](const VmSummary& a, const VmSummary& b) { return a.vmid < b.vmid; });
    return vms;
}

Result<VmConfig> decode_config(std::string_view body) {
    auto data = envelope_data(body);
    if (!data) return std::unexpected(data.error());
    if (!data->is_object()) return unexpected_answer("the config is not an object");
    VmConfig config;
    for (const auto& [key, value] : data->items()) config[key] = text_of(value);
    return config;
}

Result<std::vector<CloudinitEntry>> decode_cloudinit(std::string_view body) {
    auto data = data_array(body);
    if (!data) return std::unexpected(data.error());
    std::vector<CloudinitEntry> entries;
    for (const auto& item : *data) {
        CloudinitEntry entry;
        entry.key = string_member(item, "key");
        if (entry.key.empty()) return unexpected_answer("a cloud-init entry without 'key'");
        if (item.contains("value") && !item["value"].is_null()) entry.value = text_of(item["value"]);
        if (item.contains("pending") && !item["pending"].is_null()) entry.pending = text_of(item["pending"]);
        entry.deleted = flag_member(item, "delete");
        entries.push_back(std::move(entry));
    }
    return entries;
}

Result<std::vector<TaskSummary>> decode_tasks(std::string_view body) {
    auto data = data_array(body);
    if (!data) return std::unexpected(data.error());
    std::vector<TaskSummary> tasks;
    for (const auto& item : *data) {
        TaskSummary task{string_member(item, "upid"), string_member(item, "type"), string_member(item, "id"),
                         string_member(item, "status", "running")};  // active tasks carry no status yet
        if (task.upid.empty()) return unexpected_answer("a task without 'upid'");
        tasks.push_back(std::move(task));
    }
    return tasks;
}

Result<std::string> decode_upid(std::string_view body) {
    auto data = envelope_data(body);
    if (!data) return std::unexpected(data.error());
    if (!data->is_string()) return unexpected_answer("expected a task id (UPID)");
    auto upid = data->get<std::string>();
    if (!upid_node(upid)) return unexpected_answer(fmt::format("'{}' is not a UPID", upid));
    return upid;
}

Result<TaskStatus> decode_task_status(std::string_view body) {
    auto data = envelope_data(body);
    if (!data) return std::unexpected(data.error());
    if (!data->is_object()) return unexpected_answer("the task status is not an object");
    TaskStatus status;
    status.upid = string_member(*data, "upid");
    auto state = string_member(*data, "status");
    if (state != "running" && state != "stopped") {
        return unexpected_answer(fmt::format("task status '{}' is neither running nor stopped", state));
    }
    status.running = state == "running";
    if (!status.running) status.exitstatus = string_member(*data, "exitstatus", "unexpected status");
    return status;
}

Result<std::vector<std::string>> decode_task_log(std::string_view body) {
    auto data = data_array(body);
    if (!data) return std::unexpected(data.error());
    std::vector<std::pair<long long, std::string>> numbered;
    for (const auto& item : *data) {
        auto n = item.find("n");
        long long line = (n != item.end() && n->is_number_integer()) ? n->get<long long>() : 0;
        numbered.emplace_back(line, string_member(item, "t"));
    }
    std::stable_sort(numbered.begin(), numbered.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> lines;
    for (auto& [n, text] : numbered) lines.push_back(std::move(text));
    return lines;
}

Result<std::string> decode_file_read(std::string_view body) {
    auto data = envelope_data(body);
    if (!data) return std::unexpected(data.error());
    if (!data->is_object() || !data->contains("content")) return unexpected_answer("no 'content' in the file");
    if (flag_member(*data, "truncated")) {
        return fail(ErrorKind::invalid, "the file is larger than the guest agent returns (truncated)");
    }
    return text_of((*data)["content"]);
}

Result<void> decode_any(std::string_view body) {
    auto data = envelope_data(body);
    if (!data) return std::unexpected(data.error());
    return {};
}

}  // namespace dnsctl
