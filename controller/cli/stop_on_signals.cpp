#include "cli/stop_on_signals.hpp"

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace dnsctl {

namespace {

// State the signal handler reaches: only what a handler may touch (an fd and
// a lock-free counter). Set while a StopOnSignals exists.
std::atomic<int> g_pipe_write{-1};
std::atomic<int> g_signals{0};
std::atomic<bool> g_installed{false};
struct sigaction g_previous_int {};
struct sigaction g_previous_term {};

constexpr char kSecondSignal[] =
    "\ndnsctl: second stop signal: exiting at once. Tasks already started may still be running and this run's "
    "report is lost: run apply again to see where things stand.\n";

extern "C" void on_stop_signal(int signal) {
    const int saved_errno = errno;
    if (g_signals.fetch_add(1) > 0) {
        [[maybe_unused]] auto written = ::write(STDERR_FILENO, kSecondSignal, sizeof kSecondSignal - 1);
        ::_exit(1);
    }
    const unsigned char byte = static_cast<unsigned char>(signal);
    const int fd = g_pipe_write.load();
    if (fd >= 0) {
        [[maybe_unused]] auto written = ::write(fd, &byte, 1);
    }
    errno = saved_errno;
}

}  // namespace

const char* signal_name(int signal) {
    switch (signal) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    default: return "a stop signal";
    }
}

Result<std::unique_ptr<StopOnSignals>> StopOnSignals::install(std::stop_source stop,
                                                              std::function<void(int)> on_first_signal) {
    if (g_installed.exchange(true)) return fail(ErrorKind::internal, "stop signals are handled already");
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        g_installed = false;
        return fail(ErrorKind::unavailable, fmt::format("cannot create a pipe: {}", std::strerror(errno)));
    }
    std::unique_ptr<StopOnSignals> self(new StopOnSignals());
    self->stop_ = std::move(stop);
    self->on_first_signal_ = std::move(on_first_signal);
    g_signals = 0;
    g_pipe_write = fds[1];
    self->read_fd_ = fds[0];
    self->watcher_ = std::thread([watched = self.get()] { watched->watch(); });
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &action, &g_previous_int);
    ::sigaction(SIGTERM, &action, &g_previous_term);
    return self;
}

void StopOnSignals::watch() {
    // Until the destructor's 0 byte: later signals end the process in the
    // handler itself, so only the first one arrives here.
    for (;;) {
        unsigned char byte = 0;
        auto n = ::read(read_fd_, &byte, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || byte == 0) return;
        if (on_first_signal_) on_first_signal_(byte);
        stop_.request_stop();
    }
}

StopOnSignals::~StopOnSignals() {
    ::sigaction(SIGINT, &g_previous_int, nullptr);
    ::sigaction(SIGTERM, &g_previous_term, nullptr);
    const int fd = g_pipe_write.exchange(-1);
    if (fd >= 0) {
        const unsigned char stop_watching = 0;
        [[maybe_unused]] auto written = ::write(fd, &stop_watching, 1);
    }
    if (watcher_.joinable()) watcher_.join();
    if (fd >= 0) ::close(fd);
    if (read_fd_ >= 0) ::close(read_fd_);
    g_installed = false;
}

}  // namespace dnsctl
