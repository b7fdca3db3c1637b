#include "cli/validate.hpp"

#include <system_error>

#include "inventory/load_inventory.hpp"
#include "policy/check_policy.hpp"

namespace dnsctl {

ValidationResult validate_inventory(const std::filesystem::path& path, spdlog::logger& log) {
    return load_and_validate(path, log).result;
}

ValidatedInventory load_and_validate(const std::filesystem::path& path, spdlog::logger& log) {
    namespace fs = std::filesystem;
    ValidatedInventory validated;
    ValidationResult& result = validated.result;
    result.inventory = path.string();

    std::error_code ec;
    auto status = fs::status(path, ec);
    if (!fs::exists(status)) {
        result.diagnostics.error(SourceLocation{path.string()},
                                 "the inventory file does not exist (give the path of an inventory YAML file)");
        result.policy_skipped = "the inventory could not be read";
        return validated;
    }
    if (fs::is_directory(status)) {
        result.diagnostics.error(SourceLocation{path.string()},
                                 "this is a directory; give the path of the inventory YAML file in it");
        result.policy_skipped = "the inventory could not be read";
        return validated;
    }

    log.debug("loading inventory {}", path.string());
    LoadedInventory loaded = load_inventory(path);
    result.diagnostics = loaded.diagnostics;
    result.diagnostics.sort();
    log.debug("inventory {}: {} nameservers, {} zones, {} diagnostics ({} errors)", path.string(),
              loaded.inventory.nameservers.size(), loaded.inventory.zones.size(),
              loaded.diagnostics.items().size(), loaded.diagnostics.error_count());

    // A file that could not be read at all would only add noise (no
    // nameservers, no addresses): report the policy as not checked instead.
    if (loaded.diagnostics.has_errors() && loaded.inventory.nameservers.empty()) {
        result.policy_skipped = "no nameserver could be read from the inventory";
        return validated;
    }
    result.policy = check_policy(loaded.inventory);
    log.debug("policy: {} errors, {} warnings", result.policy->error_count(), result.policy->warning_count());
    validated.inventory = std::move(loaded.inventory);
    return validated;
}

}  // namespace dnsctl
