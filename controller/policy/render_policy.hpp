// Views of a PolicyReport: the text table and finding lines people read, and
// the JSON object machines read. Both read the same report; neither prints.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "policy/check_policy.hpp"

namespace dnsctl {

// One line per dimension: distinct values, the worst single loss and the
// nameservers left per address family, the verdict. Ends with a newline.
std::string render_policy_table(const PolicyReport& report);

// "file:line:col: error: message [id; basis, basis]"
std::string format_finding(const PolicyFinding& finding);

// {"passed", "nameservers", "reachable", "min_surviving", "rows": [...], "findings": [...]}
// (documented in controller/cli/validate-json.md).
nlohmann::ordered_json policy_to_json(const PolicyReport& report);
nlohmann::ordered_json location_to_json(const SourceLocation& where);

}  // namespace dnsctl
