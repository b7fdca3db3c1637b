// load_inventory: the only code that reads YAML. Turns an inventory file into
// typed values plus every problem found (file:line:col), all at once.
#pragma once

#include <filesystem>

#include "core/diagnostics.hpp"
#include "inventory/key_locations.hpp"
#include "inventory/model.hpp"

namespace dnsctl {

struct LoadedInventory {
    // Best effort: what could be read is filled in even when diagnostics hold
    // errors, so the policy check can still report on it. Never act on an
    // inventory whose diagnostics have errors.
    Inventory inventory;
    Diagnostics diagnostics;
    // Where each key path sits in the file, for findings made after loading
    // (the policy check): at("nameservers[ns1.example.eu].asn").
    KeyLocations locations;
};

LoadedInventory load_inventory(const std::filesystem::path& path);

}  // namespace dnsctl
