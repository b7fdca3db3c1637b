// FakeRunLock: one lock in memory, so tests can hold it "from another
// process" and see a command refuse to run. acquire fails with
// ErrorKind::conflict naming the holder while it is held. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "failure_injector.hpp"
#include "state/run_lock.hpp"

namespace dnsctl {

enum class RunLockMethod { acquire };

class FakeRunLock final : public RunLock {
public:
    // Marks the lock held by someone else until release_external().
    void hold_external(std::string holder) {
        std::lock_guard lock(state_->mutex);
        state_->holder = std::move(holder);
    }
    void release_external() {
        std::lock_guard lock(state_->mutex);
        state_->holder.reset();
    }
    [[nodiscard]] std::optional<std::string> holder() const {
        std::lock_guard lock(state_->mutex);
        return state_->holder;
    }
    FailureInjector<RunLockMethod>& failures() { return failures_; }

    Result<std::unique_ptr<RunLockGuard>> acquire(const std::string& purpose) override {
        if (auto injected = failures_.enter(RunLockMethod::acquire)) return std::unexpected(*injected);
        std::lock_guard lock(state_->mutex);
        if (state_->holder) {
            return std::unexpected(
                Error{ErrorKind::conflict, "another run holds the lock: " + *state_->holder, false});
        }
        state_->holder = "this process (" + purpose + ")";
        return std::make_unique<Guard>(state_);
    }

private:
    struct State {
        mutable std::mutex mutex;
        std::optional<std::string> holder;
    };
    class Guard final : public RunLockGuard {
    public:
        explicit Guard(std::shared_ptr<State> state) : state_(std::move(state)) {}
        ~Guard() override {
            std::lock_guard lock(state_->mutex);
            state_->holder.reset();
        }

    private:
        std::shared_ptr<State> state_;
    };

    std::shared_ptr<State> state_ = std::make_shared<State>();
    FailureInjector<RunLockMethod> failures_;
};

}  // namespace dnsctl
