// Views of a Plan. Both are pure and read the same value: the human text
// (Terraform-like) and the JSON document of `plan --json` / `plan --out`
// (schema in README.md, "The plan as JSON"). Sensitive attributes are redacted in both.
#pragma once

#include <string>

#include "plan/plan.hpp"

namespace dnsctl {

std::string render_text(const Plan& plan);
std::string render_json(const Plan& plan);  // pretty-printed, ends with a newline

// sha256 of the plan's JSON without `observed_digests` and `plan_digest`: two
// plans with the same digest propose the same changes, steps included.
std::string plan_digest(const Plan& plan);

inline constexpr const char* kPlanFormatVersion = "1.0";

}  // namespace dnsctl
