#include "faults.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "values.hpp"

namespace pvesim {

namespace {

bool glob(std::string_view pattern, std::string_view text) {
    return fnmatch(std::string(pattern).c_str(), std::string(text).c_str(), 0) == 0;
}

bool match_segments(const std::vector<std::string>& pattern, std::size_t pi, const std::vector<std::string>& path,
                    std::size_t ti) {
    if (pi == pattern.size()) return ti == path.size();
    if (pattern[pi] == "**") {
        for (std::size_t skip = ti; skip <= path.size(); ++skip) {
            if (match_segments(pattern, pi + 1, path, skip)) return true;
        }
        return false;
    }
    if (ti == path.size()) return false;
    return glob(pattern[pi], path[ti]) && match_segments(pattern, pi + 1, path, ti + 1);
}

std::vector<std::string> segments(std::string_view path) {
    std::vector<std::string> out;
    for (auto& part : split(path, '/')) {
        if (!part.empty()) out.push_back(part);
    }
    return out;
}

}  // namespace

std::string_view to_string(FaultAction action) {
    switch (action) {
        case FaultAction::latency: return "latency";
        case FaultAction::error: return "error";
        case FaultAction::reset: return "reset";
        case FaultAction::no_answer: return "no_answer";
        case FaultAction::lock_timeout: return "lock_timeout";
        case FaultAction::task_fail: return "task_fail";
        case FaultAction::task_warnings: return "task_warnings";
    }
    return "latency";
}

std::optional<FaultAction> parse_fault_action(std::string_view text) {
    for (auto action : {FaultAction::latency, FaultAction::error, FaultAction::reset, FaultAction::no_answer,
                        FaultAction::lock_timeout, FaultAction::task_fail, FaultAction::task_warnings}) {
        if (to_string(action) == text) return action;
    }
    return std::nullopt;
}

bool glob_path_match(std::string_view pattern, std::string_view path) {
    return match_segments(segments(pattern), 0, segments(path), 0);
}

bool FaultRule::matches(std::string_view cluster_name, std::string_view method_name, std::string_view api_path) const {
    return glob(cluster, cluster_name) && (method == "*" || method == method_name) && glob_path_match(path, api_path);
}

double fault_draw(std::uint64_t seed, std::string_view rule_id, std::string_view cluster, std::string_view method,
                  std::string_view path, std::uint64_t ordinal) {
    auto h = stable_hash(fmt::format("{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}", seed, rule_id, cluster, method, path, ordinal));
    return static_cast<double>(h >> 11) / static_cast<double>(1ULL << 53);
}

FaultDecision decide_faults(const std::vector<FaultRule>& rules, std::uint64_t seed, std::string_view cluster,
                            std::string_view method, std::string_view path, std::uint64_t ordinal) {
    FaultDecision decision;
    for (const auto& rule : rules) {
        if (!rule.matches(cluster, method, path) || ordinal < rule.after) continue;
        double draw = fault_draw(seed, rule.id, cluster, method, path, ordinal);
        bool fire = rule.ordinals.empty()
                        ? draw < rule.rate
                        : std::find(rule.ordinals.begin(), rule.ordinals.end(), ordinal) != rule.ordinals.end();
        if (!fire) continue;
        switch (rule.action) {
            case FaultAction::latency: {
                int jitter = 0;
                if (rule.jitter_ms > 0) {
                    double jitter_draw = fault_draw(seed, rule.id + "/jitter", cluster, method, path, ordinal);
                    jitter = static_cast<int>(jitter_draw * (rule.jitter_ms + 1));
                }
                decision.latency_ms += rule.latency_ms + jitter;
                break;
            }
            case FaultAction::reset:
            case FaultAction::no_answer:
                if (decision.network) continue;
                decision.network = rule;
                break;
            case FaultAction::error:
            case FaultAction::lock_timeout:
                if (decision.error) continue;
                decision.error = rule;
                break;
            case FaultAction::task_fail:
                if (decision.task_fail) continue;
                decision.task_fail = rule.message;
                break;
            case FaultAction::task_warnings:
                if (decision.task_warnings) continue;
                decision.task_warnings = std::max(1, rule.warnings);
                break;
        }
        decision.fired.push_back(rule.id);
    }
    return decision;
}

FaultRule fault_rule_from_json(const nlohmann::json& json, std::size_t index) {
    if (!json.is_object()) throw std::invalid_argument("a fault rule must be an object");
    static const std::set<std::string> known = {"id", "name", "cluster", "method", "path", "action", "rate", "ordinals",
                                                "after", "latency_ms", "jitter_ms", "status", "message",
                                                "after_handler", "warnings"};
    for (auto& [key, _] : json.items()) {
        if (!known.count(key)) throw std::invalid_argument(fmt::format("unknown fault rule key '{}'", key));
    }
    FaultRule rule;
    rule.id = json.value("id", json.value("name", fmt::format("rule-{}", index)));
    rule.cluster = json.value("cluster", rule.cluster);
    rule.method = json.value("method", rule.method);
    rule.path = json.value("path", rule.path);
    auto action = json.value("action", std::string("latency"));
    auto parsed = parse_fault_action(action);
    if (!parsed) throw std::invalid_argument(fmt::format("unknown fault action '{}'", action));
    rule.action = *parsed;
    rule.rate = json.value("rate", 1.0);
    if (rule.rate < 0 || rule.rate > 1) throw std::invalid_argument("fault rate must be between 0 and 1");
    if (json.contains("ordinals")) rule.ordinals = json["ordinals"].get<std::vector<std::uint64_t>>();
    rule.after = json.value("after", std::uint64_t{0});
    rule.latency_ms = json.value("latency_ms", 0);
    rule.jitter_ms = json.value("jitter_ms", 0);
    rule.status = json.value("status", rule.action == FaultAction::error ? 500 : 500);
    if (rule.status < 100 || rule.status > 999) throw std::invalid_argument("fault status must be 100..999");
    rule.message = json.value("message", std::string());
    rule.after_handler = json.value("after_handler", false);
    rule.warnings = json.value("warnings", 1);
    if (rule.action == FaultAction::error && rule.message.empty()) {
        rule.message = rule.status == 595 ? "No route to host" : "simulated failure";
    }
    if (rule.action == FaultAction::task_fail && rule.message.empty()) rule.message = "simulated task failure";
    return rule;
}

nlohmann::json to_json(const FaultRule& rule) {
    nlohmann::json json = {
        {"id", rule.id}, {"cluster", rule.cluster}, {"method", rule.method}, {"path", rule.path},
        {"action", std::string(to_string(rule.action))}, {"rate", rule.rate}, {"after", rule.after},
    };
    if (!rule.ordinals.empty()) json["ordinals"] = rule.ordinals;
    switch (rule.action) {
        case FaultAction::latency:
            json["latency_ms"] = rule.latency_ms;
            json["jitter_ms"] = rule.jitter_ms;
            break;
        case FaultAction::error:
            json["status"] = rule.status;
            json["message"] = rule.message;
            json["after_handler"] = rule.after_handler;
            break;
        case FaultAction::reset:
        case FaultAction::no_answer:
            json["after_handler"] = rule.after_handler;
            break;
        case FaultAction::lock_timeout: break;
        case FaultAction::task_fail: json["message"] = rule.message; break;
        case FaultAction::task_warnings: json["warnings"] = rule.warnings; break;
    }
    return json;
}

}  // namespace pvesim
