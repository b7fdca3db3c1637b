// `dnsctl validate`: load an inventory, check its diversity policy, offline.
#pragma once

#include <spdlog/logger.h>

#include <filesystem>

#include "cli/validate_view.hpp"
#include "inventory/model.hpp"

namespace dnsctl {

// Everything validate finds; the caller chooses the view. A missing file is a
// diagnostic like any other (exit 1), not an exception.
ValidationResult validate_inventory(const std::filesystem::path& path, spdlog::logger& log);

// The same checks, keeping the inventory that was loaded, for the commands
// that go on to act on it (plan, apply). Act only when result.valid().
struct ValidatedInventory {
    ValidationResult result;
    Inventory inventory;
};
ValidatedInventory load_and_validate(const std::filesystem::path& path, spdlog::logger& log);

}  // namespace dnsctl
