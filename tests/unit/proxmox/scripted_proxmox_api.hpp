// A ProxmoxApi whose answers are scripted per method (a queue each); an
// unscripted call fails with `internal`. Counts calls per method.
#pragma once

#include <deque>
#include <string>

#include "proxmox/proxmox_api.hpp"

namespace dnsctl::proxmox_test {

template <class T>
struct Script {
    std::deque<Result<T>> answers;
    int calls = 0;

    Result<T> next(const char* method) {
        ++calls;
        if (answers.empty()) return fail(ErrorKind::internal, std::string("unscripted call to ") + method);
        Result<T> answer = std::move(answers.front());
        answers.pop_front();
        return answer;
    }
};

class ScriptedProxmoxApi final : public ProxmoxApi {
public:
    Script<std::vector<NodeSummary>> nodes;
    Script<std::vector<VmSummary>> vms;
    Script<VmConfig> configs;
    Script<std::vector<CloudinitEntry>> cloudinit;
    Script<std::vector<TaskSummary>> active;
    Script<std::string> clones;
    Script<void> updates;
    Script<std::string> resizes;
    Script<std::string> starts;
    Script<std::string> shutdowns;
    Script<std::string> stops;
    Script<std::string> destroys;
    Script<TaskStatus> statuses;
    Script<std::vector<std::string>> logs;
    Script<std::string> files;

    Result<std::vector<NodeSummary>> list_nodes() override { return nodes.next("list_nodes"); }
    Result<std::vector<VmSummary>> list_vms() override { return vms.next("list_vms"); }
    Result<VmConfig> get_config(const std::string&, Vmid) override { return configs.next("get_config"); }
    Result<std::vector<CloudinitEntry>> get_cloudinit(const std::string&, Vmid) override {
        return cloudinit.next("get_cloudinit");
    }
    Result<std::vector<TaskSummary>> active_tasks(const std::string&, Vmid) override {
        return active.next("active_tasks");
    }
    Result<std::string> clone(const std::string&, Vmid, const CloneRequest&) override { return clones.next("clone"); }
    Result<void> update_config(const std::string&, Vmid, const ConfigUpdate&) override {
        return updates.next("update_config");
    }
    Result<std::string> resize_disk(const std::string&, Vmid, const std::string&, const std::string&) override {
        return resizes.next("resize_disk");
    }
    Result<std::string> start(const std::string&, Vmid) override { return starts.next("start"); }
    Result<std::string> shutdown(const std::string&, Vmid, bool) override { return shutdowns.next("shutdown"); }
    Result<std::string> stop(const std::string&, Vmid) override { return stops.next("stop"); }
    Result<std::string> destroy(const std::string&, Vmid) override { return destroys.next("destroy"); }
    Result<TaskStatus> task_status(const std::string&, const std::string&) override {
        return statuses.next("task_status");
    }
    Result<std::vector<std::string>> task_log(const std::string&, const std::string&) override {
        return logs.next("task_log");
    }
    Result<std::string> agent_file_read(const std::string&, Vmid, const std::string&) override {
        return files.next("agent_file_read");
    }
};

inline std::unexpected<Error> failure(ErrorKind kind, std::string message, bool maybe_applied = false) {
    return std::unexpected(Error{kind, std::move(message), maybe_applied});
}

}  // namespace dnsctl::proxmox_test
