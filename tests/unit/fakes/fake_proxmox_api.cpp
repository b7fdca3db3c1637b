#include "unit/fakes/fake_proxmox_api.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <regex>

#include "plan/sha256.hpp"

namespace dnsctl {

namespace {

const std::set<std::string> kCloudinitKeys = {"ciuser", "cipassword", "citype", "ipconfig0", "ipconfig1",
                                              "nameserver", "searchdomain", "sshkeys"};

// PVE's tag handling on write: split on ; , and whitespace, lower-case,
// de-duplicate, sort, join with ';'.
std::string pve_tags(const std::string& value) {
    std::vector<std::string> tags;
    std::string current;
    auto flush = [&] {
        if (!current.empty()) tags.push_back(current);
        current.clear();
    };
    for (char c : value) {
        if (c == ';' || c == ',' || std::isspace(static_cast<unsigned char>(c))) {
            flush();
        } else {
            current.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
        }
    }
    flush();
    std::sort(tags.begin(), tags.end());
    tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
    std::string out;
    for (const auto& tag : tags) out += (out.empty() ? "" : ";") + tag;
    return out;
}

std::string url_decode(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            out.push_back(static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16)));
            i += 2;
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

std::optional<std::uint64_t> size_bytes(std::string text) {
    static const std::regex kSize(R"(^(\d+)([KMGT]?)$)");
    std::smatch match;
    if (!std::regex_match(text, match, kSize)) return std::nullopt;
    std::uint64_t value = std::stoull(match[1].str());
    auto unit = match[2].str();
    int shift = unit == "K" ? 10 : unit == "M" ? 20 : unit == "G" ? 30 : unit == "T" ? 40 : 0;
    return value << shift;
}

std::string size_text(std::uint64_t bytes) {
    if (bytes % (1ULL << 30) == 0) return fmt::format("{}G", bytes >> 30);
    if (bytes % (1ULL << 20) == 0) return fmt::format("{}M", bytes >> 20);
    return std::to_string(bytes);
}

Error not_found_on(const std::string& node, Vmid vmid) {
    return Error{ErrorKind::not_found,
                 fmt::format("Configuration file 'nodes/{}/qemu-server/{}.conf' does not exist", node, vmid.value),
                 false};
}

}  // namespace

std::string FakeProxmoxApi::config_digest(const VmConfig& config) {
    std::string text;
    for (const auto& [key, value] : config) {
        if (key != "digest") text += key + ": " + value + "\n";
    }
    return sha256_hex(text).substr(0, 40);
}

// ---- world

void FakeProxmoxApi::add_node(const std::string& node, const std::string& status) {
    std::lock_guard lock(mutex_);
    nodes_[node] = status;
}

void FakeProxmoxApi::set_node_reachable(const std::string& node, bool reachable) {
    std::lock_guard lock(mutex_);
    if (reachable) {
        unreachable_.erase(node);
        nodes_[node] = "online";
    } else {
        unreachable_.insert(node);
        nodes_[node] = "offline";
    }
}

void FakeProxmoxApi::set_api_down(bool down) {
    std::lock_guard lock(mutex_);
    api_down_ = down;
}

void FakeProxmoxApi::put_vm(Vmid vmid, FakeVm vm) {
    std::lock_guard lock(mutex_);
    vms_[vmid] = std::move(vm);
}

void FakeProxmoxApi::remove_vm(Vmid vmid) {
    std::lock_guard lock(mutex_);
    vms_.erase(vmid);
}

std::optional<FakeVm> FakeProxmoxApi::vm(Vmid vmid) const {
    std::lock_guard lock(mutex_);
    auto it = vms_.find(vmid);
    if (it == vms_.end()) return std::nullopt;
    return it->second;
}

std::set<Vmid> FakeProxmoxApi::vmids() const {
    std::lock_guard lock(mutex_);
    std::set<Vmid> out;
    for (const auto& [vmid, vm] : vms_) out.insert(vmid);
    return out;
}

void FakeProxmoxApi::edit_config(Vmid vmid, const std::string& key, const std::optional<std::string>& value) {
    std::lock_guard lock(mutex_);
    auto& config = vms_.at(vmid).config;
    if (value) {
        config[key] = key == "tags" ? pve_tags(*value) : *value;
    } else {
        config.erase(key);
    }
}

// ---- tasks

void FakeProxmoxApi::set_clone_in_flight(bool in_flight) {
    std::lock_guard lock(mutex_);
    clone_in_flight_ = in_flight;
}

void FakeProxmoxApi::finish_tasks() {
    std::lock_guard lock(mutex_);
    for (auto& [upid, task] : tasks_) {
        if (!task.status.running) continue;
        task.status.running = false;
        task.status.exitstatus = "OK";
        task.log.emplace_back("TASK OK");
        if (task.pending_clone) {
            vms_[task.vmid] = std::move(*task.pending_clone);
            task.pending_clone.reset();
        }
    }
}

void FakeProxmoxApi::set_next_task_exitstatus(ProxmoxMethod method, std::string exitstatus) {
    std::lock_guard lock(mutex_);
    next_exitstatus_[method] = std::move(exitstatus);
}

// ---- failures and counting

void FakeProxmoxApi::fail_next(ProxmoxMethod method, Error error, int times) {
    std::lock_guard lock(mutex_);
    failures_[method] = Failure{std::move(error), times};
}

void FakeProxmoxApi::fail_always(ProxmoxMethod method, Error error) {
    std::lock_guard lock(mutex_);
    failures_[method] = Failure{std::move(error), -1};
}

void FakeProxmoxApi::clear_failures() {
    std::lock_guard lock(mutex_);
    failures_.clear();
}

int FakeProxmoxApi::calls(ProxmoxMethod method) const {
    std::lock_guard lock(mutex_);
    auto it = calls_.find(method);
    return it == calls_.end() ? 0 : it->second;
}

int FakeProxmoxApi::total_calls() const {
    std::lock_guard lock(mutex_);
    int total = 0;
    for (const auto& [method, count] : calls_) total += count;
    return total;
}

void FakeProxmoxApi::reset_calls() {
    std::lock_guard lock(mutex_);
    calls_.clear();
}

std::optional<Error> FakeProxmoxApi::enter(ProxmoxMethod method) {
    ++calls_[method];
    if (api_down_) return Error{ErrorKind::unavailable, "connect to 127.0.0.1:8006: Connection refused", false};
    auto it = failures_.find(method);
    if (it == failures_.end()) return std::nullopt;
    auto error = it->second.error;
    if (it->second.remaining > 0 && --it->second.remaining == 0) failures_.erase(it);
    return error;
}

std::optional<Error> FakeProxmoxApi::check_node(const std::string& node) const {
    if (!nodes_.contains(node)) {
        return Error{ErrorKind::invalid, fmt::format("hostname lookup '{}' failed - no such node", node), false};
    }
    if (unreachable_.contains(node)) {
        return Error{ErrorKind::unavailable, fmt::format("595 No route to host (node {})", node), false};
    }
    return std::nullopt;
}

Result<FakeVm*> FakeProxmoxApi::find_vm(const std::string& node, Vmid vmid) {
    if (auto error = check_node(node)) return std::unexpected(*error);
    auto it = vms_.find(vmid);
    if (it == vms_.end() || it->second.node != node || it->second.type != "qemu") {
        return std::unexpected(not_found_on(node, vmid));
    }
    return &it->second;
}

std::string FakeProxmoxApi::new_task(const std::string& node, const std::string& type, Vmid vmid,
                                     const std::string& id, ProxmoxMethod method, bool& effect) {
    auto upid = fmt::format("UPID:{}:{:08X}:00000000:00000000:{}:{}:dnsctl@pve!dnsctl:", node, ++task_counter_,
                            type, id);
    Task task;
    task.node = node;
    task.type = type;
    task.vmid = vmid;
    task.id = id;
    task.status.upid = upid;
    task.status.running = false;
    task.status.exitstatus = "OK";
    effect = true;
    if (auto it = next_exitstatus_.find(method); it != next_exitstatus_.end()) {
        task.status.exitstatus = it->second;
        next_exitstatus_.erase(it);
        effect = task.status.succeeded();
    }
    task.log.push_back(effect ? "TASK OK" : "TASK ERROR: " + task.status.exitstatus);
    tasks_[upid] = std::move(task);
    task_order_.push_back(upid);
    return upid;
}

std::string FakeProxmoxApi::new_mac() {
    ++mac_counter_;
    return fmt::format("BC:24:11:00:{:02X}:{:02X}", (mac_counter_ >> 8) & 0xff, mac_counter_ & 0xff);
}

// ---- ProxmoxApi

Result<std::vector<NodeSummary>> FakeProxmoxApi::list_nodes() {
    std::lock_guard lock(mutex_);
    if (auto error = enter(ProxmoxMethod::list_nodes)) return std::unexpected(*error);
    std::vector<NodeSummary> out;
    for (const auto& [node, status] : nodes_) out.push_back(NodeSummary{node, status});
    return out;
}

Result<std::vector<VmSummary>> FakeProxmoxApi::list_vms() {
    std::lock_guard lock(mutex_);
    if (auto error = enter(ProxmoxMethod::list_vms)) return std::unexpected(*error);
    std::vector<VmSummary> out;
    for (const auto& [vmid, vm] : vms_) {
        VmSummary summary;
        summary.vmid = vmid;
        summary.type = vm.type;
        summary.node = vm.node;
        summary.status = unreachable_.contains(vm.node) ? "unknown" : vm.status;
        auto get = [&](const char* key) {
            auto it = vm.config.find(key);
            return it == vm.config.end() ? std::string() : it->second;
        };
        summary.name = get("name");
        summary.is_template = vm.is_template;
        summary.tags = get("tags");
        if (auto l = get("lock"); !l.empty()) summary.lock = l;
        out.push_back(std::move(summary));
    }
    return out;
}

Result<VmConfig> FakeProxmoxApi::get_config(const std::string& node, Vmid vmid) {
    std::lock_guard lock(mutex_);
    if (auto error = enter(ProxmoxMethod::get_config)) return std::unexpected(*error);
    auto vm = find_vm(node, vmid);
    if (!vm) return std::unexpected(vm.error());
    auto config = (*vm)->config;
    config["digest"] = config_digest((*vm)->config);
    return config;
}

Result<std::vector<CloudinitEntry>> FakeProxmoxApi::get_cloudinit(const std::string& node, Vmid vmid) {
    std::lock_guard lock(mutex_);
    if (auto error = enter(ProxmoxMethod::get_cloudinit)) return std::unexpected(*error);
    auto vm = find_vm(node, vmid);
    if (!vm) return std::unexpected(vm.error());
    std::vector<CloudinitEntry> out;
    std::set<std::string> keys;
    for (const auto& [key, value] : (*vm)->config) {
        if (kCloudinitKeys.contains(key)) keys.insert(key);
    }
    for (const auto& [key, value] : (*vm)->cloudinit_image) keys.insert(key);
    for (const auto& key : keys) {
        CloudinitEntry entry;
        entry.key = key;
        auto image = (*vm)->cloudinit_image.find(key);
        auto config = (*vm)->config.find(key);
        if (image != (*vm)->cloudinit_image.end()) entry.value = image->second;
        if (config == (*vm)->config.end()) {
            entry.deleted = image != (*vm)->cloudinit_image.end();
        } else if (image == (*vm)->cloudinit_image.end() || image->second != config->second) {
            entry.pending = config->second;
        }
        out.push_back(std::move(entry));
    }
    return out;
}

Result<std::vector<TaskSummary>> FakeProxmoxApi::active_tasks(const std::string& node, Vmid vmid) {
    std::lock_guard lock(mutex_);
    if (auto error = enter(ProxmoxMethod::active_tasks)) return std::unexpected(*error);
    if (auto error = check_node(node)) return std::unexpected(*error);
    std::vector<TaskSummary> out;
    for (const auto& upid : task_order_) {
        const auto& task = tasks_.at(upid);
        if (task.node == node && task.status.running && task.id == std::to_string(vmid.value)) {
            out.push_back(TaskSummary{upid, task.type, task.id, "running"});
        }
    }
    return out;
}

Result<std::string> FakeProxmoxApi::clone(const std::string& node, Vmid source, const CloneRequest& request) {
    std::lock_guard lock(mutex_);
    if (auto error = enter(ProxmoxMethod::clone)) return std::unexpected(*error);
    if (auto error = check_node(node)) return std::unexpected(*error);
    auto src = vms_.find(source);
    if (src == vms_.end() || src->second.node != node) {
        return fail(ErrorKind::not_found,
                    fmt::format("unable to find configuration file for VM {} on node '{}'", source.value, node));
    }
    if (vms_.contains(request.newid)) {
        return fail(ErrorKind::conflict, fmt::format("VM {} already exists", request.newid.value));
    }
    if (!request.full && request.storage) {
        return fail(ErrorKind::invalid, "parameter 'storage' not allowed for linked clones");
    }
    FakeVm copy;
    copy.node = node;
    copy.status = "stopped";
    copy.config = src->second.config;
    copy.config.erase("template");
    copy.config.erase("lock");
    copy.config["name"] = request.name.empty() ? "Copy-of-VM-" + copy.config["name"] : request.name;
    if (!request.description.empty()) copy.config["description"] = request.description;
    for (auto& [key, value] : copy.config) {
        if (key.rfind("net", 0) == 0) {
            auto comma = value.find(',');
            auto first = value.substr(0, comma);
            auto model = first.substr(0, first.find('='));
            value = model + "=" + new_mac() + (comma == std::string::npos ? "" : value.substr(comma));
        }
    }
    bool effect = true;
    auto upid = new_task(node, "qmclone", request.newid, std::to_string(source.value), ProxmoxMethod::clone, effect);
    if (!effect) return upid;
    if (clone_in_flight_) {
        auto& task = tasks_.at(upid);
        task.status.running = true;
        task.status.exitstatus.clear();
        task.log.pop_back();
        task.pending_clone = std::move(copy);
        FakeVm placeholder;
        placeholder.node = node;
        placeholder.config = {{"lock", "clone"}};
        vms_[request.newid] = std::move(placeholder);
    } else {
        vms_[request.newid] = std::move(copy);
    }
    return upid;
}

Result<void> FakeProxmoxApi::update_config(const std::string& node, Vmid vmid, const ConfigUpdate& update) {
    std::lock_guard lock(mutex_);
    if (auto error = enter(ProxmoxMethod::update_config)) return std::unexpected(*error);
    auto vm = find_vm(node, vmid);
    if (!vm) return std::unexpected(vm.error());
    auto& config = (*vm)->config;
    if (update.digest && *update.digest != config_digest(config)) {
        return fail(ErrorKind::conflict, "checksum mismatch (file change by other user?)");
    }
    if (auto it = config.find("lock"); it != config.end()) {
        return fail(ErrorKind::unavailable, fmt::format("VM is locked ({})", it->second));
    }
    if (update.set.empty() && update.remove.empty()) return fail(ErrorKind::invalid, "no options specified");
    if (auto it = update.set.find("sshkeys"); it != update.set.end()) {
        static const std::regex kEncoded(R"(^[-%a-zA-Z0-9_.!~*'()]*$)");
        if (!std::regex_match(it->second, kEncoded)) {
            return fail(ErrorKind::invalid, "sshkeys: invalid format - invalid urlencoded string");
        }
        auto decoded = url_decode(it->second);
        std::size_t start = 0;
        while (start < decoded.size()) {
            auto end = decoded.find('\n', start);
            if (end == std::string::npos) end = decoded.size();
            auto line = decoded.substr(start, end - start);
            if (!line.empty() && line.rfind("ssh-", 0) != 0 && line.rfind("ecdsa-", 0) != 0) {
                return fail(ErrorKind::internal, "SSH public key validation error");
            }
            start = end + 1;
        }
    }
    for (const auto& [key, value] : update.set) {
        if (key == "tags") {
            config[key] = pve_tags(value);
        } else if (key.rfind("net", 0) == 0 && value.substr(0, value.find(',')).find('=') == std::string::npos) {
            // No MAC given: PVE generates one.
            auto comma = value.find(',');
            config[key] = value.substr(0, comma) + "=" + new_mac() +
                          (comma == std::string::npos ? "" : value.substr(comma));
        } else {
            config[key] = value;
        }
    }
    for (const auto& key : update.remove) config.erase(key);
    return {};
}

Result<std::string> FakeProxmoxApi::resize_disk(const std::string& node, Vmid vmid, const std::string& disk,
                                                const std::string& size) {
    std::lock_guard lock(mutex_);
    if (auto error = enter(ProxmoxMethod::resize_disk)) return std::unexpected(*error);
    auto vm = find_vm(node, vmid);
    if (!vm) return std::unexpected(vm.error());
    auto& config = (*vm)->config;
    auto drive = config.find(disk);
    if (drive == config.end()) return fail(ErrorKind::invalid, fmt::format("disk '{}' does not exist", disk));
    bool relative = !size.empty() && size.front() == '+';
    auto wanted = size_bytes(relative ? size.substr(1) : size);
    if (!wanted) return fail(ErrorKind::invalid, "size: value does not match the regex pattern");
    static const std::regex kSizeOption(R"(size=(\d+[KMGT]?))");
    std::smatch match;
    std::uint64_t current = 0;
    if (std::regex_search(drive->second, match, kSizeOption)) current = size_bytes(match[1].str()).value_or(0);
    auto target = relative ? current + *wanted : *wanted;
    if (target < current) next_exitstatus_[ProxmoxMethod::resize_disk] = "shrinking disks is not supported";
    bool effect = true;
    auto upid = new_task(node, "resize", vmid, std::to_string(vmid.value), ProxmoxMethod::resize_disk, effect);
    if (effect) drive->second = std::regex_replace(drive->second, kSizeOption, "size=" + size_text(target));
    return upid;
}

Result<std::string> FakeProxmoxApi::start(const std::string& node, Vmid vmid) {
    std::lock_guard lock(mutex_);
    if (auto error = enter(ProxmoxMethod::start)) return std::unexpected(*error);
    auto vm = find_vm(node, vmid);
    if (!vm) return std::unexpected(vm.error());
    if ((*vm)->config.contains("lock")) return fail(ErrorKind::unavailable, "VM is locked (clone)");
    if ((*vm)->status == "running") next_exitstatus_[ProxmoxMethod::start] = fmt::format("VM {} already running", vmid.value);
    bool effect = true;
    auto upid = new_task(node, "qmstart", vmid, std::to_string(vmid.value), ProxmoxMethod::start, effect);
    if (effect) {
        (*vm)->status = "running";
        (*vm)->cloudinit_image.clear();
        for (const auto& [key, value] : (*vm)->config) {
            if (kCloudinitKeys.contains(key)) (*vm)->cloudinit_image[key] = value;
        }
    }
    return upid;
}

Result<std::string> FakeProxmoxApi::shutdown(const std::string& node, Vmid vmid, bool force_stop) {
    std::lock_guard lock(mutex_);
    if (auto error = enter(ProxmoxMethod::shutdown)) return std::unexpected(*error);
    auto vm = find_vm(node, vmid);
    if (!vm) return std::unexpected(vm.error());
    (void)force_stop;
    bool effect = true;
    auto upid = new_task(node, "qmshutdown", vmid, std::to_string(vmid.value), ProxmoxMethod::shutdown, effect);
    if (effect) (*vm)->status = "stopped";
    return upid;
}

Result<std::string> FakeProxmoxApi::stop(const std::string& node, Vmid vmid) {
    std::lock_guard lock(mutex_);
    if (auto error = enter(ProxmoxMethod::stop)) return std::unexpected(*error);
    auto vm = find_vm(node, vmid);
    if (!vm) return std::unexpected(vm.error());
    bool effect = true;
    auto upid = new_task(node, "qmstop", vmid, std::to_string(vmid.value), ProxmoxMethod::stop, effect);
    if (effect) (*vm)->status = "stopped";
    return upid;
}

Result<std::string> FakeProxmoxApi::destroy(const std::string& node, Vmid vmid) {
    std::lock_guard lock(mutex_);
    if (auto error = enter(ProxmoxMethod::destroy)) return std::unexpected(*error);
    auto vm = find_vm(node, vmid);
    if (!vm) return std::unexpected(vm.error());
    if ((*vm)->status == "running") {
        return fail(ErrorKind::conflict, fmt::format("VM {} is running - destroy failed", vmid.value));
    }
    bool effect = true;
    auto upid = new_task(node, "qmdestroy", vmid, std::to_string(vmid.value), ProxmoxMethod::destroy, effect);
    if (effect) vms_.erase(vmid);
    return upid;
}

Result<TaskStatus> FakeProxmoxApi::task_status(const std::string& node, const std::string& upid) {
    std::lock_guard lock(mutex_);
    if (auto error = enter(ProxmoxMethod::task_status)) return std::unexpected(*error);
    if (auto error = check_node(node)) return std::unexpected(*error);
    auto it = tasks_.find(upid);
    if (it == tasks_.end() || it->second.node != node) return fail(ErrorKind::invalid, "no such task");
    return it->second.status;
}

Result<std::vector<std::string>> FakeProxmoxApi::task_log(const std::string& node, const std::string& upid) {
    std::lock_guard lock(mutex_);
    if (auto error = enter(ProxmoxMethod::task_log)) return std::unexpected(*error);
    if (auto error = check_node(node)) return std::unexpected(*error);
    auto it = tasks_.find(upid);
    if (it == tasks_.end() || it->second.node != node) return fail(ErrorKind::invalid, "no such task");
    return it->second.log;
}

Result<std::string> FakeProxmoxApi::agent_file_read(const std::string& node, Vmid vmid, const std::string& path) {
    std::lock_guard lock(mutex_);
    if (auto error = enter(ProxmoxMethod::agent_file_read)) return std::unexpected(*error);
    auto vm = find_vm(node, vmid);
    if (!vm) return std::unexpected(vm.error());
    auto agent = (*vm)->config.find("agent");
    if (agent == (*vm)->config.end() || agent->second.rfind("0", 0) == 0) {
        return fail(ErrorKind::invalid, "No QEMU guest agent configured");
    }
    if ((*vm)->status != "running") return fail(ErrorKind::unavailable, "QEMU guest agent is not running");
    auto file = (*vm)->files.find(path);
    if (file == (*vm)->files.end()) {
        return fail(ErrorKind::internal, fmt::format("Agent error: can't open file '{}'", path));
    }
    return file->second;
}

}  // namespace dnsctl
