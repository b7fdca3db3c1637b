#include "cli/commands.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "cli/validate.hpp"
#include "cli/validate_view.hpp"
#include "core/logging.hpp"

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
            context.out << validation_to_json(result).dump(2) << '\n';
        } else {
            context.out << render_validation_text(result);
        }
        return result.valid() ? 0 : 1;
    };
}

// plan, apply, check and ds join this table when they exist (DESIGN §5).
constexpr CommandSpec kCommands[] = {
    {"validate", "Check an inventory and its diversity policy, offline", define_validate},
};

constexpr const char* kLogLevels[] = {"trace", "debug", "info", "warn", "error", "off"};

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
