// Test doubles for pve-sim's injected time, timers and hook processes: unit
// tests advance a fake clock instead of sleeping.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "simulator.hpp"

namespace pvesim::testing {

class FakeClock final : public dnsctl::Clock {
public:
    time_point now() override { return now_; }
    void sleep_for(duration d) override { now_ += d; }
    std::int64_t unix_now() override {
        return 1'750'000'000 + std::chrono::duration_cast<std::chrono::seconds>(now_.time_since_epoch()).count();
    }
    void advance(Millis d) { now_ += d; }
    void set(time_point t) {
        if (t > now_) now_ = t;
    }

private:
    time_point now_{std::chrono::seconds(1000)};
};

// Keeps scheduled work until the test lets time pass.
class FakeScheduler final : public Scheduler {
public:
    explicit FakeScheduler(FakeClock& clock) : clock_(clock) {}

    void at(TimePoint when, std::function<void()> task) override {
        std::lock_guard lock(mutex_);
        queue_.emplace(when, std::move(task));
    }

    // Runs everything due up to now + `duration`, moving the clock along.
    void advance(Millis duration) {
        auto end = clock_.now() + duration;
        while (true) {
            std::function<void()> task;
            {
                std::lock_guard lock(mutex_);
                if (queue_.empty() || queue_.begin()->first > end) break;
                clock_.set(queue_.begin()->first);
                task = std::move(queue_.begin()->second);
                queue_.erase(queue_.begin());
            }
            task();
        }
        clock_.set(end);
    }

    [[nodiscard]] std::size_t pending() const {
        std::lock_guard lock(mutex_);
        return queue_.size();
    }

private:
    FakeClock& clock_;
    mutable std::mutex mutex_;
    std::multimap<TimePoint, std::function<void()>> queue_;
};

// Records hook invocations; the test decides when and how they end.
class FakeHookRunner final : public HookRunner {
public:
    struct Call {
        std::filesystem::path executable;
        std::string event;
        std::string input;
        std::map<std::string, std::string> env;
        Done done;
    };

    void run(const std::filesystem::path& executable, const std::string& event, std::string input,
             std::map<std::string, std::string> env, Done done) override {
        calls.push_back(Call{executable, event, std::move(input), std::move(env), std::move(done)});
    }

    void finish(std::size_t index, std::optional<std::string> error = std::nullopt) {
        auto done = std::move(calls.at(index).done);
        done(std::move(error));
    }

    std::vector<Call> calls;
};

}  // namespace pvesim::testing
