#include "process_hooks.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

extern char** environ;

namespace pvesim {

ProcessHookRunner::ProcessHookRunner(std::filesystem::path log_file, std::chrono::milliseconds timeout)
    : log_file_(std::move(log_file)), timeout_(timeout) {}

ProcessHookRunner::~ProcessHookRunner() { shutdown(); }

void ProcessHookRunner::shutdown() {
    stopping_ = true;
    std::vector<Watcher> watchers;
    {
        std::lock_guard lock(mutex_);
        watchers.swap(watchers_);
    }
    for (auto& w : watchers) {
        if (w.thread.joinable()) w.thread.join();
    }
}

void ProcessHookRunner::reap_finished() {
    for (auto it = watchers_.begin(); it != watchers_.end();) {
        if (*it->finished) {
            it->thread.join();
            it = watchers_.erase(it);
        } else {
            ++it;
        }
    }
}

void ProcessHookRunner::run(const std::filesystem::path& executable, const std::string& event, std::string input,
                            std::map<std::string, std::string> env, Done done) {
    int in_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0) {
        std::thread([done] { done("cannot create a pipe for the hook"); }).detach();
        return;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
    auto log = log_file_.empty() ? std::string("/dev/null") : log_file_.string();
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);

    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
        std::string entry(*e);
        if (!env.count(entry.substr(0, entry.find('=')))) env_strings.push_back(entry);
    }
    for (const auto& [key, value] : env) env_strings.push_back(key + "=" + value);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string exe = executable.string();
    std::string arg = event;
    char* argv[] = {exe.data(), arg.data(), nullptr};

    pid_t pid = 0;
    int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv, envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(in_pipe[0]);
    auto label = fmt::format("hook '{}'", exe);
    if (rc != 0) {
        ::close(in_pipe[1]);
        auto message = fmt::format("{} could not run: {}", label, std::strerror(rc));
        std::thread([done, message] { done(message); }).detach();
        return;
    }
    std::lock_guard lock(mutex_);
    reap_finished();
    auto finished = std::make_shared<std::atomic<bool>>(false);
    std::thread thread([this, pid, label, done, finished, fd = in_pipe[1], input = std::move(input)]() mutable {
        // Feed stdin (the hook may not read it all; SIGPIPE is ignored by the server).
        std::size_t written = 0;
        while (written < input.size()) {
            auto n = ::write(fd, input.data() + written, input.size() - written);
            if (n <= 0) break;
            written += static_cast<std::size_t>(n);
        }
        ::close(fd);
        wait_child(pid, label, std::move(done));
        *finished = true;
    });
    watchers_.push_back(Watcher{std::move(thread), finished});
}

void ProcessHookRunner::wait_child(int pid, std::string label, Done done) {
    auto deadline = std::chrono::steady_clock::now() + timeout_;
    int status = 0;
    while (true) {
        auto r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) {
            status = -1;
            break;
        }
        if (stopping_ || std::chrono::steady_clock::now() >= deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            if (stopping_) return;
            done(fmt::format("{} timed out", label));
            return;
        }
        // This thread only watches one child process; it is not a test.
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (stopping_) return;
    if (status == -1) {
        done(fmt::format("{} vanished", label));
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        done(std::nullopt);
    } else if (WIFEXITED(status)) {
        done(fmt::format("{} exited with status {}", label, WEXITSTATUS(status)));
    } else {
        done(fmt::format("{} killed by signal {}", label, WTERMSIG(status)));
    }
}

}  // namespace pvesim
