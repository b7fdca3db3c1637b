// What `dnsctl validate` found, and its two views: text for people (diagnostics,
// policy table, findings, one summary line) and the JSON document described in
// controller/cli/validate-json.md.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "core/diagnostics.hpp"
#include "policy/check_policy.hpp"

namespace dnsctl {

inline constexpr std::string_view kValidateJsonFormatVersion = "1.0";

struct ValidationResult {
    std::string inventory;               // the path as given on the command line
    Diagnostics diagnostics;             // from loading, sorted by location
    std::optional<PolicyReport> policy;  // nullopt: the policy could not be checked
    std::string policy_skipped;          // why not, when policy is nullopt

    // Valid: no diagnostic error, and the policy was checked and holds. Warnings do not count.
    [[nodiscard]] bool valid() const { return !diagnostics.has_errors() && policy && policy->passed(); }
};

std::string render_validation_text(const ValidationResult& result);
std::string validation_summary(const ValidationResult& result);  // one line, no newline
nlohmann::ordered_json validation_to_json(const ValidationResult& result);

}  // namespace dnsctl
