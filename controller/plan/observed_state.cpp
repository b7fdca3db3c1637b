#include "plan/observed_state.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <future>
#include <set>
#include <thread>

#include "plan/desired_vm.hpp"
#include "plan/sha256.hpp"
#include "plan/vm_attributes.hpp"
#include "proxmox/locks.hpp"

namespace dnsctl {

namespace {

std::string describe_failure(std::string_view what, const Error& error) {
    // The API adapter already names its request ("GET /nodes: …").
    if (error.message.starts_with(fmt::format("{}: ", what))) {
        return fmt::format("{} ({})", error.message, to_string(error.kind));
    }
    return fmt::format("{}: {} ({})", what, error.message, to_string(error.kind));
}

// A VM an interrupted run cloned but never configured: the clone request
// sets its name (the FQDN) and the marker (description), but the tag
// `dnsctl` comes only with the configure step, and the listing does not show
// descriptions. Once its VMID has left the inventory nothing else leads to
// it, and it would never be reported or destroyed. Such a VM is a stopped
// QEMU guest (start comes after configure), not a template, without the tag,
// named with a dot (dnsctl names every VM with its FQDN): its config is read
// to see whose it is.
// Trade-off: one more config read per stopped, FQDN-named guest without the
// tag, in the same parallel reads as the others (no round trip of its own
// while a cluster has at most 8 VMs to read). A failure to read such a
// guest only skips it (it concerns nothing this estate plans), it never makes
// the cluster incomplete. Not found: such a VM that someone has since
// started, or renamed without a dot. Tagging at clone time would be exact,
// but PVE's clone call takes no tags.
bool may_be_unfinished_clone(const ObservedVm& vm) {
    const auto& s = vm.summary;
    return s.type == "qemu" && !s.is_template && s.status == "stopped" && !vm.tagged_dnsctl() &&
           s.name.find('.') != std::string::npos;
}

// A VM locked `clone` or `create` (proxmox/locks.hpp): adds the tasks that may
// hold the lock but list elsewhere (a clone's task lists under its source,
// the cluster's template) to `tasks`; when none of them runs, reads the
// config again, so that a task ending (and dropping the lock) between the
// reads is never taken for a stale lock: a lock still in the second read
// has no task behind it. Returns a problem when a read fails.
std::optional<ObservationProblem> check_lock_holder(ProxmoxApi& api, const Cluster& cluster, const std::string& node,
                                             Vmid vmid, ObservedVm& vm, std::vector<TaskSummary>& tasks) {
    std::optional<std::string> lock = vm.summary.lock;
    if (vm.config) {
        if (auto it = vm.config->find("lock"); it != vm.config->end()) lock = it->second;
    }
    if (!lock || !lock_is_judgeable(*lock)) return std::nullopt;
    if (*lock == "clone" && cluster.template_vmid != vmid) {
        auto source = api.active_tasks(node, cluster.template_vmid);
        if (!source) {
            return ObservationProblem{
                source.error().kind,
                describe_failure(fmt::format("GET active tasks of template {}", cluster.template_vmid.value),
                                 source.error())};
        }
        for (auto& task : *source) {
            if (task.type == "qmclone") tasks.push_back(std::move(task));
        }
    }
    if (any_task_running(tasks)) return std::nullopt;
    auto again = api.get_config(node, vmid);
    if (!again) {
        if (again.error().kind == ErrorKind::not_found) return std::nullopt;  // gone meanwhile: the next read sees it
        return ObservationProblem{again.error().kind, describe_failure(fmt::format("GET config of VM {} on {}",
                                                                                  vmid.value, node),
                                                                      again.error())};
    }
    vm.config = std::move(*again);
    return std::nullopt;
}

}  // namespace

std::string ObservedVm::description() const {
    if (!config) return {};
    auto it = config->find("description");
    return it == config->end() ? std::string() : it->second;
}

bool ObservedVm::owned_by(std::string_view estate) const { return has_marker(description(), estate); }

bool ObservedVm::tagged_dnsctl() const {
    auto tags = normalise_tags(summary.tags);
    std::string_view rest = tags;
    while (!rest.empty()) {
        auto end = rest.find(';');
        if (rest.substr(0, end) == kOwnerTag) return true;
        if (end == std::string_view::npos) break;
        rest.remove_prefix(end + 1);
    }
    return false;
}

bool ObservedVm::in_flight() const {
    if (summary.lock && !summary.lock->empty()) return true;
    if (config) {
        auto it = config->find("lock");
        if (it != config->end() && !it->second.empty()) return true;
    }
    if (active_tasks) {
        return std::any_of(active_tasks->begin(), active_tasks->end(),
                           [](const TaskSummary& task) { return task.status == "running" || task.status.empty(); });
    }
    return false;
}

const ObservedVm* ClusterObservation::find(Vmid vmid) const {
    auto it = vms.find(vmid);
    return it == vms.end() ? nullptr : &it->second;
}

void ClusterObservation::mark_incomplete(ErrorKind kind, std::string message) {
    complete = false;
    problems.push_back(ObservationProblem{kind, std::move(message)});
}

bool ObservedState::complete() const {
    return std::all_of(clusters.begin(), clusters.end(), [](const auto& entry) { return entry.second.complete; });
}

const ClusterObservation* ObservedState::find(std::string_view cluster) const {
    auto it = clusters.find(std::string(cluster));
    return it == clusters.end() ? nullptr : &it->second;
}

ClusterObservation observe_cluster(const Inventory& inventory, const Cluster& cluster, ProxmoxApi& api,
                                   spdlog::logger& logger) {
    ClusterObservation obs;
    obs.cluster = cluster.name;

    // The inventory's VMIDs on this cluster.
    std::set<Vmid> inventory_vmids;
    auto consider = [&](const Host& host) {
        if (host.cluster == cluster.name) inventory_vmids.insert(host.vmid);
    };
    consider(inventory.primary);
    for (const auto& ns : inventory.nameservers) consider(ns);

    // One round trip: both listings, and (before the listing says where they
    // are) the configs of the inventory's VMs and of the template on the
    // inventory's node, where they live unless someone moved them. Every round
    // trip counts with a distant cluster. These early reads are single
    // attempts: one that fails, or turns out to have asked the wrong node, is
    // made again below, with retries, once the listing shows it matters.
    std::set<Vmid> early(inventory_vmids);
    early.insert(cluster.template_vmid);
    std::map<Vmid, std::future<Result<VmConfig>>> early_reads;
    ProxmoxApi& once = api.without_retries();
    for (auto vmid : early) {
        early_reads.emplace(vmid, std::async(std::launch::async,
                                             [&once, &cluster, vmid] { return once.get_config(cluster.node, vmid); }));
    }
    auto listing_reply = std::async(std::launch::async, [&api] { return api.list_vms(); });
    auto nodes = api.list_nodes();
    auto listing = listing_reply.get();
    std::map<Vmid, Result<VmConfig>> early_configs;
    for (auto& [vmid, reply] : early_reads) early_configs.emplace(vmid, reply.get());

    if (!nodes) {
        obs.mark_incomplete(nodes.error().kind, describe_failure("GET /nodes", nodes.error()));
        logger.warn("cluster {}: observation incomplete: {}", cluster.name, obs.problems.back().message);
        return obs;
    }
    obs.nodes = std::move(*nodes);
    if (!listing) {
        obs.mark_incomplete(listing.error().kind, describe_failure("GET /cluster/resources", listing.error()));
        logger.warn("cluster {}: observation incomplete: {}", cluster.name, obs.problems.back().message);
        return obs;
    }
    for (auto& summary : *listing) {
        auto vmid = summary.vmid;
        auto [it, added] = obs.vms.emplace(vmid, ObservedVm{summary, std::nullopt, std::nullopt, std::nullopt});
        if (!added) {
            // Two guests cannot share a VMID: the listing contradicts itself,
            // and which entry is true cannot be told from here.
            obs.mark_incomplete(
                ErrorKind::internal,
                fmt::format("GET /cluster/resources lists VMID {} more than once ({} on node {}, {} on node {}): "
                            "the cluster's view of its guests is inconsistent, nothing is concluded about VMID {}",
                            vmid.value, it->second.summary.type, it->second.summary.node, summary.type,
                            summary.node, vmid.value));
        }
    }
    if (!obs.complete) {
        for (const auto& problem : obs.problems) {
            logger.warn("cluster {}: observation incomplete: {}", cluster.name, problem.message);
        }
        return obs;
    }

    auto node_online = [&](const std::string& name) {
        return std::any_of(obs.nodes.begin(), obs.nodes.end(),
                           [&](const NodeSummary& n) { return n.node == name && n.status == "online"; });
    };
    auto node_listed = [&](const std::string& name) {
        return std::any_of(obs.nodes.begin(), obs.nodes.end(), [&](const NodeSummary& n) { return n.node == name; });
    };
    if (!node_listed(cluster.node)) {
        obs.mark_incomplete(ErrorKind::not_found,
                            fmt::format("node {} (from the inventory) is not a node of this cluster", cluster.node));
    } else if (!node_online(cluster.node)) {
        obs.mark_incomplete(ErrorKind::unavailable, fmt::format("node {} is unreachable (offline)", cluster.node));
    }

    // Which VMs to read: the inventory's VMIDs on this cluster, every VM
    // tagged dnsctl, and the template when a VM may have to be created.
    std::set<Vmid> relevant;
    bool any_missing = false;
    std::set<Vmid> maybe_ours;  // may_be_unfinished_clone
    for (auto vmid : inventory_vmids) {
        if (auto it = obs.vms.find(vmid); it == obs.vms.end()) {
            any_missing = true;
        } else if (it->second.summary.type == "qemu") {
            relevant.insert(vmid);  // a container has no config on the qemu path: the planner reports it
        }
    }
    for (const auto& [vmid, vm] : obs.vms) {
        if (vm.summary.type != "qemu") continue;
        if (vm.tagged_dnsctl()) {
            relevant.insert(vmid);
        } else if (may_be_unfinished_clone(vm) && !relevant.contains(vmid)) {
            relevant.insert(vmid);
            maybe_ours.insert(vmid);
        }
    }
    // The template is read too: a create or a replacement clones it, and its
    // disk, cloud-init drive and net0 are checked before that is planned.
    if (obs.vms.contains(cluster.template_vmid)) relevant.insert(cluster.template_vmid);
    if (any_missing) {
        // A missing VMID is only "absent" when every node answered: never
        // conclude absence while part of the cluster is out of sight.
        for (const auto& node : obs.nodes) {
            if (node.status != "online" && node.node != cluster.node) {
                obs.mark_incomplete(ErrorKind::unavailable,
                                    fmt::format("node {} is unreachable ({}): a VM missing from the listing may "
                                                "live there",
                                                node.node, node.status));
            }
        }
    }

    // One reader per VM, several at once (each VM's own reads stay in
    // order); problems are collected per VM and reported in VMID order, so
    // the result does not depend on which answer came first.
    std::vector<Vmid> to_read(relevant.begin(), relevant.end());
    std::vector<std::optional<ObservationProblem>> problems(to_read.size());
    auto read_vm = [&](std::size_t index) {
        const Vmid vmid = to_read[index];
        auto& vm = obs.vms.at(vmid);
        const auto& node = vm.summary.node;
        auto problem = [&](ErrorKind kind, std::string message) {
            if (maybe_ours.contains(vmid) && !vm.config) {  // whose it is stays unknown: skipped
                logger.info("cluster {}: skipped VM {}: {}", cluster.name, vmid.value, message);
                return;
            }
            problems[index] = ObservationProblem{kind, std::move(message)};
        };
        if (!node_online(node)) {
            problem(ErrorKind::unavailable, fmt::format("VM {} is on node {}, which is unreachable", vmid.value, node));
            return;
        }
        // The early read counts when it asked the node the listing names.
        Result<VmConfig> config = fail(ErrorKind::internal, "not read");
        auto early_config = early_configs.find(vmid);
        if (node == cluster.node && early_config != early_configs.end() && early_config->second) {
            config = std::move(early_config->second);
        } else {
            config = api.get_config(node, vmid);
        }
        if (!config) {
            problem(config.error().kind,
                    describe_failure(fmt::format("GET config of VM {} on {}", vmid.value, node), config.error()));
            return;
        }
        vm.config = std::move(*config);
        if (vm.summary.is_template) return;
        bool ours = vm.owned_by(inventory.estate);
        if (!ours && !inventory_vmids.contains(vmid)) return;  // another estate's VM: not ours to look at

        bool locked = vm.in_flight();
        if (locked || (ours && vm.summary.status != "running")) {
            auto tasks = api.active_tasks(node, vmid);
            if (!tasks) {
                problem(tasks.error().kind,
                        describe_failure(fmt::format("GET active tasks of VM {}", vmid.value), tasks.error()));
                return;
            }
            if (auto failed = check_lock_holder(api, cluster, node, vmid, vm, *tasks)) {
                problems[index] = std::move(*failed);
                return;
            }
            vm.active_tasks = std::move(*tasks);
        }
        if (ours && vm.summary.status == "stopped") {
            auto cloudinit = api.get_cloudinit(node, vmid);
            if (!cloudinit) {
                problem(cloudinit.error().kind,
                        describe_failure(fmt::format("GET cloud-init of VM {}", vmid.value), cloudinit.error()));
                return;
            }
            vm.cloudinit = std::move(*cloudinit);
        }
    };
    constexpr std::size_t kConcurrentReads = 8;
    for (std::size_t first = 0; first < to_read.size(); first += kConcurrentReads) {
        std::vector<std::jthread> readers;
        for (std::size_t i = first; i < std::min(first + kConcurrentReads, to_read.size()); ++i) {
            readers.emplace_back(read_vm, i);
        }
    }  // each batch joins before the next starts
    for (auto& problem : problems) {
        if (problem) obs.mark_incomplete(problem->kind, std::move(problem->message));
    }

    if (obs.complete) {
        logger.debug("cluster {}: {} guests listed, {} read", cluster.name, obs.vms.size(), relevant.size());
    } else {
        for (const auto& problem : obs.problems) {
            logger.warn("cluster {}: observation incomplete: {}", cluster.name, problem.message);
        }
    }
    return obs;
}

ObservedState observe(const Inventory& inventory, const ClusterApis& apis, spdlog::logger& logger) {
    ObservedState state;
    state.estate = inventory.estate;
    std::vector<ClusterObservation> results(inventory.clusters.size());
    {
        std::vector<std::jthread> workers;
        workers.reserve(inventory.clusters.size());
        for (std::size_t i = 0; i < inventory.clusters.size(); ++i) {
            const auto& cluster = inventory.clusters[i];
            auto it = apis.find(cluster.name);
            if (it == apis.end() || it->second == nullptr) {
                results[i].cluster = cluster.name;
                results[i].mark_incomplete(ErrorKind::invalid, "no API connection for this cluster");
                continue;
            }
            workers.emplace_back([&inventory, &cluster, api = it->second, &logger, &slot = results[i]] {
                slot = observe_cluster(inventory, cluster, *api, logger);
            });
        }
    }  // jthreads join here
    for (auto& result : results) {
        auto name = result.cluster;
        state.clusters.emplace(std::move(name), std::move(result));
    }
    return state;
}

std::string observed_digest(const ClusterObservation& cluster, Vmid vmid) {
    const ObservedVm* vm = cluster.find(vmid);
    std::string text = fmt::format("cluster={}\nvmid={}\n", cluster.cluster, vmid.value);
    if (vm == nullptr) {
        text += "absent\n";
    } else {
        const auto& s = vm->summary;
        text += fmt::format("node={}\nstatus={}\nname={}\ntemplate={}\ntags={}\nlock={}\n", s.node, s.status,
                            percent_encode(s.name), s.is_template ? 1 : 0, percent_encode(s.tags),
                            s.lock.value_or(""));
        if (vm->config) {
            for (const auto& [key, value] : *vm->config) {
                text += fmt::format("config.{}={}\n", key, percent_encode(value));
            }
        }
        if (vm->active_tasks) {
            std::vector<std::string> tasks;
            for (const auto& task : *vm->active_tasks) tasks.push_back(fmt::format("task={} {}\n", task.upid, task.status));
            std::sort(tasks.begin(), tasks.end());
            for (const auto& line : tasks) text += line;
        }
        if (vm->cloudinit) {
            std::vector<std::string> entries;
            for (const auto& e : *vm->cloudinit) {
                entries.push_back(fmt::format("cloudinit.{}={}|{}|{}\n", e.key, percent_encode(e.value.value_or("")),
                                              e.pending ? percent_encode(*e.pending) : "-", e.deleted ? 1 : 0));
            }
            std::sort(entries.begin(), entries.end());
            for (const auto& line : entries) text += line;
        }
    }
    return "sha256:" + sha256_hex(text);
}

}  // namespace dnsctl
