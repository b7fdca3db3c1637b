#include "state/run_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

namespace dnsctl {

namespace {

class FlockGuard final : public RunLockGuard {
public:
    explicit FlockGuard(int fd) : fd_(fd) {}
    ~FlockGuard() override {
        // Releasing the lock is closing the descriptor; the holder record stays
        // for diagnosis and is overwritten by the next holder.
        ::close(fd_);
    }
    FlockGuard(const FlockGuard&) = delete;
    FlockGuard& operator=(const FlockGuard&) = delete;

private:
    int fd_;
};

std::string holder_record(const std::string& purpose) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    return fmt::format("pid={} host={} purpose={} since_unix={}\n", ::getpid(), host, purpose, now.count());
}

}  // namespace

Result<std::unique_ptr<RunLockGuard>> FlockRunLock::acquire(const std::string& purpose) {
    std::error_code ec;
    std::filesystem::create_directories(state_dir_, ec);
    if (ec) {
        return fail(ErrorKind::unavailable,
                    fmt::format("cannot create state directory {}: {}", state_dir_.string(), ec.message()));
    }
    auto path = state_dir_ / "run.lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        return fail(ErrorKind::unavailable, fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        ::close(fd);
        if (err != EWOULDBLOCK) {
            return fail(ErrorKind::unavailable, fmt::format("cannot lock {}: {}", path.string(), std::strerror(err)));
        }
        std::ifstream in(path);
        std::string holder;
        std::getline(in, holder);
        return fail(ErrorKind::conflict,
                    fmt::format("another dnsctl run holds {} ({}); try again when it has finished", path.string(),
                                holder.empty() ? "holder unknown" : holder));
    }
    auto record = holder_record(purpose);
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, record.data(), record.size(), 0) < 0) {
        int err = errno;
        ::close(fd);
        return fail(ErrorKind::unavailable, fmt::format("cannot write {}: {}", path.string(), std::strerror(err)));
    }
    return std::make_unique<FlockGuard>(fd);
}

}  // namespace dnsctl
