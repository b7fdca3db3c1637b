#include "core/text.hpp"
#include "plan/plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <regex>

#include "plan/address.hpp"
#include "proxmox/locks.hpp"

namespace dnsctl {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// Appends steps and remembers indices, so WaitTask can name the step it waits for.
class StepList {
public:
    std::size_t add(Step step) {
        steps_.push_back(std::move(step));
        return steps_.size() - 1;
    }
    void add_with_wait(Step step) { steps_.push_back(WaitTaskStep{add(std::move(step))}); }
    std::vector<Step> take() { return std::move(steps_); }

private:
    std::vector<Step> steps_;
};

std::optional<std::string> lock_of(const ObservedVm& vm) {
    if (vm.summary.lock && !vm.summary.lock->empty()) return vm.summary.lock;
    if (vm.config) {
        auto it = vm.config->find("lock");
        if (it != vm.config->end() && !it->second.empty()) return it->second;
    }
    return std::nullopt;
}

std::vector<std::string> running_tasks(const ObservedVm& vm) {
    std::vector<std::string> out;
    if (!vm.active_tasks) return out;
    for (const auto& task : *vm.active_tasks) {
        if (task.status == "running" || task.status.empty()) out.push_back(task.upid);
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string config_value(const VmConfig& config, std::string_view key) {
    auto it = config.find(std::string(key));
    return it == config.end() ? std::string() : it->second;
}

bool has_cloudinit_drive(const VmConfig& config) {
    static const std::regex kDrive("^(ide|sata|scsi|virtio)[0-9]+$");
    return std::any_of(config.begin(), config.end(), [](const auto& entry) {
        return std::regex_match(entry.first, kDrive) && entry.second.find("cloudinit") != std::string::npos;
    });
}

std::vector<std::string> config_attribute_names(const VmAttributes& attributes) {
    std::vector<std::string> out;
    for (const auto& [name, value] : attributes) {
        if (name != attr::kStatus && name != attr::kScsi0Size) out.push_back(name);
    }
    return out;
}

std::map<std::string, std::string> cloudinit_values(const std::map<std::string, std::string>& written,
                                                    const VmAttributes& after) {
    std::map<std::string, std::string> out;
    std::vector<std::string> names;
    for (const auto& [name, value] : after) {
        const auto* spec = find_attribute_spec(name);
        if (spec != nullptr && spec->cloudinit) names.push_back(name);
    }
    auto values = config_values(after, names, std::nullopt);
    for (auto& [key, value] : values) {
        auto it = written.find(key);
        out[key] = it != written.end() ? it->second : value;
    }
    return out;
}

std::string describe_value_change(std::string_view name, const std::string& before, const std::string& after) {
    const auto* spec = find_attribute_spec(name);
    if ((spec != nullptr && spec->kind == AttributeKind::lines) || before.size() > 48 || after.size() > 48) {
        return fmt::format("{} changed", name);
    }
    auto show = [](const std::string& v) { return v.empty() ? std::string("(none)") : v; };
    return fmt::format("{} {} -> {}", name, show(before), show(after));
}

class Planner {
public:
    Planner(const ObservedState& observed, const PlanOptions& options) : observed_(observed), options_(options) {
        plan_.estate = observed.estate;
        plan_.options = options;
        for (const auto& [name, cluster] : observed.clusters) {
            if (cluster.complete) continue;
            auto& entry = incomplete_[name];
            entry.cluster = name;
            for (const auto& problem : cluster.problems) entry.reasons.push_back(problem.message);
        }
    }

    Plan run(const std::vector<DesiredVm>& desired) {
        std::set<std::string> addresses;
        for (const auto& vm : desired) addresses.insert(vm.address);
        for (const auto& address : options_.replace) {
            auto parsed = VmAddress::parse(address);
            if (!parsed) {
                error(address, fmt::format("--replace: {}", parsed.error().message));
            } else if (!addresses.contains(parsed->str())) {
                error(address, "--replace names a VM that is not in the inventory");
            } else {
                replace_.insert(parsed->str());  // canonical spelling
            }
        }
        for (const auto& vm : desired) plan_desired(vm);
        for (const auto& [name, cluster] : observed_.clusters) {
            for (const auto& [vmid, vm] : cluster.vms) {
                if (claimed_.contains({name, vmid})) continue;
                if (vm.summary.is_template || !vm.owned_by(observed_.estate)) continue;
                plan_orphan(cluster, vm);
            }
        }
        for (auto& [name, entry] : incomplete_) plan_.incomplete.push_back(std::move(entry));
        for (const auto& change : plan_.changes) {
            if (change.is_no_op()) continue;
            if (const auto* cluster = observed_.find(change.cluster)) {
                plan_.observed_digests[change.address] = observed_digest(*cluster, change.vmid);
            }
        }
        return std::move(plan_);
    }

private:
    void error(std::string address, std::string message) {
        plan_.errors.push_back(PlanProblem{std::move(address), std::move(message)});
    }
    void warning(std::string address, std::string message) {
        plan_.warnings.push_back(PlanProblem{std::move(address), std::move(message)});
    }
    void unplanned(const std::string& cluster, const std::string& address) {
        auto& entry = incomplete_[cluster];
        entry.cluster = cluster;
        entry.unplanned.push_back(address);
    }

    ResourceChange base_change(const DesiredVm& desired, const std::string& node) const {
        ResourceChange change;
        change.address = desired.address;
        change.cluster = desired.cluster;
        change.vmid = desired.vmid;
        change.node = node;
        change.role = desired.role;
        change.name = desired.fqdn.str();
        return change;
    }

    void plan_desired(const DesiredVm& desired) {
        claimed_.insert({desired.cluster, desired.vmid});
        const ClusterObservation* cluster = observed_.find(desired.cluster);
        if (cluster == nullptr) {
            auto& entry = incomplete_[desired.cluster];
            entry.cluster = desired.cluster;
            if (entry.reasons.empty()) entry.reasons.emplace_back("cluster not observed");
            unplanned(desired.cluster, desired.address);
            return;
        }
        if (desired.vmid == desired.template_vmid) {
            error(desired.address,
                  fmt::format("VMID {} is the template of cluster {}; choose another VMID", desired.vmid.value,
                              desired.cluster));
            return;
        }
        const ObservedVm* vm = cluster->find(desired.vmid);
        if (vm == nullptr) {
            if (!cluster->complete) {
                unplanned(desired.cluster, desired.address);
                return;
            }
            plan_create(desired, *cluster);
            return;
        }
        if (vm->summary.type != "qemu") {  // the listing alone says so: nothing more to read
            error(desired.address,
                  fmt::format("conflict: VMID {} on cluster {} is taken by {} '{}' on node {}, not a QEMU VM; dnsctl "
                              "never adopts it: free the VMID or choose another in the inventory",
                              desired.vmid.value, desired.cluster,
                              vm->summary.type == "lxc" ? std::string("the container (lxc)")
                                                        : fmt::format("a guest of type '{}'", vm->summary.type),
                              vm->summary.name, vm->summary.node));
            return;
        }
        if (!vm->config) {  // only when the cluster could not be read completely
            unplanned(desired.cluster, desired.address);
            return;
        }
        if (vm->summary.is_template) {
            error(desired.address, fmt::format("VMID {} on cluster {} is a template ('{}'), not a VM dnsctl created; "
                                               "dnsctl never adopts it: choose another VMID",
                                               desired.vmid.value, desired.cluster, vm->summary.name));
            return;
        }
        if (!vm->owned_by(observed_.estate)) {
            plan_foreign(desired, *vm);
            return;
        }
        plan_existing(desired, *cluster, *vm);
    }

    // A lock that no task holds is a plan error (only an operator can clear
    // it), never waited on: a judgeable lock (clone, create) in the config
    // read last, and none of the tasks that could hold it running (observe
    // reads them before that config, the template's clone tasks included).
    static std::optional<std::string> stale_lock(const ObservedVm& vm) {
        if (!vm.config || !vm.active_tasks) return std::nullopt;
        auto lock = vm.config->find("lock");
        if (lock == vm.config->end() || !lock_is_judgeable(lock->second)) return std::nullopt;
        if (any_task_running(*vm.active_tasks)) return std::nullopt;
        return stale_lock_message(vm.summary.node, vm.summary.vmid, lock->second);
    }

    void plan_foreign(const DesiredVm& desired, const ObservedVm& vm) {
        auto description = vm.description();
        auto other = marker_estate(description);
        auto lock = lock_of(vm);
        if (!other && lock && (*lock == "clone" || *lock == "create")) {
            if (auto stale = stale_lock(vm)) {
                error(desired.address, *stale);
                return;
            }
            // A clone in flight writes its placeholder config without a
            // description: whose VM it is shows once the task ends.
            auto change = base_change(desired, vm.summary.node);
            change.actions = {Action::wait};
            change.action_reason = "wait_because_in_flight";
            change.reason = fmt::format(
                "in-flight: VMID {} is being created by a task still running (lock: {}); apply waits for it, then "
                "plans again (the VM is used only if it carries this estate's marker)",
                desired.vmid.value, *lock);
            change.steps.push_back(
                WaitIdleStep{vm.summary.node, desired.vmid, lock, running_tasks(vm), desired.template_vmid});
            plan_.changes.push_back(std::move(change));
            return;
        }
        auto name = vm.summary.name.empty() ? config_value(*vm.config, "name") : vm.summary.name;
        if (other) {
            error(desired.address,
                  fmt::format("conflict: VMID {} on cluster {} is taken by '{}', which belongs to dnsctl estate '{}', "
                              "not '{}'; dnsctl never adopts it: free the VMID or choose another in the inventory",
                              desired.vmid.value, desired.cluster, name, *other, observed_.estate));
        } else {
            error(desired.address,
                  fmt::format("conflict: VMID {} on cluster {} is taken by '{}', which does not carry this estate's "
                              "marker ({}); dnsctl never adopts a VM it did not create: free the VMID or choose "
                              "another in the inventory",
                              desired.vmid.value, desired.cluster, name, marker_line(observed_.estate)));
        }
    }

    // Checks the template for a create; on success returns its node and
    // config, else records an error (or an unplanned address) and returns nullptr.
    const ObservedVm* usable_template(const DesiredVm& desired, const ClusterObservation& cluster) {
        const ObservedVm* tmpl = cluster.find(desired.template_vmid);
        if (tmpl == nullptr) {
            error(desired.address,
                  fmt::format("cannot create: template VMID {} is not on cluster {} (or the API token cannot see it: "
                              "VM.Audit on /vms/{})",
                              desired.template_vmid.value, desired.cluster, desired.template_vmid.value));
            return nullptr;
        }
        if (!tmpl->summary.is_template) {
            error(desired.address, fmt::format("cannot create: VMID {} on cluster {} is not a template",
                                               desired.template_vmid.value, desired.cluster));
            return nullptr;
        }
        if (tmpl->summary.node != desired.node) {
            error(desired.address,
                  fmt::format("cannot create: template {} is on node {}, but the inventory places cluster {}'s VMs "
                              "on node {} (the full clone is made on the template's node)",
                              desired.template_vmid.value, tmpl->summary.node, desired.cluster, desired.node));
            return nullptr;
        }
        if (!tmpl->config) {
            unplanned(desired.cluster, desired.address);
            return nullptr;
        }
        auto size = drive_size(config_value(*tmpl->config, "scsi0"));
        if (!size) {
            error(desired.address, fmt::format("cannot create: template {} has no scsi0 disk (with a size)",
                                               desired.template_vmid.value));
            return nullptr;
        }
        auto template_bytes = parse_size_bytes(*size);
        auto wanted_bytes = static_cast<std::uint64_t>(desired.disk_gib) << 30;
        if (template_bytes && *template_bytes > wanted_bytes) {
            error(desired.address,
                  fmt::format("cannot create: template {}'s scsi0 is {}, larger than the {} asked for, and a disk "
                              "cannot shrink",
                              desired.template_vmid.value, *size, format_size(wanted_bytes)));
            return nullptr;
        }
        if (!has_cloudinit_drive(*tmpl->config)) {
            error(desired.address,
                  fmt::format("cannot create: template {} has no cloud-init drive, so the VM would boot without its "
                              "address and keys",
                              desired.template_vmid.value));
            return nullptr;
        }
        return tmpl;
    }

    void add_create_steps(StepList& steps, const DesiredVm& desired, const ObservedVm& tmpl,
                          const VmAttributes& after) const {
        const auto& node = tmpl.summary.node;
        CloneRequest request;
        request.newid = desired.vmid;
        request.name = desired.fqdn.str();
        request.description = desired.clone_description();
        request.full = desired.full_clone;
        if (!desired.storage.empty()) request.storage = desired.storage;
        steps.add_with_wait(CloneStep{node, desired.template_vmid, request});
        steps.add(ConfirmUnlockedStep{node, desired.vmid});

        // The clone carries the template's net0 with a MAC of its own. When
        // that device already is what is asked for, it is left alone (the MAC
        // Proxmox assigned stays); otherwise it is rewritten with the
        // template's other options and no MAC, and PVE assigns one.
        auto template_net = NetDevice::parse(config_value(*tmpl.config, "net0"));
        auto names = config_attribute_names(after);
        if (!template_net.model.empty() && template_net.managed() == after.at(std::string(attr::kNet0))) {
            names.erase(std::remove(names.begin(), names.end(), std::string(attr::kNet0)), names.end());
        }
        template_net.mac.reset();
        auto template_net0 = template_net.model.empty() ? std::optional<std::string>() : template_net.str();
        ConfigUpdate update;
        update.set = config_values(after, names, template_net0);
        update.set["description"] = compose_description("", observed_.estate, config_stamp(after));
        auto expected = cloudinit_values(update.set, after);
        steps.add(ConfigureStep{node, desired.vmid, std::move(update)});
        steps.add(VerifyCloudinitStep{node, desired.vmid, std::move(expected)});
        steps.add_with_wait(ResizeDiskStep{node, desired.vmid, "scsi0", after.at(std::string(attr::kScsi0Size))});
        steps.add_with_wait(StartStep{node, desired.vmid});
    }

    static void add_destroy_steps(StepList& steps, const std::string& node, Vmid vmid) {
        steps.add_with_wait(StopStep{node, vmid});
        steps.add_with_wait(DestroyStep{node, vmid});
        steps.add(ConfirmAbsentStep{vmid});
    }

    void plan_create(const DesiredVm& desired, const ClusterObservation& cluster) {
        const ObservedVm* tmpl = usable_template(desired, cluster);
        if (tmpl == nullptr) return;
        auto change = base_change(desired, tmpl->summary.node);
        change.actions = {Action::create};
        change.after = desired.attributes();
        change.action_reason = "create_because_absent";
        change.reason = fmt::format("VMID {} does not exist on cluster {}", desired.vmid.value, desired.cluster);
        StepList steps;
        add_create_steps(steps, desired, *tmpl, *change.after);
        change.steps = steps.take();
        plan_.changes.push_back(std::move(change));
    }

    void plan_existing(const DesiredVm& desired, const ClusterObservation& cluster, const ObservedVm& vm) {
        const auto& node = vm.summary.node;
        const auto after = desired.attributes();
        std::set<std::string> names;
        for (const auto& [name, value] : after) names.insert(name);
        const auto before = observed_attributes(*vm.config, vm.summary.status, names);

        auto change = base_change(desired, node);
        change.before = before;
        change.after = after;
        const bool running = vm.summary.status == "running";
        const bool stopped = vm.summary.status == "stopped";

        if (before != after && (vm.in_flight() || (!running && !stopped))) {
            if (auto stale = stale_lock(vm)) {
                error(desired.address, *stale);
                return;
            }
            auto lock = lock_of(vm);
            auto tasks = running_tasks(vm);
            std::vector<std::string> what;
            if (lock) what.push_back(fmt::format("locked ({})", *lock));
            for (const auto& upid : tasks) what.push_back(fmt::format("task {} running", upid));
            if (!running && !stopped) what.push_back(fmt::format("status '{}'", vm.summary.status));
            change.after = before;
            change.actions = {Action::wait};
            change.action_reason = "wait_because_in_flight";
            change.reason = fmt::format("in-flight: {}; apply waits for it to finish, then plans again",
                                        join(what, ", "));
            change.steps.push_back(WaitIdleStep{node, desired.vmid, lock, tasks, desired.template_vmid});
            plan_.changes.push_back(std::move(change));
            return;
        }

        // What cannot change in place.
        std::vector<std::string> cannot;
        const auto& have_size = before.at(std::string(attr::kScsi0Size));
        const auto& want_size = after.at(std::string(attr::kScsi0Size));
        if (have_size.empty()) {
            cannot.emplace_back("the VM has no scsi0 disk");
        } else {
            auto have = parse_size_bytes(have_size);
            auto want = parse_size_bytes(want_size);
            if (have && want && *have > *want) {
                cannot.push_back(fmt::format("scsi0 is {} but the inventory asks for {}, and a disk cannot shrink",
                                             have_size, want_size));
            }
        }
        const bool requested = replace_.contains(desired.address);
        if (requested || !cannot.empty()) {
            plan_replace(desired, cluster, vm, std::move(change), cannot, requested);
            return;
        }

        std::vector<std::string> diff;
        for (const auto& [name, value] : after) {
            if (name != attr::kStatus && before.at(name) != value) diff.push_back(name);
        }
        if (diff.empty()) {
            if (running) {
                change.actions = {Action::no_op};
            } else {
                change.actions = {Action::start};
                change.action_reason = "start_because_stopped";
                change.reason = "the VM is stopped";
                StepList steps;
                steps.add_with_wait(StartStep{node, desired.vmid});
                change.steps = steps.take();
            }
            plan_.changes.push_back(std::move(change));
            return;
        }

        auto description = vm.description();
        auto stamp = recorded_stamp(description);
        if (!stamp) {
            change.action_reason = "update_because_unfinished";
            change.reason = "unfinished: dnsctl never completed this VM's configuration (no dnsctl-config stamp; an "
                            "earlier run was interrupted?)";
        } else if (*stamp != config_stamp(before)) {
            change.action_reason = "update_because_drift";
            change.reason = fmt::format("drift: changed outside dnsctl ({})", join(diff, ", "));
        } else {
            std::vector<std::string> changes;
            for (const auto& name : diff) changes.push_back(describe_value_change(name, before.at(name), after.at(name)));
            change.action_reason = "update_because_inventory_changed";
            change.reason = fmt::format("inventory: {}", join(changes, ", "));
        }

        std::vector<std::string> config_names;
        bool grow = false;
        for (const auto& name : diff) {
            if (name == attr::kScsi0Size) {
                grow = true;
            } else {
                config_names.push_back(name);
            }
        }
        bool restart = running && std::any_of(config_names.begin(), config_names.end(), [](const std::string& n) {
                           const auto* spec = find_attribute_spec(n);
                           return spec != nullptr && spec->restart_if_running;
                       });

        ConfigUpdate update;
        auto existing_net0 = config_value(*vm.config, "net0");
        update.set = config_values(after, config_names, existing_net0.empty() ? std::nullopt
                                                                              : std::optional<std::string>(existing_net0));
        update.set["description"] = compose_description(description, observed_.estate, config_stamp(after));
        // The digest guards against a concurrent edit; after our own shutdown
        // PVE may have applied pending values, so it is left out there.
        auto digest = config_value(*vm.config, "digest");
        if (!restart && !digest.empty()) update.digest = digest;
        auto expected = cloudinit_values(update.set, after);

        StepList steps;
        if (restart) steps.add_with_wait(ShutdownStep{node, desired.vmid, true});
        steps.add(ConfigureStep{node, desired.vmid, std::move(update)});
        if (grow) steps.add_with_wait(ResizeDiskStep{node, desired.vmid, "scsi0", want_size});
        if (restart || !running) {
            steps.add(VerifyCloudinitStep{node, desired.vmid, std::move(expected)});
            steps.add_with_wait(StartStep{node, desired.vmid});
        }
        change.steps = steps.take();
        change.actions = {Action::update};
        if (!running) {
            change.actions.push_back(Action::start);
            change.reason += "; the VM is stopped";
        }
        change.restart_needed = restart;
        change.touches_in_service_nameserver = restart && desired.role == VmRole::public_nameserver;
        plan_.changes.push_back(std::move(change));
    }

    void plan_replace(const DesiredVm& desired, const ClusterObservation& cluster, const ObservedVm& vm,
                      ResourceChange change, const std::vector<std::string>& cannot, bool requested) {
        auto why = join(cannot, "; ");
        if (desired.role == VmRole::primary) {
            error(desired.address,
                  fmt::format("{}refusing to replace the hidden primary's VM: the zones' DNSSEC signing keys live "
                              "there",
                              why.empty() ? "" : why + "; "));
            return;
        }
        if (!requested && !options_.allow_replace) {
            error(desired.address, fmt::format("{}; the VM can only be replaced: plan again with --replace {} (or "
                                               "--allow-replace)",
                                               why, desired.address));
            return;
        }
        if (!cluster.complete) {
            unplanned(desired.cluster, desired.address);
            return;
        }
        const ObservedVm* tmpl = usable_template(desired, cluster);
        if (tmpl == nullptr) return;
        change.actions = {Action::destroy, Action::create};
        change.action_reason = requested ? "replace_by_request" : "replace_because_cannot_update";
        change.reason = requested ? std::string("replacement requested (--replace)")
                                  : fmt::format("{} (--allow-replace)", why);
        change.node = tmpl->summary.node;
        change.touches_in_service_nameserver =
            desired.role == VmRole::public_nameserver && vm.summary.status == "running";
        StepList steps;
        add_destroy_steps(steps, vm.summary.node, desired.vmid);
        add_create_steps(steps, desired, *tmpl, *change.after);
        change.steps = steps.take();
        plan_.changes.push_back(std::move(change));
    }

    void plan_orphan(const ClusterObservation& cluster, const ObservedVm& vm) {
        const auto vmid = vm.summary.vmid;
        const auto address = vm_address(cluster.cluster, vmid);
        if (!cluster.complete) {
            unplanned(cluster.cluster, address);
            return;
        }
        auto name = to_lower(config_value(*vm.config, "name"));
        auto tags = normalise_tags(config_value(*vm.config, "tags"));
        auto role = role_from_tags(tags);
        if (!options_.allow_destroy) {
            warning(address, fmt::format("'{}' is owned by this estate but no longer in the inventory; plan with "
                                         "--allow-destroy to destroy it",
                                         name));
            return;
        }
        if (auto it = options_.nameserver_zones.find(name); it != options_.nameserver_zones.end()) {
            std::vector<std::string> zones(it->second.begin(), it->second.end());
            error(address, fmt::format("refusing to destroy '{}': it is still in the NS RRset of {} (a lame "
                                       "delegation); remove it from the zones first",
                                       name, join(zones, ", ")));
            return;
        }
        if (role == VmRole::primary) {
            error(address, fmt::format("refusing to destroy '{}', a hidden primary's VM: the zones' DNSSEC signing "
                                       "keys live there",
                                       name));
            return;
        }

        ResourceChange change;
        change.address = address;
        change.cluster = cluster.cluster;
        change.vmid = vmid;
        change.node = vm.summary.node;
        change.role = role;
        change.name = name;
        std::set<std::string> names;
        for (const auto& spec : attribute_specs()) {
            bool optional = spec.name == attr::kNameserver || spec.name == attr::kSearchdomain;
            if (!optional || vm.config->contains(std::string(spec.name))) names.emplace(spec.name);
        }
        change.before = observed_attributes(*vm.config, vm.summary.status, names);
        if (vm.in_flight()) {
            auto lock = lock_of(vm);
            auto tasks = running_tasks(vm);
            change.after = change.before;
            change.actions = {Action::wait};
            change.action_reason = "wait_because_in_flight";
            change.reason = "in-flight: work from an earlier run is still running; apply waits for it, then plans "
                            "again";
            change.steps.push_back(WaitIdleStep{vm.summary.node, vmid, lock, tasks});
        } else {
            change.actions = {Action::destroy};
            change.action_reason = "delete_because_not_in_inventory";
            change.reason = fmt::format("owned by this estate ({}) and no longer in the inventory (--allow-destroy)",
                                        marker_line(observed_.estate));
            change.touches_in_service_nameserver =
                role != VmRole::primary && vm.summary.status == "running";
            StepList steps;
            add_destroy_steps(steps, vm.summary.node, vmid);
            change.steps = steps.take();
        }
        plan_.changes.push_back(std::move(change));
    }

    const ObservedState& observed_;
    const PlanOptions& options_;
    Plan plan_;
    std::set<std::string> replace_;  // --replace addresses, parsed and re-printed
    std::set<std::pair<std::string, Vmid>> claimed_;
    std::map<std::string, IncompleteCluster> incomplete_;
};

}  // namespace

std::string_view to_string(Action action) {
    switch (action) {
    case Action::no_op: return "no-op";
    case Action::create: return "create";
    case Action::update: return "update";
    case Action::start: return "start";
    case Action::destroy: return "delete";
    case Action::wait: return "wait";
    }
    return "no-op";
}

std::string_view step_kind(const Step& step) {
    return std::visit(Overloaded{
                          [](const CloneStep&) { return std::string_view("clone"); },
                          [](const WaitTaskStep&) { return std::string_view("wait_task"); },
                          [](const ConfirmUnlockedStep&) { return std::string_view("confirm_unlocked"); },
                          [](const ConfigureStep&) { return std::string_view("configure"); },
                          [](const VerifyCloudinitStep&) { return std::string_view("verify_cloudinit"); },
                          [](const ResizeDiskStep&) { return std::string_view("resize_disk"); },
                          [](const StartStep&) { return std::string_view("start"); },
                          [](const ShutdownStep&) { return std::string_view("shutdown"); },
                          [](const StopStep&) { return std::string_view("stop"); },
                          [](const DestroyStep&) { return std::string_view("destroy"); },
                          [](const ConfirmAbsentStep&) { return std::string_view("confirm_absent"); },
                          [](const WaitIdleStep&) { return std::string_view("wait_idle"); },
                      },
                      step);
}

bool ResourceChange::is_no_op() const { return actions.empty() || (actions.size() == 1 && actions[0] == Action::no_op); }

bool ResourceChange::has(Action action) const {
    return std::find(actions.begin(), actions.end(), action) != actions.end();
}

std::vector<std::string> ResourceChange::changed_attributes() const {
    std::vector<std::string> out;
    if (!before || !after) return out;
    for (const auto& [name, value] : *after) {
        auto it = before->find(name);
        if (it == before->end() || it->second != value) out.push_back(name);
    }
    return out;
}

bool Plan::has_changes() const {
    return std::any_of(changes.begin(), changes.end(), [](const ResourceChange& c) { return !c.is_no_op(); });
}

PlanSummary Plan::summary() const {
    PlanSummary out;
    for (const auto& change : changes) {
        if (change.has(Action::create)) ++out.add;
        if (change.has(Action::destroy)) ++out.destroy;
        if (!change.has(Action::create) && !change.has(Action::destroy) &&
            (change.has(Action::update) || change.has(Action::start))) {
            ++out.change;
        }
        if (change.has(Action::wait)) ++out.wait;
    }
    return out;
}

const ResourceChange* Plan::find(std::string_view address) const {
    auto it = std::find_if(changes.begin(), changes.end(), [&](const ResourceChange& c) { return c.address == address; });
    return it == changes.end() ? nullptr : &*it;
}

Plan make_plan(const std::vector<DesiredVm>& desired, const ObservedState& observed, const PlanOptions& options) {
    return Planner(observed, options).run(desired);
}

std::vector<std::string> changed_digests(const std::map<std::string, std::string>& saved,
                                         const std::map<std::string, std::string>& fresh) {
    std::vector<std::string> out;
    for (const auto& [address, digest] : saved) {
        auto it = fresh.find(address);
        if (it == fresh.end() || it->second != digest) out.push_back(address);
    }
    return out;
}

}  // namespace dnsctl
