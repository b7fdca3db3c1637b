// RetryingProxmoxApi: a ProxmoxApi decorator that repeats calls failing with
// an error known to pass (ErrorKind::unavailable), with jittered exponential
// backoff through the injected Clock.
//
// Never repeated: errors of any other kind (an unrecognised 500 on a mutating
// call is `internal`, so it is never repeated), and errors with maybe_applied
// set (the request may have taken effect: the caller re-observes first).
// Nothing is repeated either once a stop is requested (SIGINT during an
// apply): a backoff wait ends at once and the last error is returned.
// Poll loops use without_retries(): they are the retry themselves.
// The decision itself is a pure function returning data, in the spirit of
// controller-runtime's RequeueAfter.
#pragma once

#include <spdlog/logger.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>

#include "core/clock.hpp"
#include "proxmox/proxmox_api.hpp"

namespace dnsctl {

struct RetryPolicy {
    int max_attempts = 6;                                   // including the first
    Clock::duration first_delay = std::chrono::seconds(1);  // before the second attempt (before jitter)
    Clock::duration max_delay = std::chrono::seconds(20);   // cap of the exponential growth
    Clock::duration max_elapsed = std::chrono::minutes(2);  // no attempt starts after this much time
};

// A uniformly distributed number in [0, 1). Injected so tests are repeatable.
using UnitRandom = std::function<double()>;
UnitRandom make_seeded_random(std::uint64_t seed);

// The nominal delay after `failed_attempts` failures: first_delay doubled
// per failure beyond the first, capped at max_delay; jitter then picks
// uniformly in [nominal/2, nominal] ("equal jitter"), so concurrent clients
// spread out but never retry at once.
Clock::duration backoff_delay(const RetryPolicy& policy, int failed_attempts, double unit_random);

struct RetryDecision {
    bool retry = false;
    Clock::duration after{};  // wait this long first (when retry)
    std::string reason;       // why not (when !retry), for the final error message
};

// Whether to try again after `failed_attempts` failed attempts that took
// `elapsed` so far, the last one failing with `error`.
RetryDecision decide_retry(const RetryPolicy& policy, const Error& error, int failed_attempts,
                           Clock::duration elapsed, double unit_random);

class RetryingProxmoxApi final : public ProxmoxApi {
public:
    // `inner` and `clock` must outlive this object. `logger` may be null.
    RetryingProxmoxApi(ProxmoxApi& inner, Clock& clock, UnitRandom random, RetryPolicy policy = {},
                       std::shared_ptr<spdlog::logger> logger = nullptr, std::stop_token stop = {});

    Result<std::vector<NodeSummary>> list_nodes() override;
    Result<std::vector<VmSummary>> list_vms() override;
    Result<VmConfig> get_config(const std::string& node, Vmid vmid) override;
    Result<std::vector<CloudinitEntry>> get_cloudinit(const std::string& node, Vmid vmid) override;
    Result<std::vector<TaskSummary>> active_tasks(const std::string& node, Vmid vmid) override;

    Result<std::string> clone(const std::string& node, Vmid source, const CloneRequest& request) override;
    Result<void> update_config(const std::string& node, Vmid vmid, const ConfigUpdate& update) override;
    Result<std::string> resize_disk(const std::string& node, Vmid vmid, const std::string& disk,
                                    const std::string& size) override;
    Result<std::string> start(const std::string& node, Vmid vmid) override;
    Result<std::string> shutdown(const std::string& node, Vmid vmid, bool force_stop) override;
    Result<std::string> stop(const std::string& node, Vmid vmid) override;
    Result<std::string> destroy(const std::string& node, Vmid vmid) override;

    Result<TaskStatus> task_status(const std::string& node, const std::string& upid) override;
    Result<std::vector<std::string>> task_log(const std::string& node, const std::string& upid) override;

    Result<std::string> agent_file_read(const std::string& node, Vmid vmid, const std::string& path) override;

    ProxmoxApi& without_retries() override { return inner_.without_retries(); }

private:
    template <class T, class Call>
    Result<T> with_retries(std::string_view what, Call&& call);
    double next_random();

    ProxmoxApi& inner_;
    Clock& clock_;
    std::mutex random_mutex_;  // the decorator may be shared by threads
    UnitRandom random_;
    RetryPolicy policy_;
    std::shared_ptr<spdlog::logger> logger_;
    std::stop_token stop_;
};

}  // namespace dnsctl
