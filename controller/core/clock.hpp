// Time is injected: backoff, timeouts and health-gate waits take a Clock, so
// tests advance a fake one instead of sleeping.
#pragma once

#include <chrono>
#include <cstdint>

namespace dnsctl {

class Clock {
public:
    using time_point = std::chrono::steady_clock::time_point;
    using duration = std::chrono::steady_clock::duration;

    virtual ~Clock() = default;
    virtual time_point now() = 0;
    virtual void sleep_for(duration d) = 0;
    // Wall-clock seconds since the epoch (RRSIG expiry, reports).
    virtual std::int64_t unix_now() = 0;
};

class SystemClock final : public Clock {
public:
    time_point now() override;
    void sleep_for(duration d) override;
    std::int64_t unix_now() override;
};

}  // namespace dnsctl
