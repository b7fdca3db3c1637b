// Time is injected: backoff, timeouts and health-gate waits take a Clock, so
// tests advance a fake one instead of sleeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <stop_token>

namespace dnsctl {

class Clock {
public:
    using time_point = std::chrono::steady_clock::time_point;
    using duration = std::chrono::steady_clock::duration;

    virtual ~Clock() = default;
    virtual time_point now() = 0;
    virtual void sleep_for(duration d) = 0;
    // Sleeps `d`, or less once `stop` is requested (SIGINT during an apply);
    // returns whether a stop was requested. The default sleeps unless a stop
    // is already requested: right for clocks whose sleep is instant.
    virtual bool sleep_for_unless_stopped(duration d, const std::stop_token& stop);
    // Wall-clock seconds since the epoch (RRSIG expiry, reports).
    virtual std::int64_t unix_now() = 0;
};

class SystemClock final : public Clock {
public:
    time_point now() override;
    void sleep_for(duration d) override;
    bool sleep_for_unless_stopped(duration d, const std::stop_token& stop) override;
    std::int64_t unix_now() override;
};

}  // namespace dnsctl
