// What the VM layer needs from a loaded inventory besides the inventory
// itself: dnsctl's own SSH public key, and the desired VMs with each
// cluster's resolver settings.
#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"
#include "inventory/model.hpp"
#include "plan/desired_vm.hpp"

namespace dnsctl {

// The one line of ssh.key_file + ".pub" (cloud-init puts it on every VM so
// dnsctl can log in). A missing or malformed file is an error that says how
// to make one.
Result<std::string> read_ssh_public_key(const Inventory& inventory);

// derive_desired_vms, with the resolvers and search domain of each VM's own
// cluster (`clusters.<name>.resolvers` / `searchdomain`). Same order: the
// primary, then the nameservers in inventory order.
Result<std::vector<DesiredVm>> derive_estate_vms(const Inventory& inventory, const std::string& ssh_public_key);

}  // namespace dnsctl
