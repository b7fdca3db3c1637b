// RunLock: one apply/check/run at a time per estate. A port, so that several
// controllers can later share an etcd lease; FlockRunLock is the local one.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "core/error.hpp"

namespace dnsctl {

// Held while alive; released on destruction.
class RunLockGuard {
public:
    virtual ~RunLockGuard() = default;
};

class RunLock {
public:
    virtual ~RunLock() = default;
    // Takes the lock at once or fails with ErrorKind::conflict naming the holder.
    // `purpose` is recorded for whoever finds the lock held ("apply", "check").
    virtual Result<std::unique_ptr<RunLockGuard>> acquire(const std::string& purpose) = 0;
};

// flock(2) on <state_dir>/run.lock; the file records the holder's PID, host,
// purpose and start time, written while a second lock (run.lock.gate) is
// held, so whoever finds the lock taken names the real holder.
//
// Safety: state_dir is created 0700; an existing one that is not owned by
// this user, or that group or others may write, is refused with what to do.
// The lock files are opened with O_NOFOLLOW and never truncated before the
// lock is held: a symbolic link at run.lock is refused, its target untouched.
class FlockRunLock final : public RunLock {
public:
    explicit FlockRunLock(std::filesystem::path state_dir) : state_dir_(std::move(state_dir)) {}
    Result<std::unique_ptr<RunLockGuard>> acquire(const std::string& purpose) override;

private:
    std::filesystem::path state_dir_;
};

}  // namespace dnsctl
