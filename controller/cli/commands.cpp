#include "cli/commands.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "core/logging.hpp"

namespace dnsctl {

int run_cli(int argc, char** argv) {
    CLI::App app{"dnsctl: declarative authoritative DNS estates on Proxmox VE"};
    app.set_version_flag("--version", std::string("dnsctl ") + DNSCTL_VERSION);
    app.require_subcommand(1);

    std::string log_format = "text";
    app.add_option("--log-format", log_format, "Log line format on standard error")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();

    auto* validate = app.add_subcommand("validate", "Check an inventory and its diversity policy, offline");
    std::string inventory_path;
    bool json = false;
    validate->add_option("inventory", inventory_path, "Inventory file (YAML)")->required();
    validate->add_flag("--json", json, "Machine-readable output");

    CLI11_PARSE(app, argc, argv);
    fmt::print("not implemented yet\n");
    return 1;
}

}  // namespace dnsctl
