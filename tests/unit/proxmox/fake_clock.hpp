// A Clock for the proxmox tests: sleeping advances time at once and is
// recorded.
#pragma once

#include <vector>

#include "core/clock.hpp"

namespace dnsctl::proxmox_test {

class FakeClock final : public Clock {
public:
    time_point now() override { return now_; }
    void sleep_for(duration d) override {
        sleeps.push_back(d);
        now_ += d;
    }
    std::int64_t unix_now() override {
        return 1'700'000'000 + std::chrono::duration_cast<std::chrono::seconds>(now_ - start_).count();
    }
    [[nodiscard]] duration elapsed() const { return now_ - start_; }

    std::vector<duration> sleeps;

private:
    time_point start_ = time_point{} + std::chrono::hours(1);
    time_point now_ = start_;
};

}  // namespace dnsctl::proxmox_test
