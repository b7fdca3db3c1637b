#include "plan/desired_vm.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "plan/address.hpp"

namespace dnsctl {

namespace {

std::string ipconfig_for(const Host& host) {
    std::vector<std::string> parts;
    if (host.ipv4) {
        parts.push_back(fmt::format("ip={}", host.ipv4->address.str()));
        parts.push_back(fmt::format("gw={}", host.ipv4->gateway.str()));
    }
    if (host.ipv6) {
        parts.push_back(fmt::format("ip6={}", host.ipv6->address.str()));
        parts.push_back(fmt::format("gw6={}", host.ipv6->gateway.str()));
    }
    if (parts.empty()) parts.emplace_back("ip=dhcp");
    std::string out;
    for (const auto& part : parts) out += (out.empty() ? "" : ",") + part;
    return normalise_ipconfig(out);
}

std::string trimmed(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\n' ||
                             text.front() == '\r')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' ||
                             text.back() == '\r')) {
        text.remove_suffix(1);
    }
    return std::string(text);
}

Result<DesiredVm> desired_for(const Inventory& inventory, const Host& host, VmRole role,
                              const std::vector<std::string>& keys, const ResolverSettings& resolvers) {
    const Cluster* cluster = inventory.find_cluster(host.cluster);
    if (cluster == nullptr) {
        return fail(ErrorKind::invalid,
                    fmt::format("{}: {} names cluster '{}', which the inventory does not define", host.where.format(),
                                host.fqdn.str(), host.cluster));
    }
    DesiredVm vm;
    vm.address = vm_address(cluster->name, host.vmid);
    vm.cluster = cluster->name;
    vm.node = cluster->node;
    vm.role = role;
    vm.fqdn = host.fqdn;
    vm.vmid = host.vmid;
    vm.estate = inventory.estate;
    vm.template_vmid = cluster->template_vmid;
    vm.storage = cluster->storage;
    vm.cores = host.resources.cores;
    vm.memory_mib = host.resources.memory_mib;
    vm.disk_gib = host.resources.disk_gib;
    vm.bridge = cluster->bridge;
    vm.vlan = cluster->vlan;
    vm.ipconfig0 = ipconfig_for(host);
    if (!resolvers.nameservers.empty()) {
        std::string list;
        for (const auto& address : resolvers.nameservers) list += (list.empty() ? "" : " ") + address.str();
        vm.nameserver = normalise_nameserver(list);
        if (resolvers.searchdomain) {
            vm.searchdomain = normalise_searchdomain(*resolvers.searchdomain);
        } else {
            auto dot = host.fqdn.str().find('.');
            vm.searchdomain = dot == std::string::npos ? host.fqdn.str() : host.fqdn.str().substr(dot + 1);
        }
    }
    vm.ciuser = inventory.ssh.user;
    vm.ssh_keys = keys;
    vm.tags = {std::string(kOwnerTag), std::string(role_tag(role))};
    std::sort(vm.tags.begin(), vm.tags.end());
    return vm;
}

}  // namespace

std::string_view to_string(VmRole role) {
    switch (role) {
    case VmRole::primary: return "primary";
    case VmRole::public_nameserver: return "public_nameserver";
    }
    return "public_nameserver";
}

std::string_view role_tag(VmRole role) {
    switch (role) {
    case VmRole::primary: return "dns-primary";
    case VmRole::public_nameserver: return "dns-public";
    }
    return "dns-public";
}

std::optional<VmRole> role_from_tags(std::string_view normalised_tags) {
    std::string_view rest = normalised_tags;
    while (!rest.empty()) {
        auto end = rest.find(';');
        auto tag = rest.substr(0, end);
        if (tag == role_tag(VmRole::primary)) return VmRole::primary;
        if (tag == role_tag(VmRole::public_nameserver)) return VmRole::public_nameserver;
        if (end == std::string_view::npos) break;
        rest.remove_prefix(end + 1);
    }
    return std::nullopt;
}

VmAttributes DesiredVm::attributes() const {
    VmAttributes out;
    out.emplace(attr::kAgent, agent ? "1" : "0");
    out.emplace(attr::kCiuser, ciuser);
    out.emplace(attr::kCores, std::to_string(cores));
    out.emplace(attr::kIpconfig0, ipconfig0);
    out.emplace(attr::kMemory, std::to_string(memory_mib));
    out.emplace(attr::kName, fqdn.str());
    if (nameserver) out.emplace(attr::kNameserver, *nameserver);
    NetDevice net;
    net.model = "virtio";
    net.bridge = bridge;
    if (vlan) net.tag = std::to_string(*vlan);
    out.emplace(attr::kNet0, net.managed());
    out.emplace(attr::kOnboot, onboot ? "1" : "0");
    out.emplace(attr::kScsi0Size, format_size(static_cast<std::uint64_t>(disk_gib) << 30));
    if (searchdomain) out.emplace(attr::kSearchdomain, *searchdomain);
    std::string keys;
    for (const auto& key : ssh_keys) keys += (keys.empty() ? "" : "\n") + key;
    out.emplace(attr::kSshkeys, normalise_sshkeys(percent_encode(keys)));
    out.emplace(attr::kStatus, "running");
    out.emplace(attr::kTags, join_tags(tags));
    return out;
}

std::string DesiredVm::clone_description() const { return compose_description("", estate, std::nullopt); }

Result<std::vector<DesiredVm>> derive_desired_vms(const Inventory& inventory, const std::string& ssh_public_key,
                                                  const ResolverSettings& resolvers) {
    auto own_key = trimmed(ssh_public_key);
    if (own_key.empty() || own_key.find('\n') != std::string::npos) {
        return fail(ErrorKind::invalid, "dnsctl's SSH public key must be one non-empty OpenSSH key line");
    }
    std::vector<std::string> keys{own_key};
    for (const auto& extra : inventory.ssh.extra_authorized_keys) {
        auto key = trimmed(extra);
        if (!key.empty() && std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    }

    std::vector<DesiredVm> out;
    auto primary = desired_for(inventory, inventory.primary, VmRole::primary, keys, resolvers);
    if (!primary) return std::unexpected(primary.error());
    out.push_back(std::move(*primary));
    for (const auto& ns : inventory.nameservers) {
        auto vm = desired_for(inventory, ns, VmRole::public_nameserver, keys, resolvers);
        if (!vm) return std::unexpected(vm.error());
        out.push_back(std::move(*vm));
    }
    return out;
}

std::map<std::string, std::set<std::string>> nameserver_zones(const Inventory& inventory) {
    std::map<std::string, std::set<std::string>> out;
    for (const auto& zone : inventory.zones) {
        if (!zone.facts) continue;
        for (const auto& ns : zone.facts->apex_ns) out[ns.str()].insert(zone.name.str());
    }
    return out;
}

}  // namespace dnsctl
