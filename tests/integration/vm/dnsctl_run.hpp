// Runs the dnsctl binary as a child process (argv, no shell), standard input
// from /dev/null, and collects its exit status and both outputs.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace dnsctl::vm_test {

struct CommandResult {
    int exit_code = -1;  // -1: did not exit normally
    std::string out;
    std::string err;

    [[nodiscard]] std::string both() const { return "--- stdout\n" + out + "--- stderr\n" + err; }
};

// `scratch` holds the captured outputs.
CommandResult run_dnsctl(const std::vector<std::string>& args, const std::filesystem::path& scratch);

}  // namespace dnsctl::vm_test
