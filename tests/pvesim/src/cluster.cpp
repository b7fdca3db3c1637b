#include "cluster.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <regex>

#include <fmt/format.h>

#include "values.hpp"

namespace pvesim {

using nlohmann::json;

namespace {

const std::regex kDiskKey(R"((ide|sata|scsi|virtio)\d+|efidisk0|tpmstate0)");
const std::regex kIndexedKey(R"(([a-z]+)(\d+))");

// Options PVE applies at once on a running VM; everything else waits in
// [PENDING] until the next full stop/start.
bool hot_option(std::string_view key) {
    static const std::set<std::string, std::less<>> fast = {
        "name", "description", "tags", "onboot", "protection", "startup", "hookscript", "lock", "vmstatestorage",
        "ciuser", "cipassword", "citype", "ciupgrade", "cicustom", "nameserver", "searchdomain", "sshkeys", "shares",
    };
    if (fast.count(key)) return true;
    std::string text(key);
    return text.rfind("ipconfig", 0) == 0 || text.rfind("net", 0) == 0 || std::regex_match(text, kDiskKey);
}

std::string sha1_hex(std::string_view data) {
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
    std::string out;
    for (unsigned char c : digest) out += fmt::format("{:02x}", c);
    return out;
}

std::string volume_of(const std::string& drive_value) {
    auto comma = drive_value.find(',');
    return drive_value.substr(0, comma);
}

std::string storage_of(const std::string& volume) {
    auto colon = volume.find(':');
    return colon == std::string::npos ? std::string() : volume.substr(0, colon);
}

std::string task_type(TaskJob::Kind kind) {
    switch (kind) {
        case TaskJob::Kind::clone: return "qmclone";
        case TaskJob::Kind::config: return "qmconfig";
        case TaskJob::Kind::resize: return "resize";
        case TaskJob::Kind::start: return "qmstart";
        case TaskJob::Kind::stop: return "qmstop";
        case TaskJob::Kind::shutdown: return "qmshutdown";
        case TaskJob::Kind::reboot: return "qmreboot";
        case TaskJob::Kind::destroy: return "qmdestroy";
    }
    return "unknown";
}

std::string format_gib(std::uint64_t bytes) { return fmt::format("{:.2f} GiB", static_cast<double>(bytes) / (1ULL << 30)); }

}  // namespace

bool is_disk_key(std::string_view key) { return std::regex_match(std::string(key), kDiskKey); }

bool is_cloudinit_key(std::string_view key) {
    static const std::set<std::string, std::less<>> keys = {"ciuser", "cipassword", "citype", "ciupgrade", "cicustom",
                                                            "nameserver", "searchdomain", "sshkeys", "name"};
    if (keys.count(key)) return true;
    std::string text(key);
    std::smatch m;
    if (!std::regex_match(text, m, kIndexedKey)) return false;
    return m[1] == "ipconfig" || m[1] == "net";
}

bool is_cdrom(std::string_view drive_value) {
    std::string text(drive_value);
    return text.find("media=cdrom") != std::string::npos || text.rfind("cdrom", 0) == 0 || text.rfind("none", 0) == 0;
}

ApiError ApiError::param(ErrorMap errors) { return ApiError{400, "Parameter verification failed.", std::move(errors)}; }

ApiError ApiError::server(std::string message) { return ApiError{500, std::move(message), {}}; }

ApiError ApiError::forbidden(std::string path, std::string privileges) {
    return ApiError{403, fmt::format("Permission check failed ({}, {})", path, privileges), {}};
}

bool StorageSpec::available_on(const std::string& node) const {
    return nodes.empty() || std::find(nodes.begin(), nodes.end(), node) != nodes.end();
}

bool StorageSpec::supports_linked_clone() const {
    return type == "lvmthin" || type == "dir" || type == "nfs" || type == "zfspool" || type == "rbd";
}

ClusterState::ClusterState(ClusterSpec spec, Clock& clock, const Schema& schema)
    : spec_(std::move(spec)), clock_(clock), schema_(schema) {}

const NodeSpec* ClusterState::node(std::string_view name) const {
    for (const auto& n : spec_.nodes) {
        if (n.name == name) return &n;
    }
    return nullptr;
}

Outcome<void> ClusterState::set_node_unreachable(const std::string& name, bool unreachable, const std::string& reason) {
    for (auto& n : spec_.nodes) {
        if (n.name == name) {
            n.unreachable = unreachable;
            if (!reason.empty()) n.unreachable_reason = reason;
            return {};
        }
    }
    return std::unexpected(ApiError{404, fmt::format("no such node '{}'", name), {}});
}

const StorageSpec* ClusterState::storage(std::string_view id) const {
    for (const auto& s : spec_.storages) {
        if (s.id == id) return &s;
    }
    return nullptr;
}

const PoolSpec* ClusterState::pool(std::string_view id) const {
    for (const auto& p : spec_.pools) {
        if (p.id == id) return &p;
    }
    return nullptr;
}

const Vm* ClusterState::find_vm(int vmid) const {
    auto it = vms_.find(vmid);
    return it == vms_.end() ? nullptr : &it->second;
}

Vm* ClusterState::vm_mut(int vmid) {
    auto it = vms_.find(vmid);
    return it == vms_.end() ? nullptr : &it->second;
}

const Task* ClusterState::task(std::string_view upid) const {
    for (const auto& t : tasks_) {
        if (t.upid == upid) return &t;
    }
    return nullptr;
}

Outcome<const Vm*> ClusterState::vm_on_node(int vmid, const std::string& node_name, bool on_node_message) const {
    const auto* vm = find_vm(vmid);
    if (vm && vm->node == node_name) return vm;
    if (on_node_message) {
        return std::unexpected(ApiError::server(
            fmt::format("unable to find configuration file for VM {} on node '{}'", vmid, node_name)));
    }
    return std::unexpected(ApiError::server(
        fmt::format("Configuration file 'nodes/{}/qemu-server/{}.conf' does not exist", node_name, vmid)));
}

Outcome<void> ClusterState::add_vm(int vmid, const std::string& node_name, const Config& config, bool running,
                                   const std::string& pool_id) {
    if (vms_.count(vmid)) return std::unexpected(ApiError::server(fmt::format("VM {} defined twice", vmid)));
    if (!node(node_name)) return std::unexpected(ApiError::server(fmt::format("VM {}: no node '{}'", vmid, node_name)));
    Vm vm;
    vm.vmid = vmid;
    vm.node = node_name;
    vm.running = running;
    vm.created_at = clock_.now() - spec_.timing.rrd_lag;
    vm.pool = pool_id;
    if (running) {
        vm.started_unix = clock_.unix_now();
        vm.pid = static_cast<std::uint32_t>(1000 + vmid % 30000);
    }
    for (const auto& [key, raw] : config) {
        std::string value = raw;
        if (auto error = normalise_value(vm, key, value)) {
            return std::unexpected(ApiError::server(fmt::format("VM {}: {}: {}", vmid, key, *error)));
        }
        vm.config[key] = value;
    }
    for (const auto& [key, value] : vm.config) {
        if (is_cloudinit_key(key)) vm.cloudinit_image[key] = value;
    }
    if (running) vm.running_machine = machine_to_run(vm.config);
    vms_.emplace(vmid, std::move(vm));
    return {};
}

// --- flocks ---------------------------------------------------------------------

std::string ClusterState::lock_timeout_message(int vmid) {
    return fmt::format("can't lock file '/var/lock/qemu-server/lock-{}.conf' - got timeout", vmid);
}

std::optional<TimePoint> ClusterState::flock_busy_until(int vmid, bool shared) const {
    auto now = clock_.now();
    std::optional<TimePoint> until;
    auto extend = [&](TimePoint t) {
        if (!until || t > *until) until = t;
    };
    if (auto it = manual_flocks_.find(vmid); it != manual_flocks_.end() && it->second > now) extend(it->second);
    for (const auto& t : tasks_) {
        if (!t.running || t.phase == Task::Phase::waiting_lock) continue;
        if (std::find(t.flocks.begin(), t.flocks.end(), vmid) == t.flocks.end()) continue;
        bool holder_shared = t.shared_source_lock && t.job.source == vmid;
        if (shared && holder_shared) continue;
        // A task in its hook phase has no known end: poll again shortly.
        extend(t.phase == Task::Phase::hooking ? now + Millis(100) : std::max(t.due, now + Millis(1)));
    }
    return until;
}

void ClusterState::hold_flock(int vmid, Millis duration) { manual_flocks_[vmid] = clock_.now() + duration; }

Outcome<void> ClusterState::set_lock(int vmid, const std::string& lock) {
    auto* vm = vm_mut(vmid);
    if (!vm) return std::unexpected(ApiError{404, fmt::format("no VM {}", vmid), {}});
    if (lock.empty()) {
        vm->config.erase("lock");
    } else {
        vm->config["lock"] = lock;
    }
    return {};
}

// --- values -----------------------------------------------------------------------

std::string ClusterState::new_mac(int vmid, const std::string& key) {
    ++counter_;
    return make_mac(stable_hash(fmt::format("{}\x1f{}\x1fmac\x1f{}\x1f{}\x1f{}", spec_.seed, spec_.name, vmid, key, counter_)));
}

std::set<std::string> ClusterState::used_volumes() const {
    std::set<std::string> volumes;
    for (const auto& [_, vm] : vms_) {
        for (const auto* config : {&vm.config, &vm.pending}) {
            for (const auto& [key, value] : *config) {
                if (is_disk_key(key) || key.rfind("unused", 0) == 0) {
                    auto volume = volume_of(value);
                    // linked clones: "store:base-9000-disk-0/vm-101-disk-0"
                    auto slash = volume.find('/');
                    if (slash != std::string::npos && volume.find(':') < slash) {
                        volumes.insert(storage_of(volume) + ":" + volume.substr(slash + 1));
                    }
                    volumes.insert(volume);
                }
            }
        }
    }
    return volumes;
}

std::string ClusterState::new_volume(const std::string& storage_id, int vmid, const std::string& kind) {
    if (kind == "cloudinit") return fmt::format("{}:vm-{}-cloudinit", storage_id, vmid);
    auto used = used_volumes();
    for (int k = 0;; ++k) {
        auto volume = fmt::format("{}:vm-{}-disk-{}", storage_id, vmid, k);
        if (!used.count(volume)) return volume;
    }
}

std::optional<std::string> ClusterState::normalise_value(Vm& vm, const std::string& key, std::string& value) {
    if (key == "tags") {
        value = normalise_tags(value);
        return std::nullopt;
    }
    if (key == "description") {
        value = trim_right(value);
        return std::nullopt;
    }
    if (key == "cipassword") {
        // Stored hashed; GET answers "**********".
        if (value.rfind("$5$", 0) != 0) value = "$5$pvesim$" + sha1_hex(value);
        return std::nullopt;
    }
    if (key == "sshkeys") {
        if (!is_urlencoded(value)) return fmt::format("invalid urlencoded string: {}", value);
        if (!valid_ssh_public_keys(percent_decode(value))) return "SSH public key validation error";
        return std::nullopt;
    }
    const auto* property = schema_.config_property(key);
    const auto* format = property ? schema_.property_format(*property) : nullptr;
    if (!format) return std::nullopt;
    std::string error;
    auto parsed = schema_.parse_property_string(*format, value, key, &error);
    if (!parsed) return error;
    if (key.rfind("net", 0) == 0 && key.size() > 3 && std::isdigit(static_cast<unsigned char>(key[3]))) {
        if (!parsed->count("macaddr")) (*parsed)["macaddr"] = new_mac(vm.vmid, key);
        value = schema_.print_property_string(*format, *parsed);
        return std::nullopt;
    }
    if (is_disk_key(key)) {
        auto& file = (*parsed)["file"];
        if (file == "none" || file == "cdrom" || (!file.empty() && file.front() == '/')) {
            value = schema_.print_property_string(*format, *parsed);
            return std::nullopt;
        }
        auto colon = file.find(':');
        auto storage_id = file.substr(0, colon);
        auto volname = file.substr(colon + 1);
        if (!storage(storage_id)) return fmt::format("storage '{}' does not exist", storage_id);
        if (volname == "cloudinit") {
            file = new_volume(storage_id, vm.vmid, "cloudinit");
            (*parsed)["media"] = "cdrom";
        } else if (std::regex_match(volname, std::regex(R"(\d+(\.\d+)?)"))) {
            // STORAGE:SIZE_IN_GiB allocates a new volume
            auto gib = std::stod(volname);
            file = new_volume(storage_id, vm.vmid, "disk");
            (*parsed)["size"] = format_size(static_cast<std::uint64_t>(gib * (1ULL << 30)));
        }
        value = schema_.print_property_string(*format, *parsed);
    }
    return std::nullopt;
}

// --- views --------------------------------------------------------------------------

Config ClusterState::effective_config(const Vm& vm) const {
    Config config = vm.config;
    for (const auto& key : vm.pending_delete) config.erase(key);
    for (const auto& [key, value] : vm.pending) config[key] = value;
    return config;
}

Config ClusterState::view_config(const Vm& vm, bool current) const {
    Config config = current ? vm.config : effective_config(vm);
    if (config.count("cipassword")) config["cipassword"] = "**********";
    return config;
}

std::string ClusterState::digest(const Vm& vm) const {
    // The digest is the SHA-1 of the config file: description as comments, then
    // the keys, then the [PENDING] section.
    std::string text;
    if (auto it = vm.config.find("description"); it != vm.config.end()) {
        for (const auto& line : split(it->second, '\n')) text += "#" + line + "\n";
    }
    for (const auto& [key, value] : vm.config) {
        if (key != "description") text += fmt::format("{}: {}\n", key, value);
    }
    if (!vm.pending.empty() || !vm.pending_delete.empty()) {
        text += "\n[PENDING]\n";
        for (const auto& [key, value] : vm.pending) text += fmt::format("{}: {}\n", key, value);
        if (!vm.pending_delete.empty()) {
            text += "delete: " + join(std::vector<std::string>(vm.pending_delete.begin(), vm.pending_delete.end()), ",") + "\n";
        }
    }
    return sha1_hex(text);
}

int ClusterState::next_free_vmid() const {
    for (int id = 100;; ++id) {
        if (!vms_.count(id)) return id;
    }
}

bool ClusterState::agent_enabled(const Vm& vm) const {
    auto it = vm.config.find("agent");
    if (it == vm.config.end()) return false;
    const auto* property = schema_.config_property("agent");
    const auto* format = property ? schema_.property_format(*property) : nullptr;
    if (!format) return it->second == "1";
    auto parsed = schema_.parse_property_string(*format, it->second, "agent", nullptr);
    return parsed && parsed->count("enabled") && (*parsed)["enabled"] == "1";
}

std::uint64_t ClusterState::disk_bytes(const std::string& drive_value) const {
    for (const auto& part : split(drive_value, ',')) {
        if (part.rfind("size=", 0) == 0) {
            if (auto size = parse_size(part.substr(5))) return size->bytes;
        }
    }
    return 0;
}

std::uint64_t ClusterState::memory_mib(const Config& config) const {
    auto it = config.find("memory");
    if (it == config.end()) return 512;
    auto text = it->second;
    if (text.rfind("current=", 0) == 0) text = text.substr(8);
    std::int64_t mib = 512;
    parse_int(text.substr(0, text.find(',')), mib);
    return static_cast<std::uint64_t>(mib);
}

std::string ClusterState::machine_to_run(const Config& config, const std::string& machine_parameter) const {
    auto type_of = [this](const std::string& value) -> std::string {
        const auto* property = schema_.config_property("machine");
        const auto* format = property ? schema_.property_format(*property) : nullptr;
        if (!format) return value;
        auto parsed = schema_.parse_property_string(*format, value, "machine", nullptr);
        return parsed && parsed->count("type") ? parsed->at("type") : std::string();
    };
    std::string type;
    if (!machine_parameter.empty()) {
        type = type_of(machine_parameter);
    } else if (auto it = config.find("machine"); it != config.end()) {
        type = type_of(it->second);
    }
    const auto& version = spec_.machine_version;
    if (type.empty() || type == "pc") return "pc-i440fx-" + version;
    if (type == "q35") return "pc-q35-" + version;
    if (type == "virt") return "virt-" + version;
    // A pinned version: ".pxe" only selects ROMs, "pc-X" is i440fx, and a
    // version without a PVE revision runs as revision 0.
    if (type.size() > 4 && type.compare(type.size() - 4, 4, ".pxe") == 0) type.resize(type.size() - 4);
    if (type.rfind("pc-", 0) == 0 && type.rfind("pc-i440fx-", 0) != 0 && type.rfind("pc-q35-", 0) != 0) {
        type = "pc-i440fx-" + type.substr(3);
    }
    if (type.find("+pve") == std::string::npos) type += "+pve0";
    return type;
}

std::string ClusterState::running_machine(const Vm& vm) const {
    if (!vm.running) return "";
    return vm.running_machine.empty() ? machine_to_run(vm.config) : vm.running_machine;
}

json ClusterState::cloudinit_view(const Vm& vm) const {
    json items = json::array();
    auto conf = effective_config(vm);
    auto mask = [](const std::string& key, const std::string& value) {
        return key == "cipassword" ? std::string("**********") : value;
    };
    for (const auto& [key, value] : conf) {
        if (!is_cloudinit_key(key)) continue;
        json item = {{"key", key}};
        auto image = vm.cloudinit_image.find(key);
        if (image == vm.cloudinit_image.end()) {
            item["pending"] = mask(key, value);
        } else if (image->second != value) {
            item["value"] = mask(key, image->second);
            item["pending"] = mask(key, value);
        } else {
            item["value"] = mask(key, value);
        }
        items.push_back(item);
    }
    for (const auto& [key, _] : vm.cloudinit_image) {
        if (!conf.count(key)) items.push_back({{"key", key}, {"delete", 1}});
    }
    return items;
}

json ClusterState::pending_view(const Vm& vm) const {
    auto typed = [this](const std::string& key, const std::string& value) -> json {
        if (key == "cipassword") return "**********";
        auto type = schema_.config_value_type(key);
        std::int64_t i = 0;
        double d = 0;
        if ((type == "integer" || type == "boolean") && parse_int(value, i)) return i;
        if (type == "number" && parse_number(value, d)) return d;
        return value;
    };
    json items = json::array();
    std::set<std::string> keys;
    for (const auto& [key, _] : vm.config) keys.insert(key);
    for (const auto& [key, _] : vm.pending) keys.insert(key);
    keys.insert(vm.pending_delete.begin(), vm.pending_delete.end());
    for (const auto& key : keys) {
        json item = {{"key", key}};
        if (auto it = vm.config.find(key); it != vm.config.end()) item["value"] = typed(key, it->second);
        if (auto it = vm.pending.find(key); it != vm.pending.end()) item["pending"] = typed(key, it->second);
        if (vm.pending_delete.count(key)) item["delete"] = 1;
        items.push_back(item);
    }
    return items;
}

// --- configuration changes -------------------------------------------------------------

std::optional<std::string> ClusterState::apply_update(Vm& vm, const ConfigUpdate& update, bool running) {
    if (update.digest && !update.digest->empty() && *update.digest != digest(vm)) {
        return "checksum mismatch (file change by other user?)";
    }
    if (!update.skiplock) {
        if (auto it = vm.config.find("lock"); it != vm.config.end()) return fmt::format("VM is locked ({})", it->second);
    }
    if (update.set.empty() && update.deletes.empty() && update.reverts.empty()) return "no options specified";
    Config set = update.set;
    // `cdrom` is an alias of ide2 as a CD-ROM drive.
    if (auto it = set.find("cdrom"); it != set.end()) {
        auto value = it->second;
        set.erase(it);
        if (!set.count("ide2")) set["ide2"] = value.find("media=") == std::string::npos ? value + ",media=cdrom" : value;
    }
    // Normalise everything first so a bad value changes nothing.
    Config values;
    for (const auto& [key, raw] : set) {
        std::string value = raw;
        if (auto error = normalise_value(vm, key, value)) return *error;
        values[key] = value;
    }
    // A boot order names devices the VM has (or gets in this update) and is
    // stored as "order=a;b".
    if (auto it = values.find("boot"); it != values.end()) {
        auto parsed = schema_.parse_property_string(*named_property_format("pve-qm-boot"), it->second, "boot", nullptr);
        if (parsed && parsed->count("order")) {
            auto conf = effective_config(vm);
            auto devices = split_list(parsed->at("order"));
            for (const auto& device : devices) {
                bool exists = conf.count(device) || values.count(device);
                bool deleted = std::find(update.deletes.begin(), update.deletes.end(), device) != update.deletes.end();
                if (!exists || deleted) return fmt::format("invalid bootorder: device '{}' does not exist'", device);
            }
            it->second = devices.empty() ? std::string() : "order=" + join(devices, ";");
        }
    }
    for (const auto& key : update.reverts) {
        vm.pending.erase(key);
        vm.pending_delete.erase(key);
    }
    for (const auto& key : update.deletes) {
        if (running && !hot_option(key)) {
            vm.pending.erase(key);
            vm.pending_delete.insert(key);
            continue;
        }
        auto it = vm.config.find(key);
        if (it == vm.config.end()) continue;
        if (is_disk_key(key) && !is_cdrom(it->second) && !update.force) {
            // a removed disk becomes unusedN
            for (int n = 0;; ++n) {
                auto unused = fmt::format("unused{}", n);
                if (!vm.config.count(unused)) {
                    vm.config[unused] = volume_of(it->second);
                    break;
                }
            }
        }
        vm.config.erase(it);
        vm.pending.erase(key);
    }
    for (const auto& [key, value] : values) {
        if (running && !hot_option(key)) {
            vm.pending[key] = value;
            vm.pending_delete.erase(key);
        } else {
            vm.config[key] = value;
            vm.pending.erase(key);
            vm.pending_delete.erase(key);
        }
    }
    return std::nullopt;
}

Outcome<void> ClusterState::update_config(int vmid, const ConfigUpdate& update) {
    auto* vm = vm_mut(vmid);
    if (!vm) return std::unexpected(ApiError::server(fmt::format("VM {} does not exist", vmid)));
    if (auto error = apply_update(*vm, update, vm->running)) return std::unexpected(ApiError::server(*error));
    return {};
}

void ClusterState::apply_pending(Vm& vm) {
    for (const auto& key : vm.pending_delete) vm.config.erase(key);
    for (const auto& [key, value] : vm.pending) vm.config[key] = value;
    vm.pending.clear();
    vm.pending_delete.clear();
}

void ClusterState::regenerate(Vm& vm) {
    vm.cloudinit_image.clear();
    for (const auto& [key, value] : vm.config) {
        if (is_cloudinit_key(key)) vm.cloudinit_image[key] = value;
    }
}

Outcome<void> ClusterState::regenerate_cloudinit(int vmid) {
    auto* vm = vm_mut(vmid);
    if (!vm) return std::unexpected(ApiError::server(fmt::format("VM {} does not exist", vmid)));
    // Regenerating writes the values of the config as it stands (pending cloud-init
    // keys included), like qemu-server's cloudinit_update.
    auto conf = effective_config(*vm);
    vm->cloudinit_image.clear();
    for (const auto& [key, value] : conf) {
        if (is_cloudinit_key(key)) vm->cloudinit_image[key] = value;
    }
    return {};
}

// --- tasks ----------------------------------------------------------------------------

Task& ClusterState::new_task(const std::string& node_name, const std::string& type, const std::string& id,
                             const TaskOptions& options, TaskJob job, std::vector<int> flocks, Millis work) {
    ++counter_;
    Task task;
    task.node = node_name;
    task.type = type;
    task.id = id;
    task.user = options.user;
    task.pid = static_cast<std::uint32_t>(0x10000 + (stable_hash(fmt::format("{}pid{}", spec_.name, counter_)) % 0x3ff000));
    task.pstart = static_cast<std::uint32_t>(0x100000 + counter_ * 7);
    task.starttime = clock_.unix_now();
    task.upid = fmt::format("UPID:{}:{:08X}:{:08X}:{:08X}:{}:{}:{}:", node_name, task.pid, task.pstart,
                            static_cast<std::uint32_t>(task.starttime), type, id, options.user);
    task.job = std::move(job);
    task.flocks = std::move(flocks);
    task.work = work;
    task.fail_message = options.fail;
    task.warnings = options.warnings;
    task.shared_source_lock = task.job.kind == TaskJob::Kind::clone && [&] {
        const auto* source = find_vm(task.job.source);
        return source && !source->running;
    }();
    tasks_.push_back(std::move(task));
    auto& t = tasks_.back();
    // Wait for the config flocks this task needs (they are taken in the worker).
    // The task is already listed but holds nothing while it waits.
    t.phase = Task::Phase::waiting_lock;
    bool busy = false;
    for (int vmid : t.flocks) {
        bool shared = t.shared_source_lock && vmid == t.job.source;
        if (flock_busy_until(vmid, shared)) busy = true;
    }
    if (busy) {
        t.phase = Task::Phase::waiting_lock;
        auto wait = t.job.kind == TaskJob::Kind::clone ? spec_.timing.clone_lock_wait : spec_.timing.config_lock_wait;
        t.lock_deadline = clock_.now() + wait;
    } else {
        begin(t);
    }
    // Old history goes; PVE keeps a bounded task archive too.
    while (tasks_.size() > 2000 && !tasks_.front().running) tasks_.pop_front();
    return tasks_.back();
}

std::optional<std::string> ClusterState::begin_checks(Task& task) {
    auto* vm = vm_mut(task.job.vmid);
    if (!vm) return fmt::format("Configuration file 'nodes/{}/qemu-server/{}.conf' does not exist", task.node, task.job.vmid);
    auto locked = [&]() -> std::optional<std::string> {
        if (task.job.skiplock) return std::nullopt;
        if (auto it = vm->config.find("lock"); it != vm->config.end()) return fmt::format("VM is locked ({})", it->second);
        return std::nullopt;
    };
    switch (task.job.kind) {
        case TaskJob::Kind::clone: return std::nullopt;
        case TaskJob::Kind::config: {
            // POST config: the worker does what PUT does synchronously.
            ConfigUpdate update{task.job.set, task.job.deletes, task.job.reverts, task.job.digest, task.job.skiplock, false};
            return apply_update(*vm, update, vm->running);
        }
        case TaskJob::Kind::resize: {
            if (task.job.digest && !task.job.digest->empty() && *task.job.digest != digest(*vm)) {
                return "checksum mismatch (file change by other user?)";
            }
            if (auto error = locked()) return error;
            auto conf = effective_config(*vm);
            auto it = conf.find(task.job.disk);
            if (it == conf.end()) return fmt::format("disk '{}' does not exist", task.job.disk);
            if (is_cdrom(it->second)) return "you can't resize a cdrom";
            return std::nullopt;
        }
        case TaskJob::Kind::start: {
            if (auto error = locked()) return error;
            if (vm->config.count("template") && vm->config["template"] == "1") {
                return "you can't start a vm if it's a template";
            }
            if (vm->running) return fmt::format("VM {} already running", vm->vmid);
            auto conf = effective_config(*vm);
            const auto* n = node(vm->node);
            for (const auto& [key, value] : conf) {
                if (key.rfind("net", 0) != 0 || !std::isdigit(static_cast<unsigned char>(key.back()))) continue;
                for (const auto& part : split(value, ',')) {
                    if (part.rfind("bridge=", 0) != 0) continue;
                    auto bridge = part.substr(7);
                    if (!n || std::find(n->bridges.begin(), n->bridges.end(), bridge) == n->bridges.end()) {
                        return fmt::format("bridge '{}' does not exist", bridge);
                    }
                }
            }
            return std::nullopt;
        }
        case TaskJob::Kind::stop:
        case TaskJob::Kind::shutdown:
            return locked();
        case TaskJob::Kind::reboot:
            if (auto error = locked()) return error;
            if (!vm->running) return fmt::format("VM {} not running", vm->vmid);
            return std::nullopt;
        case TaskJob::Kind::destroy:
            if (auto error = locked()) return error;
            if (vm->running) return fmt::format("VM {} is running - destroy failed", vm->vmid);
            return std::nullopt;
    }
    return std::nullopt;
}

void ClusterState::begin(Task& task) {
    task.phase = Task::Phase::working;
    task.due = clock_.now() + task.work;
    if (auto error = begin_checks(task)) {
        task.fail_message = *error;
        task.due = clock_.now();
    }
}

std::string ClusterState::hook_event_for(const Task& task) const {
    switch (task.job.kind) {
        case TaskJob::Kind::start: return "start";
        case TaskJob::Kind::stop:
        case TaskJob::Kind::shutdown: return "stop";
        case TaskJob::Kind::reboot: return "reboot";
        case TaskJob::Kind::destroy: return "delete";
        default: return "";
    }
}

void ClusterState::finish(Task& task, std::optional<std::string> error) {
    task.running = false;
    task.phase = Task::Phase::done;
    task.endtime = clock_.unix_now();
    if (error) {
        task.exitstatus = *error;
        task.log.push_back("TASK ERROR: " + *error);
    } else if (task.warnings > 0) {
        for (int i = 1; i <= task.warnings; ++i) task.log.push_back(fmt::format("WARN: simulated warning {}", i));
        task.exitstatus = fmt::format("WARNINGS: {}", task.warnings);
        task.log.push_back("TASK " + task.exitstatus);
    } else {
        task.exitstatus = "OK";
        task.log.push_back("TASK OK");
    }
}

void ClusterState::complete(Task& task, TickResult& result) {
    result.changed = true;
    auto* vm = vm_mut(task.job.vmid);
    auto fail_clone_cleanup = [&] {
        if (task.job.kind == TaskJob::Kind::clone && vm) {
            vms_.erase(task.job.vmid);
            vm = nullptr;
        }
    };
    if (task.fail_message) {
        fail_clone_cleanup();
        if (task.job.kind == TaskJob::Kind::clone && task.fail_message->rfind("clone failed", 0) != 0) {
            finish(task, "clone failed: " + *task.fail_message);
        } else {
            finish(task, task.fail_message);
        }
        return;
    }
    if (task.hook_error) {
        finish(task, task.hook_error);
        return;
    }
    if (!vm) {
        finish(task, fmt::format("Configuration file 'nodes/{}/qemu-server/{}.conf' does not exist", task.node, task.job.vmid));
        return;
    }
    switch (task.job.kind) {
        case TaskJob::Kind::clone: {
            vm->config.erase("lock");
            if (!task.job.target_node.empty()) vm->node = task.job.target_node;
            vm->pool = task.job.pool;
            break;
        }
        case TaskJob::Kind::config: break;
        case TaskJob::Kind::resize: {
            auto& config = vm->pending.count(task.job.disk) ? vm->pending : vm->config;
            auto& value = config[task.job.disk];
            auto current = disk_bytes(value);
            auto spec = parse_size(task.job.size);
            std::uint64_t target = spec->relative ? current + spec->bytes : spec->bytes;
            if (target < current) {
                finish(task, "shrinking disks is not supported");
                return;
            }
            if (target != current) {
                auto volume = volume_of(value);
                task.log.push_back(fmt::format("  Size of logical volume {} changed from {} to {}.", volume,
                                               format_gib(current), format_gib(target)));
                std::vector<std::string> parts;
                bool replaced = false;
                for (auto& part : split(value, ',')) {
                    if (part.rfind("size=", 0) == 0) {
                        part = "size=" + format_size(target);
                        replaced = true;
                    }
                    parts.push_back(part);
                }
                if (!replaced) parts.push_back("size=" + format_size(target));
                value = join(parts, ",");
            }
            break;
        }
        case TaskJob::Kind::start:
            apply_pending(*vm);
            regenerate(*vm);
            vm->running = true;
            vm->running_machine = machine_to_run(vm->config, task.job.machine);
            vm->started_unix = clock_.unix_now();
            vm->pid = static_cast<std::uint32_t>(0x1000 + (stable_hash(task.upid) % 0x3fffff));
            vm->agent_ready_at = clock_.now() + spec_.timing.agent_ready;
            break;
        case TaskJob::Kind::stop:
        case TaskJob::Kind::shutdown:
            vm->running = false;
            vm->pid = 0;
            vm->running_machine.clear();
            apply_pending(*vm);
            break;
        case TaskJob::Kind::reboot:
            apply_pending(*vm);
            regenerate(*vm);
            vm->running_machine = machine_to_run(vm->config);
            vm->started_unix = clock_.unix_now();
            vm->agent_ready_at = clock_.now() + spec_.timing.agent_ready;
            break;
        case TaskJob::Kind::destroy:
            for (const auto& [key, value] : vm->config) {
                if ((is_disk_key(key) && !is_cdrom(value)) || key.rfind("unused", 0) == 0 ||
                    value.find("cloudinit") != std::string::npos) {
                    auto volume = volume_of(value);
                    auto colon = volume.find(':');
                    task.log.push_back(fmt::format("  Logical volume \"{}\" successfully removed.", volume.substr(colon + 1)));
                }
            }
            result.destroyed.push_back(vm->vmid);
            vms_.erase(task.job.vmid);
            break;
    }
    finish(task, std::nullopt);
}

TickResult ClusterState::tick() {
    TickResult result;
    auto now = clock_.now();
    bool progress = true;
    while (progress) {  // a finished task may free a flock another task waits for
        progress = false;
        for (auto& task : tasks_) {
            if (!task.running) continue;
            if (task.phase == Task::Phase::waiting_lock) {
                bool busy = false;
                for (int vmid : task.flocks) {
                    bool shared = task.shared_source_lock && vmid == task.job.source;
                    if (flock_busy_until(vmid, shared)) busy = true;
                }
                if (!busy) {
                    begin(task);
                    progress = true;
                } else if (now >= task.lock_deadline) {
                    auto vmid = task.flocks.empty() ? task.job.vmid : task.flocks.front();
                    task.fail_message = lock_timeout_message(vmid);
                    complete(task, result);
                    progress = true;
                    continue;
                } else {
                    continue;
                }
            }
            if (task.phase == Task::Phase::working && now >= task.due) {
                auto event = hook_event_for(task);
                if (!task.fail_message && !task.hook_ran && !event.empty() && spec_.hook_events.count(event)) {
                    const auto* vm = find_vm(task.job.vmid);
                    if (vm) {
                        task.phase = Task::Phase::hooking;
                        task.hook_ran = true;
                        task.hook_event = event;
                        result.hooks.push_back(HookCall{task.upid, event, vm->vmid, vm->node, effective_config(*vm)});
                        progress = true;
                        continue;
                    }
                }
                complete(task, result);
                progress = true;
            }
        }
    }
    return result;
}

void ClusterState::hook_finished(const std::string& upid, std::optional<std::string> error) {
    for (auto& task : tasks_) {
        if (task.upid == upid && task.phase == Task::Phase::hooking) {
            task.hook_error = std::move(error);
            task.phase = Task::Phase::working;
            task.due = clock_.now();
            task.hook_event.reset();
            // complete() runs on the next tick: the caller ticks right after.
            return;
        }
    }
}

std::optional<TimePoint> ClusterState::next_deadline() const {
    std::optional<TimePoint> next;
    auto consider = [&](TimePoint t) {
        if (!next || t < *next) next = t;
    };
    for (const auto& task : tasks_) {
        if (!task.running) continue;
        if (task.phase == Task::Phase::working) consider(task.due);
        if (task.phase == Task::Phase::waiting_lock) {
            consider(task.lock_deadline);
            for (int vmid : task.flocks) {
                if (auto until = flock_busy_until(vmid, task.shared_source_lock && vmid == task.job.source)) consider(*until);
            }
        }
    }
    return next;
}

Outcome<void> ClusterState::stop_task(std::string_view upid) {
    for (auto& task : tasks_) {
        if (task.upid != upid) continue;
        if (!task.running) return {};
        task.fail_message = "interrupted by signal";
        TickResult ignored;
        complete(task, ignored);
        return {};
    }
    return std::unexpected(ApiError::param({{"upid", "no such task"}}));
}

// --- operations --------------------------------------------------------------------------

Outcome<std::string> ClusterState::clone(const CloneArgs& args, const TaskOptions& options) {
    auto found = vm_on_node(args.source, args.node, true);
    if (!found) return std::unexpected(found.error());
    const Vm& source = **found;
    if (args.storage) {
        const auto* s = storage(*args.storage);
        if (!s) return std::unexpected(ApiError::server(fmt::format("storage '{}' does not exist", *args.storage)));
        if (!s->available_on(args.node)) {
            return std::unexpected(ApiError::server(fmt::format("storage '{}' is not available on node '{}'", *args.storage, args.node)));
        }
        if (args.target) {
            if (!s->available_on(*args.target)) {
                return std::unexpected(ApiError::server(fmt::format("storage '{}' is not available on node '{}'", *args.storage, *args.target)));
            }
            if (!s->shared) return std::unexpected(ApiError::server(fmt::format("can't clone to non-shared storage '{}'", *args.storage)));
        }
    }
    if (args.target && !node(*args.target)) {
        return std::unexpected(ApiError::server(fmt::format("no such cluster node '{}'", *args.target)));
    }
    if (args.pool && !pool(*args.pool)) {
        return std::unexpected(ApiError::server(fmt::format("pool '{}' does not exist", *args.pool)));
    }
    if (auto it = source.config.find("lock"); it != source.config.end()) {
        return std::unexpected(ApiError::server(fmt::format("VM is locked ({})", it->second)));
    }
    if (args.snapname) return std::unexpected(ApiError::server(fmt::format("snapshot '{}' does not exist", *args.snapname)));
    bool is_template = source.config.count("template") && source.config.at("template") == "1";
    bool full = args.full.value_or(!is_template);
    if (args.storage && !full) return std::unexpected(ApiError::server("parameter 'storage' not allowed for linked clones"));
    if (args.format && !full) return std::unexpected(ApiError::server("parameter 'format' not allowed for linked clones"));
    bool shared_vm = true;
    for (const auto& [key, value] : source.config) {
        if (!is_disk_key(key) || is_cdrom(value)) continue;
        const auto* s = storage(storage_of(volume_of(value)));
        if (!s || !s->shared) shared_vm = false;
    }
    if (args.storage) shared_vm = storage(*args.storage)->shared;
    if (args.target && *args.target != args.node && !shared_vm) {
        return std::unexpected(ApiError::server(fmt::format("can't clone VM to node '{}' (VM uses local storage)", *args.target)));
    }
    if (vms_.count(args.newid)) {
        return std::unexpected(ApiError::server(fmt::format("unable to create VM {}: config file already exists", args.newid)));
    }
    if (!full) {
        for (const auto& [key, value] : source.config) {
            if (!is_disk_key(key) || is_cdrom(value)) continue;
            const auto* s = storage(storage_of(volume_of(value)));
            if (!is_template || !s || !s->supports_linked_clone()) {
                return std::unexpected(ApiError::server(fmt::format("Linked clone feature is not supported for drive '{}'", key)));
            }
        }
    }

    // The new VM: a copy of the source with new volumes, MACs and UUIDs, locked
    // until the worker finishes.
    Vm vm;
    vm.vmid = args.newid;
    vm.node = args.node;
    vm.created_at = clock_.now();
    std::vector<std::string> log;
    for (const auto& [key, value] : source.config) {
        if (key.rfind("unused", 0) == 0 || key == "template" || key == "lock") continue;
        vm.config[key] = value;
    }
    vms_.emplace(args.newid, vm);
    Vm& fresh = vms_.at(args.newid);
    for (auto& [key, value] : fresh.config) {
        if (key.rfind("net", 0) == 0 && std::isdigit(static_cast<unsigned char>(key.back()))) {
            std::vector<std::string> parts;
            for (const auto& part : split(value, ',')) {
                auto eq = part.find('=');
                if (!parts.empty() || eq == std::string::npos) {
                    if (part.rfind("macaddr=", 0) != 0) parts.push_back(part);
                    continue;
                }
                parts.push_back(part.substr(0, eq));  // model only: a new MAC is generated below
            }
            value = join(parts, ",");
            std::string normalised = value;
            normalise_value(fresh, key, normalised);
            value = normalised;
        } else if (is_disk_key(key)) {
            auto volume = volume_of(value);
            auto rest = value.substr(volume.size());
            auto store = storage_of(volume);
            if (value.find("cloudinit") != std::string::npos) {
                value = new_volume(args.storage.value_or(store), args.newid, "cloudinit") + rest;
            } else if (is_cdrom(value)) {
                continue;
            } else if (full) {
                auto target_store = args.storage.value_or(store);
                log.push_back(fmt::format("create full clone of drive {} ({})", key, volume));
                auto new_vol = new_volume(target_store, args.newid, "disk");
                value = new_vol + rest;
                auto bytes = disk_bytes(value);
                log.push_back(fmt::format("transferred {} of {} (100.00%)", format_gib(bytes), format_gib(bytes)));
            } else {
                log.push_back(fmt::format("create linked clone of drive {} ({})", key, volume));
                auto own = new_volume(store, args.newid, "disk");
                value = fmt::format("{}:{}/{}{}", store, volume.substr(store.size() + 1), own.substr(store.size() + 1), rest);
            }
        } else if (key == "smbios1" || key == "vmgenid") {
            auto h1 = stable_hash(fmt::format("{}{}{}uuid{}", spec_.seed, spec_.name, args.newid, ++counter_));
            auto h2 = mix64(h1);
            auto uuid = fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", h1 >> 32, (h1 >> 16) & 0xffff, h1 & 0xfff,
                                    0x8000 | (h2 >> 48 & 0x3fff), h2 & 0xffffffffffffULL);
            if (key == "vmgenid") {
                value = uuid;
            } else {
                std::vector<std::string> parts;
                for (const auto& part : split(value, ',')) {
                    parts.push_back(part.rfind("uuid=", 0) == 0 ? "uuid=" + uuid : part);
                }
                value = join(parts, ",");
            }
        }
    }
    fresh.config["name"] = args.name.value_or(fmt::format("Copy-of-VM-{}", source.config.count("name") ? source.config.at("name") : std::to_string(source.vmid)));
    if (args.description) fresh.config["description"] = trim_right(*args.description);
    fresh.config["lock"] = "clone";
    for (const auto& [key, value] : fresh.config) {
        if (is_cloudinit_key(key)) fresh.cloudinit_image[key] = value;
    }

    TaskJob job;
    job.kind = TaskJob::Kind::clone;
    job.vmid = args.newid;
    job.source = args.source;
    job.full = full;
    job.target_node = args.target.value_or("");
    job.pool = args.pool.value_or("");
    auto work = full ? spec_.timing.clone : spec_.timing.linked_clone;
    auto& task = new_task(args.node, "qmclone", std::to_string(args.source), options, job, {args.source, args.newid}, work);
    task.log.insert(task.log.begin(), log.begin(), log.end());
    return task.upid;
}

Outcome<std::string> ClusterState::update_config_task(int vmid, ConfigUpdate update, const TaskOptions& options) {
    const auto* vm = find_vm(vmid);
    if (!vm) return std::unexpected(ApiError::server(fmt::format("VM {} does not exist", vmid)));
    TaskJob job;
    job.kind = TaskJob::Kind::config;
    job.vmid = vmid;
    job.set = std::move(update.set);
    job.deletes = std::move(update.deletes);
    job.reverts = std::move(update.reverts);
    job.digest = std::move(update.digest);
    job.skiplock = update.skiplock;
    return new_task(vm->node, "qmconfig", std::to_string(vmid), options, std::move(job), {vmid}, spec_.timing.config).upid;
}

Outcome<std::string> ClusterState::resize(int vmid, const std::string& disk, const std::string& size,
                                          std::optional<std::string> digest_value, bool skiplock,
                                          const TaskOptions& options) {
    const auto* vm = find_vm(vmid);
    if (!vm) return std::unexpected(ApiError::server(fmt::format("VM {} does not exist", vmid)));
    if (!parse_size(size)) return std::unexpected(ApiError::param({{"size", "value does not match the regex pattern"}}));
    TaskJob job;
    job.kind = TaskJob::Kind::resize;
    job.vmid = vmid;
    job.disk = disk;
    job.size = size;
    job.digest = std::move(digest_value);
    job.skiplock = skiplock;
    return new_task(vm->node, "resize", std::to_string(vmid), options, std::move(job), {vmid}, spec_.timing.resize).upid;
}

Outcome<std::string> ClusterState::power(TaskJob::Kind kind, int vmid, bool skiplock, bool force_stop,
                                         const TaskOptions& options, const std::string& machine) {
    const auto* vm = find_vm(vmid);
    if (!vm) return std::unexpected(ApiError::server(fmt::format("VM {} does not exist", vmid)));
    if (kind == TaskJob::Kind::reboot && !vm->running) {
        return std::unexpected(ApiError::server(fmt::format("VM {} not running", vmid)));
    }
    TaskJob job;
    job.kind = kind;
    job.vmid = vmid;
    job.skiplock = skiplock;
    job.force_stop = force_stop;
    job.machine = machine;
    Millis work = kind == TaskJob::Kind::start      ? spec_.timing.start
                  : kind == TaskJob::Kind::stop     ? spec_.timing.stop
                  : kind == TaskJob::Kind::shutdown ? spec_.timing.shutdown
                                                    : spec_.timing.reboot;
    if ((kind == TaskJob::Kind::stop || kind == TaskJob::Kind::shutdown) && !vm->running) work = Millis(0);
    auto& task = new_task(vm->node, task_type(kind), std::to_string(vmid), options, std::move(job), {vmid}, work);
    const auto* conf_vm = find_vm(vmid);
    if (kind == TaskJob::Kind::start && conf_vm) {
        for (const auto& [key, value] : conf_vm->config) {
            if (is_disk_key(key) && value.find("cloudinit") != std::string::npos) {
                task.log.insert(task.log.begin(), "generating cloud-init ISO");
                break;
            }
        }
    }
    return task.upid;
}

Outcome<std::string> ClusterState::destroy(int vmid, bool skiplock, const TaskOptions& options) {
    const auto* vm = find_vm(vmid);
    if (!vm) return std::unexpected(ApiError::server(fmt::format("VM {} does not exist", vmid)));
    if (!skiplock) {
        if (auto it = vm->config.find("lock"); it != vm->config.end()) {
            return std::unexpected(ApiError::server(fmt::format("VM is locked ({})", it->second)));
        }
    }
    if (auto it = vm->config.find("protection"); it != vm->config.end() && it->second == "1") {
        return std::unexpected(ApiError::server(fmt::format("can't remove VM {} - protection mode enabled", vmid)));
    }
    if (vm->running) return std::unexpected(ApiError::server(fmt::format("VM {} is running - destroy failed", vmid)));
    TaskJob job;
    job.kind = TaskJob::Kind::destroy;
    job.vmid = vmid;
    job.skiplock = skiplock;
    return new_task(vm->node, "qmdestroy", std::to_string(vmid), options, std::move(job), {vmid}, spec_.timing.destroy).upid;
}

// --- persistence ------------------------------------------------------------------------

json ClusterState::save() const {
    json vms = json::array();
    for (const auto& [vmid, vm] : vms_) {
        vms.push_back({{"vmid", vmid},
                       {"node", vm.node},
                       {"config", vm.config},
                       {"pending", vm.pending},
                       {"pending_delete", vm.pending_delete},
                       {"cloudinit_image", vm.cloudinit_image},
                       {"running", vm.running},
                       {"started_unix", vm.started_unix},
                       {"pid", vm.pid},
                       {"pool", vm.pool},
                       {"running_machine", vm.running_machine}});
    }
    json tasks = json::array();
    for (const auto& t : tasks_) {
        json log = t.log;
        std::string exitstatus = t.exitstatus;
        std::int64_t endtime = t.endtime;
        if (t.running) {
            // Work in flight does not survive a restart of the simulated cluster.
            exitstatus = "unexpected status";
            endtime = clock_.unix_now();
        }
        tasks.push_back({{"upid", t.upid}, {"node", t.node}, {"type", t.type}, {"id", t.id}, {"user", t.user},
                         {"pid", t.pid}, {"pstart", t.pstart}, {"starttime", t.starttime}, {"endtime", endtime},
                         {"exitstatus", exitstatus}, {"log", log}});
    }
    return {{"vms", vms}, {"tasks", tasks}, {"counter", counter_}};
}

void ClusterState::load(const json& state) {
    vms_.clear();
    tasks_.clear();
    counter_ = state.value("counter", std::uint64_t{0});
    auto now = clock_.now();
    for (const auto& item : state.value("vms", json::array())) {
        Vm vm;
        vm.vmid = item.at("vmid").get<int>();
        vm.node = item.at("node").get<std::string>();
        vm.config = item.value("config", Config{});
        vm.pending = item.value("pending", Config{});
        vm.pending_delete = item.value("pending_delete", std::set<std::string>{});
        vm.cloudinit_image = item.value("cloudinit_image", Config{});
        vm.running = item.value("running", false);
        vm.started_unix = item.value("started_unix", std::int64_t{0});
        vm.pid = item.value("pid", std::uint32_t{0});
        vm.pool = item.value("pool", std::string());
        vm.running_machine = item.value("running_machine", std::string());
        vm.created_at = now - spec_.timing.rrd_lag;
        vm.agent_ready_at = now;
        vms_.emplace(vm.vmid, std::move(vm));
    }
    for (const auto& item : state.value("tasks", json::array())) {
        Task t;
        t.upid = item.at("upid").get<std::string>();
        t.node = item.value("node", std::string());
        t.type = item.value("type", std::string());
        t.id = item.value("id", std::string());
        t.user = item.value("user", std::string());
        t.pid = item.value("pid", std::uint32_t{0});
        t.pstart = item.value("pstart", std::uint32_t{0});
        t.starttime = item.value("starttime", std::int64_t{0});
        t.endtime = item.value("endtime", std::int64_t{0});
        t.exitstatus = item.value("exitstatus", std::string("unexpected status"));
        t.log = item.value("log", std::vector<std::string>{});
        t.running = false;
        t.phase = Task::Phase::done;
        tasks_.push_back(std::move(t));
    }
}

}  // namespace pvesim
