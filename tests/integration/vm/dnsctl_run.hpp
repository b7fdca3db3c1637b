// Runs the dnsctl binary as a child process (argv, no shell), standard input
// from /dev/null, and collects its exit status and both outputs; or starts it
// in the background, to signal it part-way (DnsctlProcess).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace dnsctl::vm_test {

struct CommandResult {
    int exit_code = -1;   // -1: did not exit normally
    int term_signal = 0;  // the signal that ended it, if one did
    std::string out;
    std::string err;

    [[nodiscard]] std::string both() const { return "--- stdout\n" + out + "--- stderr\n" + err; }
};

// `scratch` holds the captured outputs.
CommandResult run_dnsctl(const std::vector<std::string>& args, const std::filesystem::path& scratch);

// dnsctl running in the background; its outputs go to files in `scratch`.
// The destructor kills (SIGKILL) and reaps it if it still runs.
class DnsctlProcess {
public:
    DnsctlProcess(const std::vector<std::string>& args, const std::filesystem::path& scratch);
    ~DnsctlProcess();
    DnsctlProcess(const DnsctlProcess&) = delete;
    DnsctlProcess& operator=(const DnsctlProcess&) = delete;

    [[nodiscard]] pid_t pid() const { return pid_; }
    void signal(int number) const;
    // The result once it has ended, or nullopt when it still runs after `limit`.
    std::optional<CommandResult> wait_for(std::chrono::milliseconds limit);
    [[nodiscard]] bool running();

private:
    pid_t pid_ = -1;
    std::filesystem::path out_path_;
    std::filesystem::path err_path_;
    std::optional<CommandResult> result_;
};

}  // namespace dnsctl::vm_test
