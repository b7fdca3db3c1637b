#include "dnsctl_run.hpp"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace dnsctl::vm_test {

namespace {

std::string slurp(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
}

pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& out_path,
            const std::filesystem::path& err_path) {
    std::vector<std::string> argv{DNSCTL_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> raw;
    for (auto& arg : argv) raw.push_back(arg.data());
    raw.push_back(nullptr);

    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        int in = ::open("/dev/null", O_RDONLY);
        int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0 || err < 0) ::_exit(126);
        ::dup2(in, 0);
        ::dup2(out, 1);
        ::dup2(err, 2);
        ::execv(raw[0], raw.data());
        ::_exit(127);
    }
    return pid;
}

CommandResult collect(int status, const std::filesystem::path& out_path, const std::filesystem::path& err_path) {
    CommandResult result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    result.out = slurp(out_path);
    result.err = slurp(err_path);
    return result;
}

}  // namespace

CommandResult run_dnsctl(const std::vector<std::string>& args, const std::filesystem::path& scratch) {
    const auto out_path = scratch / "dnsctl.out";
    const auto err_path = scratch / "dnsctl.err";
    pid_t pid = spawn(args, out_path, err_path);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) throw std::runtime_error("waitpid failed");
    }
    return collect(status, out_path, err_path);
}

DnsctlProcess::DnsctlProcess(const std::vector<std::string>& args, const std::filesystem::path& scratch)
    : out_path_(scratch / "dnsctl-bg.out"), err_path_(scratch / "dnsctl-bg.err") {
    pid_ = spawn(args, out_path_, err_path_);
}

DnsctlProcess::~DnsctlProcess() {
    if (result_ || pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
}

void DnsctlProcess::signal(int number) const {
    if (pid_ > 0) ::kill(pid_, number);
}

bool DnsctlProcess::running() {
    if (result_) return false;
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
        result_ = collect(status, out_path_, err_path_);
        return false;
    }
    return true;
}

std::optional<CommandResult> DnsctlProcess::wait_for(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (running()) {
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return result_;
}

}  // namespace dnsctl::vm_test
