#include "cli/commands.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/validate.hpp"
#include "cli/validate_view.hpp"
#include "cli/vm_commands.hpp"
#include "core/logging.hpp"
#include "core/text.hpp"

namespace dnsctl {

namespace {

struct ValidateOptions {
    std::string inventory;
    bool json = false;
};

CommandAction define_validate(CLI::App& sub) {
    auto options = std::make_shared<ValidateOptions>();
    sub.add_option("inventory", options->inventory, "Inventory file (YAML)")->required();
    sub.add_flag("--json", options->json,
                 "Print one JSON document (format_version 1.0, see controller/cli/validate-json.md) instead of text");
    sub.footer(
        "Reads the inventory and its zone files and checks the diversity policy (RFC 2182, N-1 per address "
        "family, the hidden primary's outage horizon). Touches nothing but those files.\n"
        "Exit status: 0 valid; 1 invalid, policy violated, or the inventory cannot be read.");
    return [options](CommandContext& context) {
        ValidationResult result = validate_inventory(options->inventory, *context.log);
        if (options->json) {
            // Messages quote the inventory and its zone files: bytes that are
            // not UTF-8 become U+FFFD, non-ASCII is written as \uXXXX.
            context.out << validation_to_json(result).dump(2, ' ', true,
                                                           nlohmann::ordered_json::error_handler_t::replace)
                        << '\n';
        } else {
            context.out << render_validation_text(result);
        }
        return result.valid() ? 0 : 1;
    };
}

// --replace, --allow-replace, --allow-destroy: shared by plan and apply.
void add_plan_flags(CLI::App& sub, PlanFlags& flags) {
    sub.add_option("--replace", flags.replace,
                   "Rebuild this VM (address vm[<cluster>/<vmid>]); repeatable. Never the hidden primary")
        ->type_name("ADDR")
        ->allow_extra_args(false);
    sub.add_flag("--allow-replace", flags.allow_replace,
                 "Replace any VM that cannot be changed in place (e.g. a disk that would have to shrink)");
    sub.add_flag("--allow-destroy", flags.allow_destroy,
                 "Destroy VMs of this estate that left the inventory (never one still in a zone's NS RRset)");
}

CommandAction define_plan(CLI::App& sub) {
    auto request = std::make_shared<PlanRequest>();
    auto inventory = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    sub.add_option("inventory", *inventory, "Inventory file (YAML)")->required();
    sub.add_flag("--json", request->json,
                 "Print the plan as one JSON document (format_version 1.0, see README.md)");
    sub.add_option("--out", *out, "Also write the JSON plan, with observed-state digests, to this file")
        ->type_name("FILE");
    sub.add_flag("--detailed-exitcode", request->detailed_exitcode,
                 "Exit 0 when there is nothing to do, 2 when changes are pending, 1 on error");
    add_plan_flags(sub, request->flags);
    sub.footer(
        "Validates the inventory and its policy, observes every cluster (read-only, in parallel) and shows what "
        "apply would do. Changes nothing, anywhere.\n"
        "Exit status: 0 success; 1 error, incomplete observation, or policy violated. With --detailed-exitcode: "
        "0 no changes, 2 changes pending, 1 as before.");
    return [request, inventory, out](CommandContext& context) {
        request->inventory = *inventory;
        if (!out->empty()) request->out = *out;
        auto world = system_world(context.log);
        return run_plan(*request, context, world);
    };
}

CommandAction define_apply(CLI::App& sub) {
    auto request = std::make_shared<ApplyRequest>();
    auto inventory = std::make_shared<std::string>();
    auto plan_file = std::make_shared<std::string>();
    auto clones_per_node = std::make_shared<int>(1);
    auto retry_budget = std::make_shared<int>(
        static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(RetryPolicy{}.max_elapsed).count()));
    sub.add_option("inventory", *inventory, "Inventory file (YAML)")->required();
    sub.add_option("--plan", *plan_file,
                   "Apply this saved plan (from plan --out); refused when what it was made from has changed")
        ->type_name("FILE");
    sub.add_flag("--dry-run", request->dry_run, "Only show the plan (the same as dnsctl plan)");
    sub.add_flag("--yes", request->yes, "Do not ask for confirmation");
    sub.add_option("--clones-per-node", *clones_per_node, "Concurrent clones on one Proxmox node")
        ->check(CLI::Range(1, 16))
        ->capture_default_str();
    sub.add_option("--retry-budget", *retry_budget,
                   "Seconds a cluster's transient failures (503, 595 node unreachable, timeouts) are retried, and "
                   "its task polls may fail in a row, before that VM's change gives up")
        ->type_name("SECONDS")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();
    add_plan_flags(sub, request->flags);
    sub.footer(
        "Takes the run lock, validates the inventory and its policy, observes, shows the plan and asks for "
        "confirmation (type yes), then carries it out: new VMs (the hidden primary's included) in parallel across "
        "clusters, changes to in-service nameservers one at a time. Finally observes again to verify. SIGINT or "
        "SIGTERM stops it part-way (no new step starts; what was done is reported); a second one exits at once.\n"
        "Exit status: 0 converged; 1 error or stopped part-way; 3 every step applied but verification failed.");
    return [request, inventory, plan_file, clones_per_node, retry_budget](CommandContext& context) {
        request->inventory = *inventory;
        if (!plan_file->empty()) request->plan_file = *plan_file;
        auto world = system_world(context.log);
        world.execute.clones_per_node = *clones_per_node;
        world.retry.max_elapsed = std::chrono::seconds(*retry_budget);
        return run_apply(*request, context, world);
    };
}

// check and ds join this table when they exist (DESIGN §5).
constexpr CommandSpec kCommands[] = {
    {"validate", "Check an inventory and its diversity policy, offline", define_validate},
    {"plan", "Show what apply would change on the Proxmox clusters; changes nothing", define_plan},
    {"apply", "Bring the nameserver VMs to what the inventory says, then verify", define_apply},
};

constexpr const char* kLogLevels[] = {"trace", "debug", "info", "warn", "error", "off"};

std::string command_names() {
    std::vector<std::string> names;
    for (const auto& spec : kCommands) names.emplace_back(spec.name);
    return join(names, ", ");
}

// The first word left over when no command was recognised, unless it looks
// like an option (`dnsctl --bogus` keeps CLI11's own message).
std::optional<std::string> unknown_command(const CLI::App& app) {
    if (!app.get_subcommands().empty()) return std::nullopt;
    auto left = app.remaining();
    if (left.empty() || left.front().starts_with('-')) return std::nullopt;
    return left.front();
}

}  // namespace

std::span<const CommandSpec> command_table() { return kCommands; }

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
    CLI::App app{"dnsctl: declarative authoritative DNS estates on Proxmox VE", "dnsctl"};
    app.set_version_flag("--version", std::string("dnsctl ") + DNSCTL_VERSION);
    app.require_subcommand(1);
    app.fallthrough();  // global options are accepted after the subcommand too

    std::string log_format = "text";
    std::string log_level = "warn";
    app.add_option("--log-format", log_format, "Log line format on standard error: text or json")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    app.add_option("--log-level", log_level, "Least severe log level written to standard error")
        ->check(CLI::IsMember(std::vector<std::string>(std::begin(kLogLevels), std::end(kLogLevels))))
        ->capture_default_str();

    std::vector<std::pair<CLI::App*, CommandAction>> actions;
    for (const auto& spec : command_table()) {
        CLI::App* sub = app.add_subcommand(std::string(spec.name), std::string(spec.summary));
        actions.emplace_back(sub, spec.define(*sub));
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // A word where the command belongs that names none: CLI11 would show
        // the top-level help for `dnsctl check --help` and exit 0, as if check
        // existed.
        if (auto unknown = unknown_command(app)) {
            err << fmt::format("dnsctl: unknown command '{}'; the commands are: {}. See dnsctl --help\n",
                               escape_control(*unknown), command_names());
            return 1;
        }
        // --help and --version arrive here as "successes" and exit 0.
        return app.exit(e, out, err) == 0 ? 0 : 1;
    }

    auto format = parse_log_format(log_format);
    if (!format) {
        err << "dnsctl: " << format.error().message << '\n';
        return 1;
    }
    CommandContext context{make_stderr_logger("dnsctl", *format, spdlog::level::from_str(log_level)), out, err};
    for (auto& [sub, action] : actions) {
        if (sub->parsed()) return action(context);
    }
    return 1;
}

int run_cli(int argc, char** argv) { return run_cli(argc, argv, std::cout, std::cerr); }

}  // namespace dnsctl
