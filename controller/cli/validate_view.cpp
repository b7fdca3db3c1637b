#include "cli/validate_view.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/text.hpp"
#include "policy/render_policy.hpp"

namespace dnsctl {

namespace {

std::string count(std::size_t n, std::string_view singular, std::string_view plural) {
    return fmt::format("{} {}", n, n == 1 ? singular : plural);
}

std::size_t warning_count(const Diagnostics& diagnostics) {
    return diagnostics.warning_count();
}

}  // namespace

std::string validation_summary(const ValidationResult& result) {
    std::vector<std::string> parts;
    if (auto errors = result.diagnostics.error_count(); errors > 0) {
        parts.push_back(count(errors, "error", "errors") + " in the inventory");
    }
    std::size_t warnings = warning_count(result.diagnostics);
    if (result.policy) {
        const auto& policy = *result.policy;
        auto passing = static_cast<std::size_t>(std::count_if(
            policy.rows.begin(), policy.rows.end(), [](const PolicyRow& r) { return r.verdict == Verdict::pass; }));
        if (policy.passed()) {
            parts.push_back(fmt::format("policy holds ({}/{} dimensions pass)", passing, policy.rows.size()));
        } else {
            parts.push_back(fmt::format("{} ({}/{} dimensions pass)",
                                        count(policy.error_count(), "policy violation", "policy violations"),
                                        passing, policy.rows.size()));
        }
        warnings += policy.warning_count();
    } else {
        parts.push_back(fmt::format("policy not checked ({})", result.policy_skipped));
    }
    if (warnings > 0) parts.push_back(count(warnings, "warning", "warnings"));
    std::string joined;
    for (const auto& part : parts) joined += (joined.empty() ? "" : ", ") + part;
    return fmt::format("{}: {}: {}", escape_control(result.inventory), result.valid() ? "valid" : "INVALID", joined);
}

// Diagnostics quote the inventory and its zone files: each line is escaped
// (escape_control), so a control character in a zone file shows as \x1b
// instead of acting on the terminal, and one diagnostic stays one line.
std::string render_validation_text(const ValidationResult& result) {
    const std::string diagnostics = result.diagnostics.format();  // split_lines returns views into it
    std::string out;
    for (auto line : split_lines(diagnostics)) out += escape_control(line) + "\n";
    if (!out.empty()) out += "\n";
    if (result.policy) {
        out += render_policy_table(*result.policy);
        out += "\n";
        if (result.policy->findings.empty()) {
            out += "Policy findings: none\n";
        } else {
            out += "Policy findings:\n";
            for (const auto& finding : result.policy->findings) out += escape_control(format_finding(finding)) + "\n";
        }
        out += "\n";
    }
    out += validation_summary(result) + "\n";
    return out;
}

nlohmann::ordered_json validation_to_json(const ValidationResult& result) {
    nlohmann::ordered_json diagnostics = nlohmann::ordered_json::array();
    for (const auto& d : result.diagnostics.items()) {
        diagnostics.push_back({
            {"severity", d.severity == Severity::error ? "error" : "warning"},
            {"location", location_to_json(d.where)},
            {"message", d.message},
        });
    }
    nlohmann::ordered_json policy;
    std::size_t errors = result.diagnostics.error_count();
    std::size_t warnings = warning_count(result.diagnostics);
    if (result.policy) {
        policy = policy_to_json(*result.policy);
        policy["checked"] = true;
        policy["skipped_reason"] = nullptr;
        errors += result.policy->error_count();
        warnings += result.policy->warning_count();
    } else {
        policy = {{"checked", false},
                  {"skipped_reason", result.policy_skipped},
                  {"passed", false},
                  {"rows", nlohmann::ordered_json::array()},
                  {"findings", nlohmann::ordered_json::array()}};
    }
    return {
        {"format_version", std::string(kValidateJsonFormatVersion)},
        {"inventory", result.inventory},
        {"valid", result.valid()},
        {"diagnostics", std::move(diagnostics)},
        {"policy", std::move(policy)},
        {"summary", {{"errors", errors}, {"warnings", warnings}, {"text", validation_summary(result)}}},
    };
}

}  // namespace dnsctl
