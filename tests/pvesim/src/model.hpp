// The simulated world of one cluster: nodes, storages, pools, VMs and tasks,
// plus the error type every operation returns (status, message, `errors`).
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "schema.hpp"

namespace pvesim {

using Clock = dnsctl::Clock;
using TimePoint = Clock::time_point;
using Millis = std::chrono::milliseconds;
// A VM configuration: key -> value exactly as PVE stores it.
using Config = std::map<std::string, std::string>;

// How PVE fails a request: HTTP status, the message (its first line becomes
// the reason phrase) and, for 400, the per-parameter `errors`.
struct ApiError {
    int status = 500;
    std::string message;
    ErrorMap errors;

    static ApiError param(ErrorMap errors);     // 400 Parameter verification failed.
    static ApiError server(std::string message);  // 500
    static ApiError forbidden(std::string path, std::string privileges);  // 403 Permission check failed (…)
};

template <class T>
using Outcome = std::expected<T, ApiError>;

// Durations of simulated work. Defaults are in the range real PVE shows on a
// small cluster; tests shorten them in the config.
struct Timing {
    Millis clone{2000};
    Millis linked_clone{500};
    Millis start{1000};
    Millis stop{500};
    Millis shutdown{1500};
    Millis reboot{2000};
    Millis destroy{500};
    Millis resize{300};
    Millis config{200};          // POST …/config worker
    Millis agent_ready{0};       // guest agent answers this long after start
    Millis config_lock_wait{10000};  // flock wait of config writes before "got timeout"
    Millis clone_lock_wait{1000};    // flock wait of clone (source and target)
    Millis auth_failure_delay{3000};  // PVE delays every 401
    Millis rrd_lag{0};           // /cluster/resources shows a new VM without name/status this long
};

struct NodeSpec {
    std::string name;
    std::vector<std::string> bridges{"vmbr0"};
    int cpus = 8;
    std::uint64_t memory_bytes = 64ULL << 30;
    bool unreachable = false;  // every /nodes/<name>/… answers 595
    std::string unreachable_reason = "No route to host";
};

struct StorageSpec {
    std::string id;
    std::string type = "lvmthin";  // lvmthin, lvm, dir, nfs, zfspool, rbd
    std::vector<std::string> content{"images", "rootdir"};
    bool shared = false;
    std::vector<std::string> nodes;  // empty: all nodes
    std::uint64_t size_bytes = 1ULL << 40;

    [[nodiscard]] bool available_on(const std::string& node) const;
    [[nodiscard]] bool supports_linked_clone() const;
};

struct PoolSpec {
    std::string id;
    std::string comment;
};

struct Vm {
    int vmid = 0;
    std::string node;
    Config config;
    Config pending;
    std::set<std::string> pending_delete;
    Config cloudinit_image;  // cloud-init keys as used for the current cloud-init drive
    bool running = false;
    std::int64_t started_unix = 0;
    TimePoint agent_ready_at{};
    TimePoint created_at{};
    std::uint32_t pid = 0;
    std::string pool;
    std::string running_machine;  // the QEMU machine the running VM was started with ("pc-q35-9.2+pve1")
};

struct TaskJob {
    enum class Kind { clone, config, resize, start, stop, shutdown, reboot, destroy };
    Kind kind = Kind::start;
    int vmid = 0;   // the VM the task works on (clone: the new VM)
    int source = 0;  // clone: source VM
    std::string target_node;
    std::string pool;
    bool full = true;
    bool skiplock = false;
    bool force_stop = false;
    std::optional<std::string> digest;
    Config set;
    std::vector<std::string> deletes;
    std::vector<std::string> reverts;
    std::string disk;
    std::string size;
    std::string machine;  // start: the `machine` parameter, overriding the config for this run
};

struct Task {
    std::string upid;
    std::string node;
    std::string type;
    std::string id;
    std::string user;  // user@realm[!token]
    std::uint32_t pid = 0;
    std::uint32_t pstart = 0;
    std::int64_t starttime = 0;
    std::int64_t endtime = 0;
    bool running = true;
    std::string exitstatus;
    std::vector<std::string> log;

    // Scheduling while running.
    enum class Phase { waiting_lock, working, hooking, done };
    Phase phase = Phase::working;
    TaskJob job;
    std::vector<int> flocks;  // VMIDs whose config flock the task holds (or waits for)
    bool shared_source_lock = false;  // clone of a stopped VM holds the source flock shared
    TimePoint lock_deadline{};
    TimePoint due{};
    Millis work{0};
    std::optional<std::string> fail_message;  // injected failure
    int warnings = 0;                         // injected warnings
    std::optional<std::string> hook_event;
    bool hook_ran = false;
    std::optional<std::string> hook_error;
};

}  // namespace pvesim
