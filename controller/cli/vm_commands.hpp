// `dnsctl plan` and `dnsctl apply` for the VM layer (DESIGN §5-6): validate the
// inventory and its policy, observe every cluster, plan, and (apply) confirm,
// execute, then observe and plan again to verify.
//
// Exit codes (DESIGN §5):
//   plan   0 success; 1 error, incomplete observation, or policy violated.
//          With --detailed-exitcode: 0 no changes, 2 changes pending, 1 as before.
//   apply  0 converged; 1 error, refused, or stopped part-way (a failure, or
//          SIGINT/SIGTERM: see VmWorld::stop); 3 every step applied but
//          observing again still shows changes.
#pragma once

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "apply/cluster_connections.hpp"
#include "apply/execute.hpp"
#include "cli/commands.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "inventory/model.hpp"

namespace dnsctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitChangesPending = 2;  // plan --detailed-exitcode
inline constexpr int kExitUnverified = 3;      // apply: applied, but not converged

struct PlanFlags {
    std::vector<std::string> replace;  // --replace ADDR (repeatable)
    bool allow_replace = false;
    bool allow_destroy = false;

    [[nodiscard]] bool any() const { return !replace.empty() || allow_replace || allow_destroy; }
};

struct PlanRequest {
    std::filesystem::path inventory;
    bool json = false;
    std::optional<std::filesystem::path> out;  // --out: the JSON document, observed digests included
    bool detailed_exitcode = false;
    PlanFlags flags;
};

struct ApplyRequest {
    std::filesystem::path inventory;
    std::optional<std::filesystem::path> plan_file;  // --plan: a saved plan, refused when stale
    bool dry_run = false;                            // = plan
    bool yes = false;                                // no confirmation
    PlanFlags flags;
};

// What the commands touch besides the inventory's files; tests put fakes here.
struct VmWorld {
    std::function<Result<std::unique_ptr<ClusterConnections>>(const Inventory&, const ConnectOptions&)> connect;
    std::shared_ptr<Clock> clock;
    std::istream* in = nullptr;  // where the confirmation is read
    bool interactive = false;    // standard input is a terminal
    // Retries of transient failures; its max_elapsed is also how long an
    // apply's polls may fail in a row (a node out of reach) before that
    // change gives up (ExecuteOptions::failure_budget).
    RetryPolicy retry;
    ExecuteOptions execute;      // execute.stop and execute.failure_budget are set by apply
    int max_rounds = 3;          // apply: execute again after waiting for work in flight, at most this often
    // Requested: apply stops part-way (starts no new step, ends its waits,
    // reports what was done and what was not, exits 1). The real world
    // requests it on SIGINT/SIGTERM (handle_signals); tests request it directly.
    std::stop_source stop;
    bool handle_signals = false;
};

// The real world: HTTPS clients per cluster, the system clock, standard input.
VmWorld system_world(std::shared_ptr<spdlog::logger> logger);

int run_plan(const PlanRequest& request, CommandContext& context, VmWorld& world);
int run_apply(const ApplyRequest& request, CommandContext& context, VmWorld& world);

}  // namespace dnsctl
