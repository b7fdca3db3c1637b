// Runs a command and reports how it ended, its maximum resident set and its
// CPU time: `measure TIMEOUT_S OUTFILE COMMAND ARGS...` writes one line
// "<exited|signaled|timeout> <code or signal> <max RSS KiB> <user+sys s>" to
// OUTFILE. The fuzzer starts each dnsctl through it because a child's
// ru_maxrss includes what its parent had resident before the exec: measured
// from a small process like this one, the figure is dnsctl's own.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: measure TIMEOUT_S OUTFILE COMMAND [ARGS...]\n");
        return 2;
    }
    const double timeout = std::atof(argv[1]);
    pid_t child = ::fork();
    if (child < 0) {
        std::perror("fork");
        return 2;
    }
    if (child == 0) {
        ::execv(argv[3], argv + 3);
        std::perror("exec");
        ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
    bool timed_out = false;
    int status = 0;
    struct rusage usage {};
    while (true) {
        pid_t done = ::wait4(child, &status, WNOHANG, &usage);
        if (done == child) break;
        if (done < 0 && errno != EINTR) {
            std::perror("wait4");
            return 2;
        }
        if (!timed_out && std::chrono::steady_clock::now() > deadline) {
            timed_out = true;
            ::kill(child, SIGKILL);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    FILE* out = std::fopen(argv[2], "w");
    if (out == nullptr) {
        std::perror("open");
        return 2;
    }
    const double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                       static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    if (timed_out) {
        std::fprintf(out, "timeout %d %ld %.3f\n", SIGKILL, usage.ru_maxrss, cpu);
    } else if (WIFSIGNALED(status)) {
        std::fprintf(out, "signaled %d %ld %.3f\n", WTERMSIG(status), usage.ru_maxrss, cpu);
    } else {
        std::fprintf(out, "exited %d %ld %.3f\n", WEXITSTATUS(status), usage.ru_maxrss, cpu);
    }
    std::fclose(out);
    return 0;
}
