// SIGINT and SIGTERM during an apply: the first one requests a stop (the
// executor starts no new step, ends its waits, and apply prints what was done
// and what was not); a second one ends the process at once, exit status 1.
//
// Mechanism: a self-pipe. The signal handler only write()s the signal number
// to a pipe (async-signal-safe); a watcher thread reads it, calls
// `on_first_signal` and requests the stop. One instance at a time per process.
#pragma once

#include <functional>
#include <memory>
#include <stop_token>
#include <thread>

#include "core/error.hpp"

namespace dnsctl {

class StopOnSignals {
public:
    // Installs the handlers; the previous ones come back on destruction.
    // `on_first_signal` runs on the watcher thread, before the stop is
    // requested (to say what happens now).
    static Result<std::unique_ptr<StopOnSignals>> install(std::stop_source stop,
                                                          std::function<void(int signal)> on_first_signal);
    ~StopOnSignals();
    StopOnSignals(const StopOnSignals&) = delete;
    StopOnSignals& operator=(const StopOnSignals&) = delete;

private:
    StopOnSignals() = default;
    void watch();

    std::stop_source stop_;
    std::function<void(int)> on_first_signal_;
    int read_fd_ = -1;
    std::thread watcher_;
};

// "SIGINT", "SIGTERM", or "signal N".
const char* signal_name(int signal);

}  // namespace dnsctl
