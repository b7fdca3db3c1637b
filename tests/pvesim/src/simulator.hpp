// Simulator: every cluster of one pve-sim process behind one lock. It decides
// faults per request (seeded, per-endpoint ordinals), applies injected latency
// through the Scheduler (never by blocking), runs the API, schedules task
// completion, starts lifecycle hooks, keeps the request log and the state
// file, and answers the admin API. Time, timers and hook processes are
// injected so unit tests drive it with a fake clock.
#pragma once

#include <nlohmann/json.hpp>

#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "api.hpp"
#include "config.hpp"

namespace pvesim {

class Scheduler {
public:
    virtual ~Scheduler() = default;
    // Runs `task` at `when` (or soon after), on any thread.
    virtual void at(TimePoint when, std::function<void()> task) = 0;
};

class HookRunner {
public:
    using Done = std::function<void(std::optional<std::string> error)>;
    virtual ~HookRunner() = default;
    // Runs `executable event` with `input` on stdin and `env` added to the
    // environment; calls done(nullopt) on exit status 0, done(message) otherwise.
    // `done` may run on any thread but never inside run().
    virtual void run(const std::filesystem::path& executable, const std::string& event, std::string input,
                     std::map<std::string, std::string> env, Done done) = 0;
};

// What the HTTP layer does with a request.
struct Action {
    enum class Kind { reply, reset, no_answer };
    Kind kind = Kind::reply;
    HttpReply reply;
};

struct LogEntry {
    std::uint64_t seq = 0;
    std::int64_t time = 0;  // unix seconds
    std::string cluster;
    std::string method;
    std::string path;  // without the query string
    int status = 0;    // 0 for reset / no answer
    std::int64_t latency_ms = 0;
    std::string authid;
    std::string outcome;  // reply, reset, no_answer
    std::vector<std::string> faults;
};

nlohmann::json to_json(const LogEntry& entry);

struct SimulatorOptions {
    std::filesystem::path state_dir;  // empty: nothing on disk (unit tests)
    bool persist = true;              // keep state.json in state_dir
    std::map<std::string, std::string> fingerprints;  // cluster -> "AB:CD:…"
    std::string ticket_key = "pve-sim";
};

class Simulator {
public:
    Simulator(SimConfig config, Clock& clock, Scheduler& scheduler, HookRunner& hooks, SimulatorOptions options);
    ~Simulator();
    Simulator(const Simulator&) = delete;
    Simulator& operator=(const Simulator&) = delete;

    // Loads state.json if present (VMs and task history of a previous run).
    bool load_state(std::string& error);
    void save_state();

    // One API request for `cluster`; `done` runs exactly once, possibly on
    // another thread and possibly before handle() returns.
    void handle(const std::string& cluster, HttpRequest request, std::function<void(Action)> done);
    // The admin API (plain HTTP, separate listener).
    HttpReply handle_admin(const HttpRequest& request);

    [[nodiscard]] std::vector<std::string> cluster_names() const;
    [[nodiscard]] const SimConfig& config() const { return config_; }
    [[nodiscard]] std::vector<LogEntry> log_since(std::uint64_t seq) const;
    // Test access; callers must not race the server threads.
    ClusterState* cluster_state(const std::string& name);

private:
    struct Runtime;
    struct Pending;
    struct HookJob {
        std::string cluster;
        HookCall call;
    };

    void process(const std::shared_ptr<Pending>& pending);
    void finish(const std::shared_ptr<Pending>& pending, Action action);
    void run_ticks(std::vector<HookJob>& hooks);
    void schedule_tick();
    void on_tick();
    void dispatch(std::vector<HookJob> hooks);
    void hook_done(const std::string& cluster, const std::string& upid, std::optional<std::string> error);
    std::filesystem::path guest_dir(const std::string& cluster, int vmid) const;
    nlohmann::json hook_payload(const std::string& cluster, const HookCall& call) const;
    nlohmann::json state_json() const;
    void write_state_file();

    SimConfig config_;
    Clock& clock_;
    Scheduler& scheduler_;
    HookRunner& hooks_;
    SimulatorOptions options_;
    mutable std::mutex mutex_;
    std::map<std::string, std::unique_ptr<Runtime>> clusters_;
    std::vector<FaultRule> faults_;
    std::uint64_t seed_ = 0;
    std::map<std::string, std::uint64_t> ordinals_;
    std::optional<TimePoint> scheduled_tick_;
    std::deque<LogEntry> log_;
    std::uint64_t next_seq_ = 1;
    std::ofstream log_file_;
    bool dirty_ = false;
};

}  // namespace pvesim
