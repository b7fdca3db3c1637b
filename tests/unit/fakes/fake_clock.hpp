// FakeClock: time that moves only when a test (or code under test) sleeps or
// advances it. Sleeping returns at once; every sleep is recorded. Safe to use
// from several threads (execute and observe run workers).
#pragma once

#include <chrono>
#include <mutex>
#include <vector>

#include "core/clock.hpp"

namespace dnsctl {

class FakeClock final : public Clock {
public:
    static constexpr std::int64_t kUnixStart = 1'700'000'000;

    time_point now() override {
        std::lock_guard lock(mutex_);
        return now_;
    }
    void sleep_for(duration d) override {
        std::lock_guard lock(mutex_);
        sleeps_.push_back(d);
        if (d > duration::zero()) now_ += d;
    }
    std::int64_t unix_now() override {
        std::lock_guard lock(mutex_);
        return kUnixStart + std::chrono::duration_cast<std::chrono::seconds>(now_ - start_).count();
    }

    void advance(duration d) {
        std::lock_guard lock(mutex_);
        now_ += d;
    }
    [[nodiscard]] duration elapsed() const {
        std::lock_guard lock(mutex_);
        return now_ - start_;
    }
    [[nodiscard]] std::vector<duration> sleeps() const {
        std::lock_guard lock(mutex_);
        return sleeps_;
    }

private:
    mutable std::mutex mutex_;
    time_point start_ = time_point{} + std::chrono::hours(1);
    time_point now_ = start_;
    std::vector<duration> sleeps_;
};

}  // namespace dnsctl
