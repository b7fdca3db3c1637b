// FailureInjector: the per-method failure injection and call counting every
// fake port shares. A fake calls enter(method) at the top of each method and
// returns the injected error when there is one. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>

#include "core/error.hpp"

namespace dnsctl {

template <class Method>
class FailureInjector {
public:
    // The next `times` calls of `method` fail with `error`.
    void fail_next(Method method, Error error, int times = 1) {
        std::lock_guard lock(mutex_);
        failures_[method] = Failure{std::move(error), times};
    }
    // Every call of `method` fails with `error` until clear().
    void fail_always(Method method, Error error) {
        std::lock_guard lock(mutex_);
        failures_[method] = Failure{std::move(error), -1};
    }
    void clear() {
        std::lock_guard lock(mutex_);
        failures_.clear();
    }

    // Counts the call; the error to return instead of doing it, if any.
    std::optional<Error> enter(Method method) {
        std::lock_guard lock(mutex_);
        ++calls_[method];
        auto it = failures_.find(method);
        if (it == failures_.end() || it->second.remaining == 0) return std::nullopt;
        if (it->second.remaining > 0) --it->second.remaining;
        return it->second.error;
    }

    [[nodiscard]] int calls(Method method) const {
        std::lock_guard lock(mutex_);
        auto it = calls_.find(method);
        return it == calls_.end() ? 0 : it->second;
    }
    [[nodiscard]] int total_calls() const {
        std::lock_guard lock(mutex_);
        int total = 0;
        for (const auto& [method, count] : calls_) total += count;
        return total;
    }
    void reset_calls() {
        std::lock_guard lock(mutex_);
        calls_.clear();
    }

private:
    struct Failure {
        Error error;
        int remaining = 0;  // < 0: always
    };
    mutable std::mutex mutex_;
    std::map<Method, Failure> failures_;
    std::map<Method, int> calls_;
};

}  // namespace dnsctl
