// ProcessHookRunner: runs lifecycle hook executables as child processes
// (posix_spawn), the VM's JSON on stdin, output appended to a log file, with a
// timeout. Each hook waits in its own thread so the server never blocks.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "simulator.hpp"

namespace pvesim {

class ProcessHookRunner final : public HookRunner {
public:
    ProcessHookRunner(std::filesystem::path log_file, std::chrono::milliseconds timeout);
    ~ProcessHookRunner() override;

    void run(const std::filesystem::path& executable, const std::string& event, std::string input,
             std::map<std::string, std::string> env, Done done) override;

    // Kills running hooks, waits for their threads; no callback runs afterwards.
    void shutdown();

private:
    void wait_child(int pid, std::string label, Done done);

    std::filesystem::path log_file_;
    std::chrono::milliseconds timeout_;
    std::atomic<bool> stopping_{false};
    struct Watcher {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> finished;
    };
    void reap_finished();  // joins watchers whose hook has ended (caller holds mutex_)

    std::mutex mutex_;
    std::vector<Watcher> watchers_;
};

}  // namespace pvesim
