#include "core/clock.hpp"

#include <thread>

namespace dnsctl {

Clock::time_point SystemClock::now() { return std::chrono::steady_clock::now(); }

void SystemClock::sleep_for(duration d) { std::this_thread::sleep_for(d); }

std::int64_t SystemClock::unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace dnsctl
