// `plan --out plan.json` / `apply --plan plan.json`: a saved plan is applied
// only if the world and the inventory still give exactly that plan. apply
// re-observes, plans again with the saved options, and refuses when an
// observed digest or the plan digest differs; it then executes the fresh plan
// (equal to the reviewed one), so no step is ever read back from a file.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "plan/observed_state.hpp"
#include "plan/plan.hpp"

namespace dnsctl {

struct SavedPlan {
    std::string format_version;
    std::string estate;
    bool allow_replace = false;
    std::vector<std::string> replace;
    bool allow_destroy = false;
    std::map<std::string, std::string> observed_digests;
    std::string plan_digest;

    // The options to plan again with (the NS RRsets come from the inventory).
    [[nodiscard]] PlanOptions options(std::map<std::string, std::set<std::string>> nameserver_zones) const;
};

Result<SavedPlan> parse_saved_plan(std::string_view json_text);

struct StaleCheck {
    std::vector<std::string> changed_addresses;  // observed state differs from when the plan was made
    bool estate_differs = false;
    bool plan_differs = false;                   // same world, other changes: the inventory changed

    [[nodiscard]] bool stale() const { return estate_differs || plan_differs || !changed_addresses.empty(); }
    [[nodiscard]] std::string message() const;   // why the saved plan is refused
};

// Compares a saved plan with a fresh observation and the plan made from it.
StaleCheck check_saved_plan(const SavedPlan& saved, const ObservedState& observed, const Plan& fresh);

}  // namespace dnsctl
