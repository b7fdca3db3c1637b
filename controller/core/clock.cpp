#include "core/clock.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace dnsctl {

Clock::time_point SystemClock::now() { return std::chrono::steady_clock::now(); }

bool Clock::sleep_for_unless_stopped(duration d, const std::stop_token& stop) {
    if (stop.stop_requested()) return true;
    sleep_for(d);
    return stop.stop_requested();
}

void SystemClock::sleep_for(duration d) { std::this_thread::sleep_for(d); }

bool SystemClock::sleep_for_unless_stopped(duration d, const std::stop_token& stop) {
    if (!stop.stop_possible()) {
        sleep_for(d);
        return false;
    }
    std::mutex mutex;
    std::condition_variable_any woken;
    std::unique_lock lock(mutex);
    // Wakes on a stop request (through the stop token's callback), never on
    // anything else: the predicate is the stop itself.
    woken.wait_for(lock, stop, d, [] { return false; });
    return stop.stop_requested();
}

std::int64_t SystemClock::unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace dnsctl
