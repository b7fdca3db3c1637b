// Fault injection. A rule matches requests by cluster, method and path glob
// and fires with a rate, or on listed ordinals. Each decision is a pure
// function of (seed, rule id, cluster, method, path, ordinal of the request on
// that cluster/method/path), so a run is repeatable even with concurrent
// clients: no shared random stream.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pvesim {

enum class FaultAction {
    latency,        // delay the answer by latency_ms (+ up to jitter_ms)
    error,          // answer `status` with `message` (595/596: empty body, message as reason)
    reset,          // TCP reset instead of an answer
    no_answer,      // keep the connection open, never answer
    lock_timeout,   // 500 "can't lock file '/var/lock/qemu-server/lock-<vmid>.conf' - got timeout" after the lock wait
    task_fail,      // the task this request starts ends with exitstatus `message`
    task_warnings,  // the task this request starts ends with "WARNINGS: <warnings>"
};

std::string_view to_string(FaultAction action);
std::optional<FaultAction> parse_fault_action(std::string_view text);

struct FaultRule {
    std::string id;             // name; defaults to "rule-<index>"
    std::string cluster = "*";  // glob on the cluster name
    std::string method = "*";   // GET, POST, PUT, DELETE or *
    std::string path = "/**";   // glob on the API path below /api2/json: '*' one segment (or part of one), '**' any
    FaultAction action = FaultAction::latency;
    double rate = 1.0;                    // probability per matching request
    std::vector<std::uint64_t> ordinals;  // if set: fire exactly on these ordinals (0-based), rate ignored
    std::uint64_t after = 0;              // never fire before this ordinal
    int latency_ms = 0;
    int jitter_ms = 0;
    int status = 500;
    std::string message;     // error reason / task exit status
    bool after_handler = false;  // error/reset/no_answer: the request takes effect first, then the answer is lost
    int warnings = 1;

    [[nodiscard]] bool matches(std::string_view cluster_name, std::string_view method_name, std::string_view api_path) const;
};

// What a request suffers. Latency from several rules adds up; the first
// matching rule of each other kind wins.
struct FaultDecision {
    int latency_ms = 0;
    std::optional<FaultRule> network;  // reset / no_answer
    std::optional<FaultRule> error;    // error / lock_timeout
    std::optional<std::string> task_fail;
    int task_warnings = 0;
    std::vector<std::string> fired;  // rule ids, for the request log

    [[nodiscard]] bool empty() const { return fired.empty(); }
};

FaultDecision decide_faults(const std::vector<FaultRule>& rules, std::uint64_t seed, std::string_view cluster,
                            std::string_view method, std::string_view path, std::uint64_t ordinal);

// A number in [0, 1) from the decision inputs.
double fault_draw(std::uint64_t seed, std::string_view rule_id, std::string_view cluster, std::string_view method,
                  std::string_view path, std::uint64_t ordinal);

bool glob_path_match(std::string_view pattern, std::string_view path);

// JSON form used by the config file and the admin API.
FaultRule fault_rule_from_json(const nlohmann::json& json, std::size_t index);  // throws std::invalid_argument
nlohmann::json to_json(const FaultRule& rule);

}  // namespace pvesim
