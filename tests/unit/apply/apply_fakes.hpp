// Test doubles for the executor: a Clock that several threads may share
// (sleeping advances time at once), and a ProxmoxApi decorator over a
// FakeProxmoxApi that lets a test watch or disturb single calls.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "core/clock.hpp"
#include "unit/fakes/fake_proxmox_api.hpp"

namespace dnsctl::apply_test {

class SharedFakeClock final : public Clock {
public:
    time_point now() override { return time_point{} + std::chrono::hours(1) + std::chrono::nanoseconds(offset_.load()); }
    void sleep_for(duration d) override {
        offset_ += std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
        ++sleeps_;
        if (on_sleep) on_sleep();
        std::this_thread::yield();  // lets other workers interleave, as real waiting would
    }
    std::int64_t unix_now() override { return 1'700'000'000 + offset_.load() / 1'000'000'000; }
    [[nodiscard]] int sleeps() const { return sleeps_.load(); }

    std::function<void()> on_sleep;  // set before the clock is shared

private:
    std::atomic<std::int64_t> offset_{0};
    std::atomic<int> sleeps_{0};
};

// Forwards every call to a FakeProxmoxApi. `before` sees each mutating call
// first (method name, VMID) and may fail it; lost answers take effect but
// come back as a maybe_applied error; clones are counted while their task
// runs, and clone tasks report "running" for `clone_polls` polls and for as
// long as `hold_clone_tasks` is set.
class WatchedProxmoxApi final : public ProxmoxApi {
public:
    explicit WatchedProxmoxApi(FakeProxmoxApi& inner) : inner_(inner) {}

    std::function<std::optional<Error>(std::string_view method, Vmid vmid)> before;
    void lose_next_answer(ProxmoxMethod method) {
        std::lock_guard lock(mutex_);
        lose_.insert(method);
    }
    void keep_locked(Vmid vmid, std::string lock) {
        std::lock_guard guard(mutex_);
        locked_[vmid] = std::move(lock);
    }
    std::atomic<int> clone_polls{0};
    std::atomic<bool> hold_clone_tasks{false};
    [[nodiscard]] int max_concurrent_clones() const {
        std::lock_guard lock(mutex_);
        return max_clones_;
    }

    Result<std::vector<NodeSummary>> list_nodes() override { return inner_.list_nodes(); }
    Result<std::vector<VmSummary>> list_vms() override { return inner_.list_vms(); }
    Result<VmConfig> get_config(const std::string& node, Vmid vmid) override {
        auto config = inner_.get_config(node, vmid);
        std::lock_guard lock(mutex_);
        if (config) {
            if (auto it = locked_.find(vmid); it != locked_.end()) (*config)["lock"] = it->second;
        }
        return config;
    }
    Result<std::vector<CloudinitEntry>> get_cloudinit(const std::string& node, Vmid vmid) override {
        return inner_.get_cloudinit(node, vmid);
    }
    Result<std::vector<TaskSummary>> active_tasks(const std::string& node, Vmid vmid) override {
        return inner_.active_tasks(node, vmid);
    }
    Result<std::string> clone(const std::string& node, Vmid source, const CloneRequest& request) override {
        if (auto error = check("clone", request.newid)) return std::unexpected(*error);
        auto upid = inner_.clone(node, source, request);
        if (upid) {
            std::lock_guard lock(mutex_);
            clones_[*upid] = clone_polls;
            max_clones_ = std::max(max_clones_, static_cast<int>(clones_.size()));
        }
        return answer(ProxmoxMethod::clone, std::move(upid));
    }
    // Config keys the "server" accepts and silently drops.
    void ignore_key(std::string key) {
        std::lock_guard lock(mutex_);
        ignored_.insert(std::move(key));
    }
    Result<void> update_config(const std::string& node, Vmid vmid, const ConfigUpdate& given) override {
        if (auto error = check("update_config", vmid)) return std::unexpected(*error);
        ConfigUpdate update = given;
        {
            std::lock_guard lock(mutex_);
            for (const auto& key : ignored_) update.set.erase(key);
        }
        auto result = inner_.update_config(node, vmid, update);
        std::lock_guard lock(mutex_);
        if (result && lose_.erase(ProxmoxMethod::update_config) > 0) return std::unexpected(lost());
        return result;
    }
    Result<std::string> resize_disk(const std::string& node, Vmid vmid, const std::string& disk,
                                    const std::string& size) override {
        if (auto error = check("resize_disk", vmid)) return std::unexpected(*error);
        return answer(ProxmoxMethod::resize_disk, inner_.resize_disk(node, vmid, disk, size));
    }
    Result<std::string> start(const std::string& node, Vmid vmid) override {
        if (auto error = check("start", vmid)) return std::unexpected(*error);
        return answer(ProxmoxMethod::start, inner_.start(node, vmid));
    }
    Result<std::string> shutdown(const std::string& node, Vmid vmid, bool force_stop) override {
        if (auto error = check("shutdown", vmid)) return std::unexpected(*error);
        return answer(ProxmoxMethod::shutdown, inner_.shutdown(node, vmid, force_stop));
    }
    Result<std::string> stop(const std::string& node, Vmid vmid) override {
        if (auto error = check("stop", vmid)) return std::unexpected(*error);
        return answer(ProxmoxMethod::stop, inner_.stop(node, vmid));
    }
    Result<std::string> destroy(const std::string& node, Vmid vmid) override {
        if (auto error = check("destroy", vmid)) return std::unexpected(*error);
        return answer(ProxmoxMethod::destroy, inner_.destroy(node, vmid));
    }
    Result<TaskStatus> task_status(const std::string& node, const std::string& upid) override {
        auto status = inner_.task_status(node, upid);
        std::lock_guard lock(mutex_);
        auto it = clones_.find(upid);
        if (status && it != clones_.end()) {
            if (it->second > 0 || hold_clone_tasks.load()) {
                --it->second;
                status->running = true;
                status->exitstatus.clear();
            } else if (!status->running) {
                clones_.erase(it);
            }
        }
        return status;
    }
    Result<std::vector<std::string>> task_log(const std::string& node, const std::string& upid) override {
        return inner_.task_log(node, upid);
    }
    Result<std::string> agent_file_read(const std::string& node, Vmid vmid, const std::string& path) override {
        return inner_.agent_file_read(node, vmid, path);
    }

private:
    std::optional<Error> check(std::string_view method, Vmid vmid) {
        if (!before) return std::nullopt;
        return before(method, vmid);
    }
    static Error lost() {
        return Error{ErrorKind::unavailable, "connection reset after the request was sent", true};
    }
    Result<std::string> answer(ProxmoxMethod method, Result<std::string> result) {
        std::lock_guard lock(mutex_);
        if (result && lose_.erase(method) > 0) return std::unexpected(lost());
        return result;
    }

    FakeProxmoxApi& inner_;
    mutable std::mutex mutex_;
    std::set<ProxmoxMethod> lose_;
    std::set<std::string> ignored_;
    std::map<Vmid, std::string> locked_;
    std::map<std::string, int> clones_;  // running clone UPIDs -> polls left reporting "running"
    int max_clones_ = 0;
};

}  // namespace dnsctl::apply_test
