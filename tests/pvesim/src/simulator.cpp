#include "simulator.hpp"

#include <algorithm>
#include <system_error>

#include <fmt/format.h>

#include "values.hpp"

namespace pvesim {

using nlohmann::json;

namespace {

constexpr std::size_t kLogMemory = 20000;

// The API path below /api2/json with decoded segments; "" if outside the API.
std::string api_path(const std::string& target) {
    auto path = split_target(target).first;
    const std::string prefix = "/api2/json";
    if (path.rfind(prefix, 0) != 0) return path;
    std::vector<std::string> segments;
    for (const auto& part : split(path.substr(prefix.size()), '/')) {
        if (!part.empty()) segments.push_back(percent_decode(part));
    }
    return "/" + join(segments, "/");
}

int vmid_in(const std::string& path) {
    auto segments = split(path, '/');
    for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
        std::int64_t vmid = 0;
        if (segments[i] == "qemu" && parse_int(segments[i + 1], vmid)) return static_cast<int>(vmid);
    }
    return 0;
}

HttpReply admin_json(int status, const json& body) {
    HttpReply reply;
    reply.status = status;
    reply.reason = status == 200 ? "OK" : status == 404 ? "Not Found" : status == 401 ? "Unauthorized" : "Bad Request";
    reply.content_type = "application/json";
    reply.body = body.dump(1, ' ', false, json::error_handler_t::replace);
    return reply;
}

HttpReply admin_error(int status, const std::string& message) { return admin_json(status, {{"error", message}}); }

}  // namespace

json to_json(const LogEntry& e) {
    return {{"seq", e.seq}, {"time", e.time}, {"cluster", e.cluster}, {"method", e.method}, {"path", e.path},
            {"status", e.status}, {"latency_ms", e.latency_ms}, {"auth", e.authid}, {"outcome", e.outcome},
            {"faults", e.faults}};
}

struct Simulator::Runtime {
    ClusterConfig config;
    std::unique_ptr<ClusterState> state;
    std::unique_ptr<TicketSigner> tickets;
    std::unique_ptr<ClusterApi> api;
};

struct Simulator::Pending {
    std::string cluster;
    std::string path;
    RequestContext context;
    std::function<void(Action)> done;
    TimePoint received;
    bool started = false;
};

Simulator::Simulator(SimConfig config, Clock& clock, Scheduler& scheduler, HookRunner& hooks, SimulatorOptions options)
    : config_(std::move(config)),
      clock_(clock),
      scheduler_(scheduler),
      hooks_(hooks),
      options_(std::move(options)),
      faults_(config_.faults),
      seed_(config_.seed) {
    const auto& schema = Schema::builtin();
    for (auto& cluster_config : config_.clusters) {
        auto runtime = std::make_unique<Runtime>();
        runtime->config = cluster_config;
        runtime->state = std::make_unique<ClusterState>(runtime->config.spec, clock_, schema);
        for (const auto& vm : runtime->config.vms) {
            auto added = runtime->state->add_vm(vm.vmid, vm.node, vm.config, vm.running, vm.pool);
            if (!added) throw std::invalid_argument(fmt::format("cluster {}: {}", cluster_config.spec.name, added.error().message));
        }
        runtime->tickets = std::make_unique<TicketSigner>(options_.ticket_key + "/" + cluster_config.spec.name);
        auto fingerprint = options_.fingerprints.count(cluster_config.spec.name) ? options_.fingerprints.at(cluster_config.spec.name) : "";
        auto guests = options_.state_dir.empty() ? std::filesystem::path() : options_.state_dir / "guests" / cluster_config.spec.name;
        runtime->api = std::make_unique<ClusterApi>(*runtime->state, runtime->config.access, *runtime->tickets, schema,
                                                    guests, fingerprint);
        clusters_.emplace(cluster_config.spec.name, std::move(runtime));
    }
    if (!options_.state_dir.empty()) {
        log_file_.open(options_.state_dir / "requests.log", std::ios::app);
    }
}

Simulator::~Simulator() = default;

std::vector<std::string> Simulator::cluster_names() const {
    std::vector<std::string> names;
    for (const auto& [name, _] : clusters_) names.push_back(name);
    return names;
}

ClusterState* Simulator::cluster_state(const std::string& name) {
    auto it = clusters_.find(name);
    return it == clusters_.end() ? nullptr : it->second->state.get();
}

std::filesystem::path Simulator::guest_dir(const std::string& cluster, int vmid) const {
    if (options_.state_dir.empty()) return {};
    return options_.state_dir / "guests" / cluster / std::to_string(vmid);
}

// --- persistence ---------------------------------------------------------------------

json Simulator::state_json() const {
    json clusters = json::object();
    for (const auto& [name, runtime] : clusters_) clusters[name] = runtime->state->save();
    return {{"version", 1}, {"clusters", clusters}};
}

void Simulator::write_state_file() {
    if (options_.state_dir.empty() || !options_.persist) return;
    auto path = options_.state_dir / "state.json";
    auto temp = options_.state_dir / "state.json.tmp";
    {
        std::ofstream out(temp, std::ios::trunc);
        out << state_json().dump(1, ' ', false, json::error_handler_t::replace) << "\n";
        if (!out) return;
    }
    std::error_code ec;
    std::filesystem::rename(temp, path, ec);
}

void Simulator::save_state() {
    std::lock_guard lock(mutex_);
    write_state_file();
}

bool Simulator::load_state(std::string& error) {
    if (options_.state_dir.empty()) return true;
    auto path = options_.state_dir / "state.json";
    std::ifstream in(path);
    if (!in) return true;  // first run
    auto state = json::parse(in, nullptr, false);
    if (state.is_discarded() || !state.is_object()) {
        error = fmt::format("{}: not valid JSON", path.string());
        return false;
    }
    std::lock_guard lock(mutex_);
    try {
        auto saved = state.value("clusters", json::object());
        for (auto& [name, cluster] : saved.items()) {
            auto it = clusters_.find(name);
            if (it != clusters_.end()) it->second->state->load(cluster);
        }
    } catch (const json::exception& e) {
        error = fmt::format("{}: {}", path.string(), e.what());
        return false;
    }
    return true;
}

// --- requests ------------------------------------------------------------------------

void Simulator::handle(const std::string& cluster, HttpRequest request, std::function<void(Action)> done) {
    auto pending = std::make_shared<Pending>();
    pending->cluster = cluster;
    pending->done = std::move(done);
    pending->received = clock_.now();
    pending->path = api_path(request.target);
    pending->context.request = std::move(request);
    int latency = 0;
    {
        std::lock_guard lock(mutex_);
        const auto& method = pending->context.request.method;
        auto ordinal = ordinals_[fmt::format("{} {} {}", cluster, method, pending->path)]++;
        pending->context.faults = decide_faults(faults_, seed_, cluster, method, pending->path, ordinal);
        latency = pending->context.faults.latency_ms;
    }
    if (latency > 0) {
        scheduler_.at(pending->received + Millis(latency), [this, pending] { process(pending); });
    } else {
        process(pending);
    }
}

void Simulator::process(const std::shared_ptr<Pending>& pending) {
    std::vector<HookJob> hooks;
    std::optional<Action> action;
    {
        std::lock_guard lock(mutex_);
        auto it = clusters_.find(pending->cluster);
        if (it == clusters_.end()) {
            action = Action{Action::Kind::reply, error_reply(ApiError{404, "no such cluster", {}})};
        } else {
            auto& runtime = *it->second;
            run_ticks(hooks);
            auto& faults = pending->context.faults;
            bool first = !pending->started;
            pending->started = true;
            if (first && faults.network && !faults.network->after_handler) {
                action = Action{faults.network->action == FaultAction::reset ? Action::Kind::reset : Action::Kind::no_answer, {}};
            } else if (first && faults.error && !faults.error->after_handler) {
                if (faults.error->action == FaultAction::lock_timeout) {
                    auto reply = error_reply(ApiError::server(ClusterState::lock_timeout_message(vmid_in(pending->path))));
                    auto when = clock_.now() + runtime.state->spec().timing.config_lock_wait;
                    scheduler_.at(when, [this, pending, reply] { finish(pending, Action{Action::Kind::reply, reply}); });
                } else {
                    action = Action{Action::Kind::reply, error_reply(ApiError{faults.error->status, faults.error->message, {}})};
                }
            } else {
                auto step = runtime.api->handle(pending->context);
                if (auto* deferral = std::get_if<Deferral>(&step)) {
                    if (deferral->reply) {
                        auto reply = *deferral->reply;
                        scheduler_.at(deferral->until, [this, pending, reply] { finish(pending, Action{Action::Kind::reply, reply}); });
                    } else {
                        scheduler_.at(deferral->until, [this, pending] { process(pending); });
                    }
                } else {
                    auto reply = std::get<HttpReply>(step);
                    if (faults.network && faults.network->after_handler) {
                        action = Action{faults.network->action == FaultAction::reset ? Action::Kind::reset : Action::Kind::no_answer, {}};
                    } else if (faults.error && faults.error->after_handler) {
                        auto message = faults.error->action == FaultAction::lock_timeout
                                           ? ClusterState::lock_timeout_message(vmid_in(pending->path))
                                           : faults.error->message;
                        action = Action{Action::Kind::reply, error_reply(ApiError{faults.error->status, message, {}})};
                    } else {
                        action = Action{Action::Kind::reply, std::move(reply)};
                    }
                    if (pending->context.request.method != "GET") dirty_ = true;
                }
            }
            run_ticks(hooks);
            schedule_tick();
            if (dirty_) {
                write_state_file();
                dirty_ = false;
            }
        }
    }
    dispatch(std::move(hooks));
    if (action) finish(pending, std::move(*action));
}

void Simulator::finish(const std::shared_ptr<Pending>& pending, Action action) {
    {
        std::lock_guard lock(mutex_);
        LogEntry entry;
        entry.seq = next_seq_++;
        entry.time = clock_.unix_now();
        entry.cluster = pending->cluster;
        entry.method = pending->context.request.method;
        entry.path = pending->path;
        entry.status = action.kind == Action::Kind::reply ? action.reply.status : 0;
        entry.latency_ms = std::chrono::duration_cast<Millis>(clock_.now() - pending->received).count();
        entry.authid = pending->context.authid;
        entry.outcome = action.kind == Action::Kind::reply ? "reply" : action.kind == Action::Kind::reset ? "reset" : "no_answer";
        entry.faults = pending->context.faults.fired;
        if (log_file_.is_open()) {
            log_file_ << to_json(entry).dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
            log_file_.flush();
        }
        log_.push_back(std::move(entry));
        while (log_.size() > kLogMemory) log_.pop_front();
    }
    auto done = std::move(pending->done);
    pending->done = nullptr;
    if (done) done(std::move(action));
}

std::vector<LogEntry> Simulator::log_since(std::uint64_t seq) const {
    std::lock_guard lock(mutex_);
    std::vector<LogEntry> out;
    for (const auto& entry : log_) {
        if (entry.seq > seq) out.push_back(entry);
    }
    return out;
}

// --- time and hooks ------------------------------------------------------------------

void Simulator::run_ticks(std::vector<HookJob>& hooks) {
    for (auto& [name, runtime] : clusters_) {
        auto result = runtime->state->tick();
        if (result.changed) dirty_ = true;
        for (auto& call : result.hooks) hooks.push_back(HookJob{name, std::move(call)});
        for (int vmid : result.destroyed) {
            auto dir = guest_dir(name, vmid);
            std::error_code ec;
            if (!dir.empty()) std::filesystem::remove_all(dir, ec);
        }
    }
}

void Simulator::schedule_tick() {
    std::optional<TimePoint> next;
    for (const auto& [_, runtime] : clusters_) {
        auto deadline = runtime->state->next_deadline();
        if (deadline && (!next || *deadline < *next)) next = deadline;
    }
    if (!next) return;
    if (scheduled_tick_ && *scheduled_tick_ <= *next && *scheduled_tick_ > clock_.now()) return;
    scheduled_tick_ = *next;
    scheduler_.at(*next, [this] { on_tick(); });
}

void Simulator::on_tick() {
    std::vector<HookJob> hooks;
    {
        std::lock_guard lock(mutex_);
        if (scheduled_tick_ && *scheduled_tick_ <= clock_.now()) scheduled_tick_.reset();
        run_ticks(hooks);
        schedule_tick();
        if (dirty_) {
            write_state_file();
            dirty_ = false;
        }
    }
    dispatch(std::move(hooks));
}

json Simulator::hook_payload(const std::string& cluster, const HookCall& call) const {
    const auto& schema = Schema::builtin();
    json config = json::object();
    for (const auto& [key, value] : call.config) {
        if (key == "cipassword") continue;  // never handed out
        config[key] = value;
    }
    json nets = json::array();
    json ipconfigs = json::array();
    for (const auto& [key, value] : call.config) {
        auto digits = key.find_first_of("0123456789");
        if (digits == std::string::npos) continue;
        auto base = key.substr(0, digits);
        if (base == "net") {
            const auto* format = schema.property_format(*schema.config_property(key));
            auto parsed = format ? schema.parse_property_string(*format, value, key, nullptr) : std::nullopt;
            json net = {{"id", key}};
            if (parsed) {
                for (const auto& [k, v] : *parsed) net[k] = v;
            }
            nets.push_back(net);
        } else if (base == "ipconfig") {
            json entry = {{"id", key}};
            if (auto cfg = parse_ipconfig(value, nullptr)) {
                if (cfg->ip) entry["ip"] = *cfg->ip;
                if (cfg->gw) entry["gw"] = *cfg->gw;
                if (cfg->ip6) entry["ip6"] = *cfg->ip6;
                if (cfg->gw6) entry["gw6"] = *cfg->gw6;
            }
            ipconfigs.push_back(entry);
        }
    }
    json keys = json::array();
    if (auto it = call.config.find("sshkeys"); it != call.config.end()) {
        for (const auto& line : split_lines(percent_decode(it->second))) keys.push_back(line);
    }
    json payload = {{"event", call.event},     {"cluster", cluster},       {"node", call.node},
                    {"vmid", call.vmid},       {"upid", call.upid},        {"config", config},
                    {"nets", nets},            {"ipconfig", ipconfigs},    {"sshkeys", keys},
                    {"guest_dir", guest_dir(cluster, call.vmid).string()}};
    payload["name"] = call.config.count("name") ? call.config.at("name") : fmt::format("VM {}", call.vmid);
    if (auto it = call.config.find("ciuser"); it != call.config.end()) payload["ciuser"] = it->second;
    if (auto it = call.config.find("nameserver"); it != call.config.end()) payload["nameserver"] = split_list(it->second);
    if (auto it = call.config.find("searchdomain"); it != call.config.end()) payload["searchdomain"] = split_list(it->second);
    return payload;
}

void Simulator::dispatch(std::vector<HookJob> hooks) {
    for (auto& job : hooks) {
        auto exe = config_.hooks.executables.find(job.call.event);
        if (exe == config_.hooks.executables.end()) {
            hook_done(job.cluster, job.call.upid, std::nullopt);
            continue;
        }
        auto dir = guest_dir(job.cluster, job.call.vmid);
        if (!dir.empty() && job.call.event != "delete") {
            std::error_code ec;
            std::filesystem::create_directories(dir, ec);
        }
        json payload;
        {
            std::lock_guard lock(mutex_);
            payload = hook_payload(job.cluster, job.call);
        }
        std::map<std::string, std::string> env = {
            {"PVESIM_EVENT", job.call.event},          {"PVESIM_CLUSTER", job.cluster},
            {"PVESIM_NODE", job.call.node},            {"PVESIM_VMID", std::to_string(job.call.vmid)},
            {"PVESIM_GUEST_DIR", dir.string()},        {"PVESIM_STATE_DIR", options_.state_dir.string()},
        };
        auto cluster = job.cluster;
        auto upid = job.call.upid;
        auto event = job.call.event;
        hooks_.run(exe->second, event, payload.dump(-1, ' ', false, json::error_handler_t::replace), env, [this, cluster, upid, event](std::optional<std::string> error) {
            if (error && event == "start") error = "start failed: " + *error;
            hook_done(cluster, upid, std::move(error));
        });
    }
}

void Simulator::hook_done(const std::string& cluster, const std::string& upid, std::optional<std::string> error) {
    std::vector<HookJob> hooks;
    {
        std::lock_guard lock(mutex_);
        auto it = clusters_.find(cluster);
        if (it == clusters_.end()) return;
        it->second->state->hook_finished(upid, std::move(error));
        run_ticks(hooks);
        schedule_tick();
        if (dirty_) {
            write_state_file();
            dirty_ = false;
        }
    }
    dispatch(std::move(hooks));
}

// --- admin API -----------------------------------------------------------------------

HttpReply Simulator::handle_admin(const HttpRequest& request) {
    if (!config_.admin_token.empty()) {
        auto it = request.headers.find("authorization");
        if (it == request.headers.end() || it->second != "Bearer " + config_.admin_token) {
            return admin_error(401, "admin token required");
        }
    }
    auto [path, query] = split_target(request.target);
    auto segments = split(path, '/');
    segments.erase(std::remove(segments.begin(), segments.end(), std::string()), segments.end());
    json body;
    if (!request.body.empty()) {
        body = json::parse(request.body, nullptr, false);
        if (body.is_discarded()) return admin_error(400, "body is not JSON");
    }
    const auto& method = request.method;
    std::lock_guard lock(mutex_);
    try {
        if (segments.size() == 1 && segments[0] == "healthz") return admin_json(200, {{"status", "ok"}});
        if (segments.size() == 1 && segments[0] == "state" && method == "GET") {
            json clusters = json::object();
            for (const auto& [name, runtime] : clusters_) {
                const auto& state = *runtime->state;
                json nodes = json::array();
                for (const auto& n : state.spec().nodes) {
                    nodes.push_back({{"name", n.name}, {"unreachable", n.unreachable}, {"reason", n.unreachable_reason}});
                }
                json vms = json::array();
                for (const auto& [vmid, vm] : state.vms()) {
                    vms.push_back({{"vmid", vmid}, {"node", vm.node}, {"running", vm.running}, {"config", vm.config},
                                   {"pending", vm.pending}, {"pool", vm.pool}});
                }
                json tasks = json::array();
                for (const auto& t : state.tasks()) {
                    tasks.push_back({{"upid", t.upid}, {"type", t.type}, {"id", t.id}, {"running", t.running},
                                     {"exitstatus", t.exitstatus}});
                }
                clusters[name] = {{"nodes", nodes}, {"vms", vms}, {"tasks", tasks}};
            }
            return admin_json(200, {{"clusters", clusters}});
        }
        if (segments.size() >= 1 && segments[0] == "faults") {
            auto list = [&] {
                json rules = json::array();
                for (const auto& r : faults_) rules.push_back(to_json(r));
                return json{{"seed", seed_}, {"rules", rules}};
            };
            if (segments.size() == 1 && method == "GET") return admin_json(200, list());
            if (segments.size() == 1 && method == "PUT") {
                json rules = body.is_array() ? body : body.value("rules", json::array());
                std::vector<FaultRule> parsed;
                for (std::size_t i = 0; i < rules.size(); ++i) parsed.push_back(fault_rule_from_json(rules[i], i));
                faults_ = std::move(parsed);
                if (body.is_object() && body.contains("seed")) seed_ = body["seed"].get<std::uint64_t>();
                ordinals_.clear();
                return admin_json(200, list());
            }
            if (segments.size() == 1 && method == "POST") {
                auto rule = fault_rule_from_json(body, faults_.size());
                if (!body.contains("id") && !body.contains("name")) rule.id = fmt::format("rule-{}", next_seq_ + faults_.size());
                faults_.push_back(rule);
                return admin_json(200, to_json(rule));
            }
            if (segments.size() == 1 && method == "DELETE") {
                faults_.clear();
                return admin_json(200, list());
            }
            if (segments.size() == 2 && method == "DELETE") {
                auto before = faults_.size();
                faults_.erase(std::remove_if(faults_.begin(), faults_.end(), [&](const FaultRule& r) { return r.id == segments[1]; }),
                              faults_.end());
                if (faults_.size() == before) return admin_error(404, "no such rule");
                return admin_json(200, list());
            }
        }
        if (segments.size() == 1 && segments[0] == "ordinals" && method == "DELETE") {
            ordinals_.clear();
            return admin_json(200, {{"status", "ok"}});
        }
        if (segments.size() == 1 && segments[0] == "log" && method == "GET") {
            std::uint64_t since = 0;
            for (const auto& pair : split(query, '&')) {
                std::int64_t value = 0;
                if (pair.rfind("since=", 0) == 0 && parse_int(pair.substr(6), value)) since = static_cast<std::uint64_t>(value);
            }
            json entries = json::array();
            for (const auto& entry : log_) {
                if (entry.seq > since) entries.push_back(to_json(entry));
            }
            return admin_json(200, {{"entries", entries}, {"next", next_seq_ - 1}});
        }
        if (segments.size() >= 2 && segments[0] == "clusters") {
            auto it = clusters_.find(segments[1]);
            if (it == clusters_.end()) return admin_error(404, "no such cluster");
            auto& state = *it->second->state;
            if (segments.size() == 3 && segments[2] == "timing") {
                if (method == "PUT") {
                    auto timing = state.spec().timing;
                    std::map<std::string, std::int64_t> values;
                    for (auto& [key, value] : body.items()) values[key] = value.get<std::int64_t>();
                    apply_timing(timing, values);
                    state.set_timing(timing);
                }
                return admin_json(200, timing_values(state.spec().timing));
            }
            if (segments.size() == 4 && segments[2] == "nodes" && method == "POST") {
                auto result = state.set_node_unreachable(segments[3], body.value("unreachable", true), body.value("reason", std::string()));
                if (!result) return admin_error(404, result.error().message);
                return admin_json(200, {{"node", segments[3]}, {"unreachable", body.value("unreachable", true)}});
            }
            std::int64_t vmid = 0;
            if (segments.size() == 5 && segments[2] == "vms" && parse_int(segments[3], vmid) && method == "POST") {
                if (segments[4] == "lock") {
                    auto result = state.set_lock(static_cast<int>(vmid), body.value("lock", std::string()));
                    if (!result) return admin_error(404, result.error().message);
                    write_state_file();
                    return admin_json(200, {{"vmid", vmid}, {"lock", body.value("lock", std::string())}});
                }
                if (segments[4] == "flock") {
                    if (!state.find_vm(static_cast<int>(vmid))) return admin_error(404, "no such VM");
                    state.hold_flock(static_cast<int>(vmid), Millis(body.value("ms", 10000)));
                    return admin_json(200, {{"vmid", vmid}, {"ms", body.value("ms", 10000)}});
                }
            }
        }
    } catch (const std::exception& e) {
        return admin_error(400, e.what());
    }
    return admin_error(404, fmt::format("no admin endpoint {} {}", method, path));
}

}  // namespace pvesim
