#include "state/run_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <system_error>
#include <thread>
#include <utility>

#include "core/text.hpp"

namespace dnsctl {

namespace {

// A file descriptor closed on destruction.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;

    [[nodiscard]] int get() const { return fd_; }
    [[nodiscard]] bool valid() const { return fd_ >= 0; }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

class FlockGuard final : public RunLockGuard {
public:
    explicit FlockGuard(Fd fd) : fd_(std::move(fd)) {}
    // Releasing the lock is closing the descriptor; the holder record stays
    // for diagnosis and is overwritten by the next holder.
    ~FlockGuard() override = default;

private:
    Fd fd_;
};

std::string errno_text(int err) { return std::strerror(err); }

std::string holder_record(const std::string& purpose) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    return fmt::format("pid={} host={} purpose={} since_unix={}\n", ::getpid(), host, purpose, now.count());
}

// The state directory: created 0700 when missing; an existing one must be a
// directory owned by this user that neither group nor others may write, or
// it is refused (not tightened: whatever someone else could already have put
// there — a link named run.lock, a known_hosts of their choosing — would stay).
// The path itself may be a symbolic link the operator made (state_dir:
// /var/lib/dnsctl -> /srv/…): the checks apply to the directory it names.
Result<Fd> open_state_dir(std::filesystem::path dir) {
    if (dir.has_parent_path() && !dir.has_filename()) dir = dir.parent_path();  // "…/.dnsctl/"
    std::error_code ec;
    if (dir.has_parent_path()) std::filesystem::create_directories(dir.parent_path(), ec);
    if (ec) {
        return fail(ErrorKind::unavailable, fmt::format("cannot create the folder of state directory {}: {}",
                                                        dir.string(), ec.message()));
    }
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        return fail(ErrorKind::unavailable,
                    fmt::format("cannot create state directory {}: {}", dir.string(), errno_text(errno)));
    }
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) {
        return fail(ErrorKind::unavailable,
                    fmt::format("cannot open state directory {}: {}", dir.string(), errno_text(errno)));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return fail(ErrorKind::unavailable, fmt::format("cannot stat state directory {}: {}", dir.string(),
                                                        errno_text(errno)));
    }
    if (st.st_uid != ::geteuid()) {
        return fail(ErrorKind::denied,
                    fmt::format("refusing state directory {}: it belongs to uid {}, not to uid {} running dnsctl; "
                                "whoever owns it could plant files dnsctl trusts. Use a directory of your own",
                                dir.string(), st.st_uid, ::geteuid()));
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        return fail(ErrorKind::denied,
                    fmt::format("refusing state directory {}: mode {:04o} lets {} write in it, so another user "
                                "could plant the run lock or known_hosts. Check what it holds, then `chmod go-w {}`",
                                dir.string(), st.st_mode & 07777,
                                (st.st_mode & S_IWOTH) != 0 ? "everyone" : "its group", dir.string()));
    }
    return fd;
}

// A regular file in the state directory, opened (created 0600) without ever
// following a symbolic link and without truncating it.
Result<Fd> open_lock_file(int dir_fd, const std::filesystem::path& path) {
    Fd fd(::openat(dir_fd, path.filename().c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600));
    if (!fd.valid()) {
        int err = errno;
        if (err == ELOOP) {
            return fail(ErrorKind::denied,
                        fmt::format("refusing {}: it is a symbolic link, and dnsctl never writes through one here. "
                                    "Remove it (and find out who made it)",
                                    path.string()));
        }
        return fail(ErrorKind::unavailable, fmt::format("cannot open {}: {}", path.string(), errno_text(err)));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return fail(ErrorKind::unavailable, fmt::format("cannot stat {}: {}", path.string(), errno_text(errno)));
    }
    if (!S_ISREG(st.st_mode)) {
        return fail(ErrorKind::denied, fmt::format("refusing {}: not a regular file; remove it", path.string()));
    }
    if (st.st_uid != ::geteuid()) {
        return fail(ErrorKind::denied,
                    fmt::format("refusing {}: it belongs to uid {}, not to uid {}; remove it", path.string(),
                                st.st_uid, ::geteuid()));
    }
    return fd;
}

// flock with LOCK_NB, retried for a bounded time: only for the gate, whose
// holders keep it for microseconds.
bool flock_within(int fd, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
        if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return true;
        if (errno != EWOULDBLOCK && errno != EINTR) return false;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
}

std::string read_record(int fd) {
    char buffer[512];
    auto n = ::pread(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return {};
    std::string_view text(buffer, static_cast<std::size_t>(n));
    return std::string(trim(text.substr(0, text.find('\n'))));
}

}  // namespace

// The holder record is only ever written or read while holding the gate
// (run.lock.gate), and the run lock is only ever tried while holding it. So
// whoever finds the run lock taken reads the record its holder wrote before
// releasing the gate: never a half-written one, never an earlier run's.
Result<std::unique_ptr<RunLockGuard>> FlockRunLock::acquire(const std::string& purpose) {
    auto dir = open_state_dir(state_dir_);
    if (!dir) return std::unexpected(dir.error());
    const auto path = state_dir_ / "run.lock";
    const auto gate_path = state_dir_ / "run.lock.gate";

    auto gate = open_lock_file(dir->get(), gate_path);
    if (!gate) return std::unexpected(gate.error());
    auto lock = open_lock_file(dir->get(), path);
    if (!lock) return std::unexpected(lock.error());

    if (!flock_within(gate->get(), std::chrono::seconds(2))) {
        return fail(ErrorKind::unavailable,
                    fmt::format("cannot lock {}: another process has held it for more than 2 s (stopped?)",
                                gate_path.string()));
    }
    if (::flock(lock->get(), LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        if (err != EWOULDBLOCK) {
            return fail(ErrorKind::unavailable, fmt::format("cannot lock {}: {}", path.string(), errno_text(err)));
        }
        auto holder = read_record(lock->get());
        return fail(ErrorKind::conflict,
                    fmt::format("another dnsctl run holds {} ({}); try again when it has finished", path.string(),
                                holder.empty() ? "holder unknown" : escape_control(holder)));
    }
    // Held: write the record in place of the last one (the file is never
    // truncated before the lock is held), then let the gate go.
    auto record = holder_record(purpose);
    if (::pwrite(lock->get(), record.data(), record.size(), 0) != static_cast<ssize_t>(record.size()) ||
        ::ftruncate(lock->get(), static_cast<off_t>(record.size())) != 0) {
        return fail(ErrorKind::unavailable, fmt::format("cannot write {}: {}", path.string(), errno_text(errno)));
    }
    gate->reset();
    return std::make_unique<FlockGuard>(std::move(*lock));
}

}  // namespace dnsctl
