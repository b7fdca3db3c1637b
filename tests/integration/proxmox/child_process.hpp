// Test support: temporary folders and child processes that the tests start
// and stop themselves, by recorded PID only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace dnsctl::integration {

class TempDir {
public:
    TempDir();  // a fresh folder under $TMPDIR (or /tmp)
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

class ChildProcess {
public:
    // Starts argv[0] (searched in PATH) with stdout and stderr appended to `log`.
    // Throws std::runtime_error when it cannot be started.
    ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& log);
    ~ChildProcess();  // SIGTERM to the recorded PID, SIGKILL if it lingers, then reaped
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] bool running();  // false once it has exited (and it is then reaped)
    void stop();

private:
    pid_t pid_ = -1;
    bool reaped_ = false;
};

// Runs a command to completion; its exit status (or -1).
int run_command(const std::vector<std::string>& argv, const std::filesystem::path& log);

// Waits until `file` exists (written by `child`) and returns its contents.
// Throws when the child exits first or the deadline passes (the child's log
// is quoted in the message).
std::string wait_for_file(const std::filesystem::path& file, ChildProcess& child, const std::filesystem::path& log,
                          std::chrono::seconds deadline);

std::string read_file(const std::filesystem::path& file);

}  // namespace dnsctl::integration
