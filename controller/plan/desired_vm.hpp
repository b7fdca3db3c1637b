// The VMs the inventory asks for: one DesiredVm per host (the hidden primary
// and each public nameserver). Pure: derived from the Inventory alone.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/types.hpp"
#include "inventory/model.hpp"
#include "plan/vm_attributes.hpp"

namespace dnsctl {

enum class VmRole { primary, public_nameserver };
std::string_view to_string(VmRole role);  // "primary" / "public_nameserver"
std::string_view role_tag(VmRole role);   // "dns-primary" / "dns-public"
std::optional<VmRole> role_from_tags(std::string_view normalised_tags);

inline constexpr std::string_view kOwnerTag = "dnsctl";

// The VM's own resolvers (cloud-init `nameserver`, `searchdomain`). With no
// nameservers, dnsctl leaves both keys alone (cloud-init then takes the
// Proxmox host's settings). The searchdomain defaults to the parent domain of
// the VM's name.
struct ResolverSettings {
    std::vector<IpAddress> nameservers;
    std::optional<std::string> searchdomain;
};

struct DesiredVm {
    std::string address;   // vm[<cluster>/<vmid>]
    std::string cluster;
    std::string node;      // where the template lives and the clone is made
    VmRole role = VmRole::public_nameserver;
    DnsName fqdn;          // also the VM name
    Vmid vmid;
    std::string estate;

    // Creation only (not observable afterwards, never compared).
    Vmid template_vmid;
    std::string storage;   // target storage of the full clone
    bool full_clone = true;

    // Managed settings.
    int cores = 0;
    int memory_mib = 0;
    int disk_gib = 0;      // scsi0
    std::string bridge;
    std::optional<int> vlan;
    std::string ipconfig0;                  // ip=<v4/len>,gw=<v4>,ip6=<v6/len>,gw6=<v6>
    std::optional<std::string> nameserver;  // space-separated
    std::optional<std::string> searchdomain;
    std::string ciuser;
    std::vector<std::string> ssh_keys;      // OpenSSH public key lines: dnsctl's first, then the inventory's
    std::vector<std::string> tags;          // normalised: dnsctl + role tag
    bool agent = true;
    bool onboot = true;

    // The managed attributes, normalised (status = running).
    [[nodiscard]] VmAttributes attributes() const;
    // What the clone request writes: the marker line only (no stamp yet, so an
    // interrupted create is recognised as unfinished, not as drift).
    [[nodiscard]] std::string clone_description() const;
};

// One DesiredVm per host, the primary first, then the nameservers in
// inventory order. Fails on an empty key or a host whose cluster is unknown
// (the loader reports those too; this never guesses).
Result<std::vector<DesiredVm>> derive_desired_vms(const Inventory& inventory, const std::string& ssh_public_key,
                                                  const ResolverSettings& resolvers = {});

// Every name in a zone's apex NS RRset (lower-case, no trailing dot) -> the
// zones naming it. A VM with such a name is never destroyed.
std::map<std::string, std::set<std::string>> nameserver_zones(const Inventory& inventory);

}  // namespace dnsctl
