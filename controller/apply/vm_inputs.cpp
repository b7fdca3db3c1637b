#include "apply/vm_inputs.hpp"

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <sstream>

#include "core/text.hpp"

namespace dnsctl {

Result<std::string> read_ssh_public_key(const Inventory& inventory) {
    auto path = inventory.ssh.key_file;
    path += ".pub";
    std::ifstream in(path);
    if (!in) {
        return fail(ErrorKind::not_found,
                    fmt::format("dnsctl's SSH public key {} cannot be read: dnsctl puts it on every VM it creates. "
                                "Make the key pair with: ssh-keygen -t ed25519 -N '' -f {}",
                                path.string(), inventory.ssh.key_file.string()));
    }
    std::stringstream content;
    content << in.rdbuf();
    const std::string text = content.str();
    std::vector<std::string> lines;
    for (auto line : split_lines(text)) {
        auto trimmed = trim(line);
        if (!trimmed.empty()) lines.emplace_back(trimmed);
    }
    if (lines.size() != 1 || lines.front().starts_with("-----")) {
        return fail(ErrorKind::invalid,
                    fmt::format("{} must hold exactly one OpenSSH public key line (ssh-ed25519 AAAA… comment)",
                                path.string()));
    }
    return lines.front();
}

Result<std::vector<DesiredVm>> derive_estate_vms(const Inventory& inventory, const std::string& ssh_public_key) {
    // derive_desired_vms takes one ResolverSettings for every VM: derive once
    // per cluster and keep that cluster's VMs, in the order of a plain derivation.
    auto order = derive_desired_vms(inventory, ssh_public_key);
    if (!order) return order;
    std::map<std::string, DesiredVm> by_address;
    for (const auto& cluster : inventory.clusters) {
        if (cluster.resolvers.empty()) continue;
        ResolverSettings settings;
        settings.nameservers = cluster.resolvers;
        if (cluster.searchdomain) settings.searchdomain = cluster.searchdomain->str();
        auto vms = derive_desired_vms(inventory, ssh_public_key, settings);
        if (!vms) return vms;
        for (auto& vm : *vms) {
            if (vm.cluster == cluster.name) by_address.insert_or_assign(vm.address, std::move(vm));
        }
    }
    for (auto& vm : *order) {
        if (auto it = by_address.find(vm.address); it != by_address.end()) vm = std::move(it->second);
    }
    return order;
}

}  // namespace dnsctl
