#include "proxmox/retrying_proxmox_api.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <random>

namespace dnsctl {

namespace {

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

UnitRandom make_seeded_random(std::uint64_t seed) {
    auto engine = std::make_shared<std::mt19937_64>(seed);
    return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

Clock::duration backoff_delay(const RetryPolicy& policy, int failed_attempts, double unit_random) {
    Clock::duration nominal = policy.first_delay;
    for (int i = 1; i < failed_attempts && nominal < policy.max_delay; ++i) nominal *= 2;
    nominal = std::min(nominal, policy.max_delay);
    const double fraction = 0.5 + 0.5 * std::clamp(unit_random, 0.0, 1.0);
    return std::chrono::duration_cast<Clock::duration>(nominal * fraction);
}

RetryDecision decide_retry(const RetryPolicy& policy, const Error& error, int failed_attempts,
                           Clock::duration elapsed, double unit_random) {
    if (error.maybe_applied) return {false, {}, "not retried: the request may have been applied; re-observe first"};
    if (!error.transient()) return {false, {}, ""};
    if (failed_attempts >= policy.max_attempts) {
        return {false, {}, fmt::format("gave up after {} attempts in {:.1f}s", failed_attempts, seconds(elapsed))};
    }
    auto delay = backoff_delay(policy, failed_attempts, unit_random);
    if (elapsed + delay > policy.max_elapsed) {
        return {false, {},
                fmt::format("gave up after {} attempts in {:.1f}s (retry budget {:.0f}s)", failed_attempts,
                            seconds(elapsed), seconds(policy.max_elapsed))};
    }
    return {true, delay, ""};
}

RetryingProxmoxApi::RetryingProxmoxApi(ProxmoxApi& inner, Clock& clock, UnitRandom random, RetryPolicy policy,
                                       std::shared_ptr<spdlog::logger> logger, std::stop_token stop)
    : inner_(inner),
      clock_(clock),
      random_(std::move(random)),
      policy_(policy),
      logger_(std::move(logger)),
      stop_(std::move(stop)) {}

double RetryingProxmoxApi::next_random() {
    std::lock_guard lock(random_mutex_);
    return random_();
}

template <class T, class Call>
Result<T> RetryingProxmoxApi::with_retries(std::string_view what, Call&& call) {
    const auto started = clock_.now();
    for (int failed = 1;; ++failed) {
        Result<T> result = call();
        if (result) return result;
        auto decision = decide_retry(policy_, result.error(), failed, clock_.now() - started, next_random());
        if (decision.retry && stop_.stop_requested()) decision = {false, {}, "not retried: stopping"};
        if (!decision.retry) {
            if (decision.reason.empty()) return result;
            Error error = result.error();
            error.message += fmt::format(" ({})", decision.reason);
            return std::unexpected(std::move(error));
        }
        if (logger_) {
            logger_->warn("{}: attempt {} failed, retrying in {:.1f}s: {}", what, failed, seconds(decision.after),
                          result.error().message);
        }
        if (clock_.sleep_for_unless_stopped(decision.after, stop_)) {
            Error error = result.error();
            error.message += " (not retried: stopping)";
            return std::unexpected(std::move(error));
        }
    }
}

Result<std::vector<NodeSummary>> RetryingProxmoxApi::list_nodes() {
    return with_retries<std::vector<NodeSummary>>("list nodes", [&] { return inner_.list_nodes(); });
}

Result<std::vector<VmSummary>> RetryingProxmoxApi::list_vms() {
    return with_retries<std::vector<VmSummary>>("list guests", [&] { return inner_.list_vms(); });
}

Result<VmConfig> RetryingProxmoxApi::get_config(const std::string& node, Vmid vmid) {
    return with_retries<VmConfig>("read config", [&] { return inner_.get_config(node, vmid); });
}

Result<std::vector<CloudinitEntry>> RetryingProxmoxApi::get_cloudinit(const std::string& node, Vmid vmid) {
    return with_retries<std::vector<CloudinitEntry>>("read cloud-init",
                                                     [&] { return inner_.get_cloudinit(node, vmid); });
}

Result<std::vector<TaskSummary>> RetryingProxmoxApi::active_tasks(const std::string& node, Vmid vmid) {
    return with_retries<std::vector<TaskSummary>>("list active tasks",
                                                  [&] { return inner_.active_tasks(node, vmid); });
}

Result<std::string> RetryingProxmoxApi::clone(const std::string& node, Vmid source, const CloneRequest& request) {
    return with_retries<std::string>("clone", [&] { return inner_.clone(node, source, request); });
}

Result<void> RetryingProxmoxApi::update_config(const std::string& node, Vmid vmid, const ConfigUpdate& update) {
    return with_retries<void>("update config", [&] { return inner_.update_config(node, vmid, update); });
}

Result<std::string> RetryingProxmoxApi::resize_disk(const std::string& node, Vmid vmid, const std::string& disk,
                                                    const std::string& size) {
    return with_retries<std::string>("resize disk", [&] { return inner_.resize_disk(node, vmid, disk, size); });
}

Result<std::string> RetryingProxmoxApi::start(const std::string& node, Vmid vmid) {
    return with_retries<std::string>("start", [&] { return inner_.start(node, vmid); });
}

Result<std::string> RetryingProxmoxApi::shutdown(const std::string& node, Vmid vmid, bool force_stop) {
    return with_retries<std::string>("shutdown", [&] { return inner_.shutdown(node, vmid, force_stop); });
}

Result<std::string> RetryingProxmoxApi::stop(const std::string& node, Vmid vmid) {
    return with_retries<std::string>("stop", [&] { return inner_.stop(node, vmid); });
}

Result<std::string> RetryingProxmoxApi::destroy(const std::string& node, Vmid vmid) {
    return with_retries<std::string>("destroy", [&] { return inner_.destroy(node, vmid); });
}

Result<TaskStatus> RetryingProxmoxApi::task_status(const std::string& node, const std::string& upid) {
    return with_retries<TaskStatus>("task status", [&] { return inner_.task_status(node, upid); });
}

Result<std::vector<std::string>> RetryingProxmoxApi::task_log(const std::string& node, const std::string& upid) {
    return with_retries<std::vector<std::string>>("task log", [&] { return inner_.task_log(node, upid); });
}

Result<std::string> RetryingProxmoxApi::agent_file_read(const std::string& node, Vmid vmid,
                                                        const std::string& path) {
    return with_retries<std::string>("guest agent file-read",
                                     [&] { return inner_.agent_file_read(node, vmid, path); });
}

}  // namespace dnsctl
