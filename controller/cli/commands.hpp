// The command table: every subcommand with its options and the action it runs.
// main() only does process-wide set-up and calls run_cli.
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <span>
#include <string_view>

namespace CLI {
class App;
}
namespace spdlog {
class logger;
}

namespace dnsctl {

// What a command may use: its logger (standard error) and where its output goes.
struct CommandContext {
    std::shared_ptr<spdlog::logger> log;
    std::ostream& out;
    std::ostream& err;
};

using CommandAction = std::function<int(CommandContext&)>;  // returns the exit code

struct CommandSpec {
    std::string_view name;
    std::string_view summary;
    // Adds the command's arguments to its subcommand; returns the action bound to them.
    CommandAction (*define)(CLI::App& subcommand);
};

std::span<const CommandSpec> command_table();

// Parses the command line and runs one command; returns the process exit code.
// Usage errors exit 1 ("bad input"); --help and --version exit 0.
int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);
int run_cli(int argc, char** argv);  // standard output and standard error

}  // namespace dnsctl
