// The JSON view of a Plan (and the saved-plan reader): the only place where
// the plan meets nlohmann-json.
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <charconv>

#include "plan/address.hpp"
#include "plan/render.hpp"
#include "plan/saved_plan.hpp"
#include "plan/sha256.hpp"

namespace dnsctl {

namespace {

using Json = nlohmann::ordered_json;

// Names and messages come from the clusters and may hold anything: bytes that
// are not UTF-8 become U+FFFD instead of an exception, and everything beyond
// ASCII is written as \uXXXX, so the document is valid JSON and shows no raw
// control character (C1 included) on a terminal.
std::string dump(const Json& document, int indent) {
    return document.dump(indent, ' ', true, Json::error_handler_t::replace);
}

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

Json attribute_value(std::string_view name, const std::string& value) {
    const auto* spec = find_attribute_spec(name);
    auto kind = spec == nullptr ? AttributeKind::text : spec->kind;
    switch (kind) {
    case AttributeKind::number: {
        long long number = 0;
        auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
        if (ec == std::errc{} && ptr == value.data() + value.size()) return number;
        return value;
    }
    case AttributeKind::flag: return value == "1";
    case AttributeKind::lines: {
        Json lines = Json::array();
        std::size_t start = 0;
        while (start < value.size()) {
            auto end = value.find('\n', start);
            if (end == std::string::npos) end = value.size();
            lines.push_back(value.substr(start, end - start));
            start = end + 1;
        }
        return lines;
    }
    case AttributeKind::text: break;
    }
    return value;
}

Json attributes_json(const std::optional<VmAttributes>& attributes, const std::set<std::string>& sensitive) {
    if (!attributes) return nullptr;
    Json out = Json::object();
    for (const auto& [name, value] : *attributes) {
        out[name] = sensitive.contains(name) ? Json(nullptr) : attribute_value(name, value);
    }
    return out;
}

Json sensitive_json(const std::optional<VmAttributes>& attributes, const std::set<std::string>& sensitive) {
    Json out = Json::object();
    if (!attributes) return out;
    for (const auto& name : sensitive) {
        if (attributes->contains(name)) out[name] = true;
    }
    return out;
}

Json step_json(const Step& step, const std::set<std::string>& sensitive) {
    Json out = Json::object();
    out["kind"] = std::string(step_kind(step));
    std::visit(Overloaded{
                   [&](const CloneStep& s) {
                       out["node"] = s.node;
                       out["source"] = s.source.value;
                       out["newid"] = s.request.newid.value;
                       out["name"] = s.request.name;
                       out["description"] = s.request.description;
                       out["full"] = s.request.full;
                       out["storage"] = s.request.storage ? Json(*s.request.storage) : Json(nullptr);
                   },
                   [&](const WaitTaskStep& s) { out["step"] = s.step; },
                   [&](const ConfirmUnlockedStep& s) {
                       out["node"] = s.node;
                       out["vmid"] = s.vmid.value;
                   },
                   [&](const ConfigureStep& s) {
                       out["node"] = s.node;
                       out["vmid"] = s.vmid.value;
                       Json set = Json::object();
                       for (const auto& [key, value] : s.update.set) {
                           set[key] = sensitive.contains(key) ? Json(nullptr) : Json(value);
                       }
                       out["set"] = std::move(set);
                       out["delete"] = s.update.remove;
                       out["digest"] = s.update.digest ? Json(*s.update.digest) : Json(nullptr);
                   },
                   [&](const VerifyCloudinitStep& s) {
                       out["node"] = s.node;
                       out["vmid"] = s.vmid.value;
                       Json expected = Json::object();
                       for (const auto& [key, value] : s.expected) {
                           expected[key] = sensitive.contains(key) ? Json(nullptr) : Json(value);
                       }
                       out["expected"] = std::move(expected);
                   },
                   [&](const ResizeDiskStep& s) {
                       out["node"] = s.node;
                       out["vmid"] = s.vmid.value;
                       out["disk"] = s.disk;
                       out["size"] = s.size;
                   },
                   [&](const StartStep& s) {
                       out["node"] = s.node;
                       out["vmid"] = s.vmid.value;
                   },
                   [&](const ShutdownStep& s) {
                       out["node"] = s.node;
                       out["vmid"] = s.vmid.value;
                       out["force_stop"] = s.force_stop;
                   },
                   [&](const StopStep& s) {
                       out["node"] = s.node;
                       out["vmid"] = s.vmid.value;
                   },
                   [&](const DestroyStep& s) {
                       out["node"] = s.node;
                       out["vmid"] = s.vmid.value;
                   },
                   [&](const ConfirmAbsentStep& s) { out["vmid"] = s.vmid.value; },
                   [&](const WaitIdleStep& s) {
                       out["node"] = s.node;
                       out["vmid"] = s.vmid.value;
                       out["lock"] = s.lock ? Json(*s.lock) : Json(nullptr);
                       out["tasks"] = s.tasks;
                   },
               },
               step);
    return out;
}

Json change_json(const ResourceChange& change) {
    Json out = Json::object();
    out["address"] = change.address;
    out["type"] = "proxmox_vm";
    out["cluster"] = change.cluster;
    out["vmid"] = change.vmid.value;
    out["node"] = change.node;
    out["role"] = change.role ? Json(std::string(to_string(*change.role))) : Json(nullptr);
    out["name"] = change.name;
    Json actions = Json::array();
    for (auto action : change.actions) actions.push_back(std::string(to_string(action)));
    Json body = Json::object();
    body["actions"] = std::move(actions);
    body["before"] = attributes_json(change.before, change.sensitive);
    body["after"] = attributes_json(change.after, change.sensitive);
    body["before_sensitive"] = sensitive_json(change.before, change.sensitive);
    body["after_sensitive"] = sensitive_json(change.after, change.sensitive);
    body["action_reason"] = change.action_reason.empty() ? Json(nullptr) : Json(change.action_reason);
    out["change"] = std::move(body);
    out["reason"] = change.reason.empty() ? Json(nullptr) : Json(change.reason);
    out["restart_needed"] = change.restart_needed;
    out["touches_in_service_nameserver"] = change.touches_in_service_nameserver;
    Json steps = Json::array();
    for (const auto& step : change.steps) steps.push_back(step_json(step, change.sensitive));
    out["steps"] = std::move(steps);
    return out;
}

Json problems_json(const std::vector<PlanProblem>& problems) {
    Json out = Json::array();
    for (const auto& problem : problems) {
        out.push_back(Json{{"address", problem.address.empty() ? Json(nullptr) : Json(problem.address)},
                           {"message", problem.message}});
    }
    return out;
}

// The document without observed_digests and plan_digest.
Json plan_body(const Plan& plan) {
    Json out = Json::object();
    out["format_version"] = kPlanFormatVersion;
    out["estate"] = plan.estate;
    out["complete"] = plan.complete();
    out["applyable"] = plan.applyable();
    std::vector<std::string> replace(plan.options.replace.begin(), plan.options.replace.end());
    out["options"] = Json{{"allow_replace", plan.options.allow_replace},
                          {"replace", replace},
                          {"allow_destroy", plan.options.allow_destroy}};
    auto summary = plan.summary();
    out["summary"] = Json{{"add", summary.add},
                          {"change", summary.change},
                          {"destroy", summary.destroy},
                          {"wait", summary.wait}};
    out["errors"] = problems_json(plan.errors);
    out["warnings"] = problems_json(plan.warnings);
    Json incomplete = Json::array();
    for (const auto& cluster : plan.incomplete) {
        incomplete.push_back(
            Json{{"cluster", cluster.cluster}, {"reasons", cluster.reasons}, {"unplanned", cluster.unplanned}});
    }
    out["incomplete_clusters"] = std::move(incomplete);
    Json changes = Json::array();
    for (const auto& change : plan.changes) changes.push_back(change_json(change));
    out["resource_changes"] = std::move(changes);
    out["checks"] = Json::array();
    return out;
}

}  // namespace

std::string plan_digest(const Plan& plan) { return "sha256:" + sha256_hex(dump(plan_body(plan), -1)); }

std::string render_json(const Plan& plan) {
    auto document = plan_body(plan);
    Json digests = Json::object();
    for (const auto& [address, digest] : plan.observed_digests) digests[address] = digest;
    document["observed_digests"] = std::move(digests);
    document["plan_digest"] = plan_digest(plan);
    return dump(document, 2) + "\n";
}

PlanOptions SavedPlan::options(std::map<std::string, std::set<std::string>> nameserver_zones) const {
    PlanOptions out;
    out.allow_replace = allow_replace;
    out.replace.insert(replace.begin(), replace.end());
    out.allow_destroy = allow_destroy;
    out.nameserver_zones = std::move(nameserver_zones);
    return out;
}

Result<SavedPlan> parse_saved_plan(std::string_view json_text) {
    Json document;
    try {
        document = Json::parse(json_text);
    } catch (const Json::exception& e) {
        return fail(ErrorKind::invalid, fmt::format("the saved plan is not JSON: {}", e.what()));
    }
    auto invalid = [](std::string_view what) {
        return fail(ErrorKind::invalid, fmt::format("the saved plan is not a dnsctl plan: {}", what));
    };
    if (!document.is_object()) return invalid("not an object");
    SavedPlan saved;
    try {
        if (!document.contains("format_version") || !document["format_version"].is_string()) {
            return invalid("no format_version");
        }
        saved.format_version = document["format_version"].get<std::string>();
        if (saved.format_version.substr(0, saved.format_version.find('.')) !=
            std::string(kPlanFormatVersion).substr(0, 1)) {
            return fail(ErrorKind::invalid,
                        fmt::format("the saved plan has format_version {}, this dnsctl reads {}.x",
                                    saved.format_version, std::string(kPlanFormatVersion).substr(0, 1)));
        }
        saved.estate = document.at("estate").get<std::string>();
        const auto& options = document.at("options");
        saved.allow_replace = options.at("allow_replace").get<bool>();
        saved.replace = options.at("replace").get<std::vector<std::string>>();
        saved.allow_destroy = options.at("allow_destroy").get<bool>();
        saved.observed_digests = document.at("observed_digests").get<std::map<std::string, std::string>>();
        saved.plan_digest = document.at("plan_digest").get<std::string>();
    } catch (const Json::exception& e) {
        return invalid(e.what());
    }
    return saved;
}

std::string StaleCheck::message() const {
    std::vector<std::string> parts;
    if (estate_differs) parts.emplace_back("it was made for another estate");
    if (!changed_addresses.empty()) {
        std::string list;
        for (const auto& address : changed_addresses) list += (list.empty() ? "" : ", ") + address;
        parts.push_back(fmt::format("the observed state of {} changed since it was made", list));
    }
    if (plan_differs) parts.emplace_back("planning again now gives other changes (the inventory or options changed)");
    std::string text = "the saved plan is stale: ";
    for (std::size_t i = 0; i < parts.size(); ++i) text += (i ? "; " : "") + parts[i];
    return text + "; run plan again";
}

StaleCheck check_saved_plan(const SavedPlan& saved, const ObservedState& observed, const Plan& fresh) {
    StaleCheck check;
    check.estate_differs = saved.estate != observed.estate;
    std::map<std::string, std::string> current;
    for (const auto& [address, digest] : saved.observed_digests) {
        auto parsed = VmAddress::parse(address);
        if (!parsed) continue;  // reported as changed below
        if (const auto* cluster = observed.find(parsed->cluster)) {
            current[address] = observed_digest(*cluster, parsed->vmid);
        }
    }
    check.changed_addresses = changed_digests(saved.observed_digests, current);
    check.plan_differs = plan_digest(fresh) != saved.plan_digest;
    return check;
}

}  // namespace dnsctl
