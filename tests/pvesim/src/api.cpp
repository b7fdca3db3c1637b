#include "api.hpp"

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "values.hpp"

namespace pvesim {

using nlohmann::json;

namespace {

constexpr std::size_t kFileReadLimit = 16 * 1024 * 1024;

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string reason_text(std::string text) {
    text = first_line(text);
    for (auto& c : text) {
        if (c == '\r' || static_cast<unsigned char>(c) < 0x20) c = ' ';
    }
    return text;
}

void add_param(Params& params, const std::string& key, const std::string& value) {
    auto it = params.find(key);
    if (it == params.end()) {
        params.emplace(key, value);
    } else {
        it->second += std::string(1, '\0') + value;  // PVE joins repeated keys with NUL
    }
}

Params parse_form(std::string_view text) {
    Params params;
    for (const auto& pair : split(text, '&')) {
        if (pair.empty()) continue;
        auto eq = pair.find('=');
        auto key = form_decode(pair.substr(0, eq));
        auto value = eq == std::string::npos ? std::string() : form_decode(pair.substr(eq + 1));
        add_param(params, key, value);
    }
    return params;
}

std::optional<Params> parse_json_body(const std::string& body) {
    auto parsed = json::parse(body, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
    Params params;
    for (auto& [key, value] : parsed.items()) {
        if (value.is_null()) continue;
        if (value.is_boolean()) {
            params[key] = value.get<bool>() ? "1" : "0";
        } else if (value.is_string()) {
            params[key] = value.get<std::string>();
        } else {
            params[key] = value.dump(-1, ' ', false, json::error_handler_t::replace);
        }
    }
    return params;
}

std::vector<std::string> path_segments(const std::string& path) {
    std::vector<std::string> out;
    for (const auto& part : split(path, '/')) {
        if (!part.empty()) out.push_back(percent_decode(part));
    }
    return out;
}

bool match_route(const std::string& pattern, const std::vector<std::string>& segments,
                 std::map<std::string, std::string>& captures) {
    auto parts = path_segments(pattern);
    if (parts.size() != segments.size()) return false;
    std::map<std::string, std::string> found;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (parts[i].size() > 2 && parts[i].front() == '{' && parts[i].back() == '}') {
            found[parts[i].substr(1, parts[i].size() - 2)] = segments[i];
        } else if (parts[i] != segments[i]) {
            return false;
        }
    }
    captures = std::move(found);
    return true;
}

HttpReply empty_reply(int status, const std::string& reason) {
    HttpReply reply;
    reply.status = status;
    reply.reason = reason_text(reason);
    reply.content_type.clear();
    return reply;
}

bool is_index_key(const std::string& key, const std::string& prefix) {
    return key.size() > prefix.size() && key.rfind(prefix, 0) == 0 &&
           std::all_of(key.begin() + static_cast<long>(prefix.size()), key.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// Fields of a UPID: UPID:node:pid:pstart:starttime:type:id:user:
bool valid_upid(const std::string& upid) {
    static const std::regex re(R"(UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):)");
    return std::regex_match(upid, re);
}

}  // namespace

HttpReply json_reply(const json& data, std::optional<json> total) {
    json body = {{"data", data}};
    if (total) body["total"] = *total;
    HttpReply reply;
    reply.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
    return reply;
}

HttpReply error_reply(const ApiError& error) {
    HttpReply reply;
    reply.status = error.status;
    reply.reason = reason_text(error.message);
    if (error.status == 595 || error.status == 596) {
        reply.content_type.clear();
        return reply;
    }
    json body = {{"data", nullptr}};
    auto message = error.message;
    if (message.empty() || message.back() != '\n') message += "\n";
    body["message"] = message;
    if (!error.errors.empty()) body["errors"] = error.errors;
    reply.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
    return reply;
}

std::pair<std::string, std::string> split_target(const std::string& target) {
    auto q = target.find('?');
    std::string path = target.substr(0, q);
    std::string query = q == std::string::npos ? std::string() : target.substr(q + 1);
    return {path, query};
}

struct ClusterApi::Call {
    RequestContext& context;
    std::string method;
    std::string path;  // below /api2/json
    const Route* route = nullptr;
    const Endpoint* endpoint = nullptr;
    std::map<std::string, std::string> path_params;
    Params params;
    Identity who;
    TimePoint now;

    [[nodiscard]] bool has(const std::string& name) const { return params.count(name) > 0; }
    [[nodiscard]] std::string get(const std::string& name, std::string fallback = "") const {
        auto it = params.find(name);
        return it == params.end() ? fallback : it->second;
    }
    [[nodiscard]] std::optional<std::string> opt(const std::string& name) const {
        auto it = params.find(name);
        return it == params.end() ? std::nullopt : std::optional<std::string>(it->second);
    }
    [[nodiscard]] bool flag(const std::string& name) const { return get(name, "0") == "1"; }
    [[nodiscard]] std::string node() const { return path_params.at("node"); }
    [[nodiscard]] int vmid() const { return std::stoi(path_params.at("vmid")); }
    [[nodiscard]] std::int64_t integer(const std::string& name, std::int64_t fallback) const {
        std::int64_t value = fallback;
        if (auto it = params.find(name); it != params.end()) parse_int(it->second, value);
        return value;
    }
};

ClusterApi::ClusterApi(ClusterState& cluster, const AccessControl& access, const TicketSigner& tickets,
                       const Schema& schema, std::filesystem::path guest_root, std::string fingerprint)
    : cluster_(cluster),
      access_(access),
      tickets_(tickets),
      schema_(schema),
      guest_root_(std::move(guest_root)),
      fingerprint_(std::move(fingerprint)) {}

const std::vector<ClusterApi::Route>& ClusterApi::route_table() {
    static const std::vector<Route> routes = {
        {"GET", "/version", &ClusterApi::version},
        {"GET", "/nodes", &ClusterApi::nodes},
        {"GET", "/nodes/{node}", &ClusterApi::node_index},
        {"GET", "/cluster/resources", &ClusterApi::cluster_resources},
        {"GET", "/cluster/nextid", &ClusterApi::cluster_nextid},
        {"GET", "/cluster/tasks", &ClusterApi::cluster_tasks},
        {"GET", "/access/ticket", &ClusterApi::ticket_get},
        {"POST", "/access/ticket", &ClusterApi::ticket_post},
        {"GET", "/access/permissions", &ClusterApi::permissions},
        {"GET", "/pools", &ClusterApi::pools},
        {"GET", "/nodes/{node}/qemu", &ClusterApi::qemu_list},
        {"GET", "/nodes/{node}/qemu/{vmid}", &ClusterApi::qemu_index},
        {"DELETE", "/nodes/{node}/qemu/{vmid}", &ClusterApi::qemu_delete},
        {"POST", "/nodes/{node}/qemu/{vmid}/clone", &ClusterApi::qemu_clone},
        {"GET", "/nodes/{node}/qemu/{vmid}/config", &ClusterApi::config_get},
        {"POST", "/nodes/{node}/qemu/{vmid}/config", &ClusterApi::config_post},
        {"PUT", "/nodes/{node}/qemu/{vmid}/config", &ClusterApi::config_put},
        {"GET", "/nodes/{node}/qemu/{vmid}/pending", &ClusterApi::pending_get},
        {"GET", "/nodes/{node}/qemu/{vmid}/cloudinit", &ClusterApi::cloudinit_get},
        {"PUT", "/nodes/{node}/qemu/{vmid}/cloudinit", &ClusterApi::cloudinit_put},
        {"GET", "/nodes/{node}/qemu/{vmid}/cloudinit/dump", &ClusterApi::cloudinit_dump},
        {"PUT", "/nodes/{node}/qemu/{vmid}/resize", &ClusterApi::resize},
        {"GET", "/nodes/{node}/qemu/{vmid}/status/current", &ClusterApi::status_current},
        {"POST", "/nodes/{node}/qemu/{vmid}/status/start", &ClusterApi::status_start},
        {"POST", "/nodes/{node}/qemu/{vmid}/status/stop", &ClusterApi::status_stop},
        {"POST", "/nodes/{node}/qemu/{vmid}/status/shutdown", &ClusterApi::status_shutdown},
        {"POST", "/nodes/{node}/qemu/{vmid}/status/reboot", &ClusterApi::status_reboot},
        {"POST", "/nodes/{node}/qemu/{vmid}/agent/ping", &ClusterApi::agent_ping},
        {"GET", "/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces", &ClusterApi::agent_interfaces},
        {"GET", "/nodes/{node}/qemu/{vmid}/agent/file-read", &ClusterApi::agent_file_read},
        {"GET", "/nodes/{node}/tasks", &ClusterApi::tasks_list},
        {"GET", "/nodes/{node}/tasks/{upid}", &ClusterApi::task_index},
        {"DELETE", "/nodes/{node}/tasks/{upid}", &ClusterApi::task_delete},
        {"GET", "/nodes/{node}/tasks/{upid}/status", &ClusterApi::task_status},
        {"GET", "/nodes/{node}/tasks/{upid}/log", &ClusterApi::task_log},
    };
    return routes;
}

std::vector<std::string> ClusterApi::routes() {
    std::vector<std::string> out;
    for (const auto& route : route_table()) out.push_back(route.method + " " + route.path);
    std::sort(out.begin(), out.end());
    return out;
}

// --- authentication ---------------------------------------------------------------

Outcome<Identity> ClusterApi::authenticate(const HttpRequest& request, const std::string& method) {
    auto now = cluster_.clock().unix_now();
    auto header = [&](const std::string& name) -> std::string {
        auto it = request.headers.find(name);
        return it == request.headers.end() ? std::string() : it->second;
    };
    std::string authorization = header("authorization");
    std::optional<std::string> ticket;
    if (authorization.rfind("PVEAPIToken", 0) == 0 && authorization.size() > 11 &&
        (authorization[11] == '=' || authorization[11] == ' ')) {
        auto value = percent_decode(authorization.substr(12));
        auto bang = value.find('!');
        auto eq = value.rfind('=');
        if (bang == std::string::npos || eq == std::string::npos || eq < bang) {
            return std::unexpected(ApiError{401, "Authentication failed!", {}});
        }
        auto identity = access_.verify_token(value.substr(0, bang), value.substr(bang + 1, eq - bang - 1),
                                             value.substr(eq + 1), now);
        if (!identity) return std::unexpected(ApiError{401, "Authentication failed!", {}});
        return *identity;
    }
    if (authorization.rfind("PVEAuthCookie=", 0) == 0) ticket = percent_decode(authorization.substr(14));
    if (!ticket) {
        for (const auto& part : split(header("cookie"), ';')) {
            auto trimmed = part.substr(std::min(part.find_first_not_of(' '), part.size()));
            if (trimmed.rfind("PVEAuthCookie=", 0) == 0) ticket = percent_decode(trimmed.substr(14));
        }
    }
    if (!ticket) return std::unexpected(ApiError{401, "No ticket", {}});
    auto user = tickets_.verify_ticket(*ticket, now);
    if (!user) return std::unexpected(ApiError{401, "Authentication failed!", {}});
    const auto* u = access_.user(*user);
    if (!u || !u->enabled) return std::unexpected(ApiError{401, "Authentication failed!", {}});
    if (method != "GET" && !tickets_.verify_csrf(header("csrfpreventiontoken"), *user, now)) {
        return std::unexpected(ApiError{401, "Permission denied - invalid csrf token", {}});
    }
    return Identity{*user, ""};
}

// --- permissions ---------------------------------------------------------------------

bool ClusterApi::vm_allowed(const Identity& who, int vmid, const std::string& privilege) const {
    if (access_.allowed(who, fmt::format("/vms/{}", vmid), privilege)) return true;
    const auto* vm = cluster_.find_vm(vmid);
    return vm && !vm->pool.empty() && access_.allowed(who, fmt::format("/pool/{}", vm->pool), privilege);
}

std::optional<ApiError> ClusterApi::check_vm_privileges(const Identity& who, int vmid,
                                                        const std::vector<std::string>& privileges, bool any) const {
    if (any) {
        for (const auto& p : privileges) {
            if (vm_allowed(who, vmid, p)) return std::nullopt;
        }
        return ApiError::forbidden(fmt::format("/vms/{}", vmid), join(privileges, "|"));
    }
    for (const auto& p : privileges) {
        if (!vm_allowed(who, vmid, p)) return ApiError::forbidden(fmt::format("/vms/{}", vmid), p);
    }
    return std::nullopt;
}

std::optional<ApiError> ClusterApi::check_permissions(const Call& call) const {
    const auto& spec = call.endpoint->spec["permissions"];
    if (!spec.contains("check")) return std::nullopt;  // "user": "all" / "world": handlers filter
    std::function<std::optional<ApiError>(const json&)> eval = [&](const json& check) -> std::optional<ApiError> {
        auto op = check.at(0).get<std::string>();
        if (op == "and") {
            for (std::size_t i = 1; i < check.size(); ++i) {
                if (auto error = eval(check[i])) return error;
            }
            return std::nullopt;
        }
        if (op == "or") {
            std::optional<ApiError> first;
            for (std::size_t i = 1; i < check.size(); ++i) {
                auto error = eval(check[i]);
                if (!error) return std::nullopt;
                if (!first) first = error;
            }
            return first;
        }
        if (op != "perm") return std::nullopt;
        auto path = check.at(1).get<std::string>();
        std::vector<std::string> privileges = check.at(2).get<std::vector<std::string>>();
        bool any = false;
        for (std::size_t i = 3; i + 1 < check.size(); i += 2) {
            auto option = check[i].get<std::string>();
            if (option == "any") any = true;
            if (option == "require_param" && !call.has(check[i + 1].get<std::string>())) {
                return ApiError::forbidden(path, join(privileges, "|"));
            }
        }
        // substitute {param}
        std::string resolved;
        for (std::size_t i = 0; i < path.size(); ++i) {
            if (path[i] == '{') {
                auto close = path.find('}', i);
                resolved += call.get(path.substr(i + 1, close - i - 1));
                i = close;
            } else {
                resolved.push_back(path[i]);
            }
        }
        std::int64_t vmid = 0;
        if (resolved.rfind("/vms/", 0) == 0 && parse_int(resolved.substr(5), vmid)) {
            return check_vm_privileges(call.who, static_cast<int>(vmid), privileges, any);
        }
        if (any) {
            for (const auto& p : privileges) {
                if (access_.allowed(call.who, resolved, p)) return std::nullopt;
            }
            return ApiError::forbidden(resolved, join(privileges, "|"));
        }
        for (const auto& p : privileges) {
            if (!access_.allowed(call.who, resolved, p)) return ApiError::forbidden(resolved, p);
        }
        return std::nullopt;
    };
    return eval(spec["check"]);
}

std::optional<ApiError> ClusterApi::config_write_privileges(const Identity& who, int vmid, const Params& params) const {
    static const std::set<std::string> meta = {"node", "vmid", "digest", "skiplock", "delete", "revert", "force",
                                               "background_delay"};
    static const std::set<std::string> cloudinit = {"ciuser", "cipassword", "citype", "ciupgrade", "cicustom",
                                                    "nameserver", "searchdomain", "sshkeys"};
    static const std::set<std::string> cpu = {"cores", "sockets", "cpu", "vcpus", "cpulimit", "cpuunits", "affinity",
                                              "numa", "smp"};
    static const std::set<std::string> memory = {"memory", "balloon", "shares"};
    static const std::set<std::string> hwtype = {"scsihw", "vga", "tablet", "audio0", "rng0", "watchdog", "ivshmem",
                                                 "keyboard", "machine", "arch", "bios"};
    std::vector<std::pair<std::string, std::string>> keys;  // key, value ("" for delete)
    for (const auto& [key, value] : params) {
        if (!meta.count(key)) keys.emplace_back(key, value);
    }
    for (const auto& key : split_list(params.count("delete") ? params.at("delete") : "")) keys.emplace_back(key, "");
    for (const auto& key : split_list(params.count("revert") ? params.at("revert") : "")) keys.emplace_back(key, "");
    for (const auto& [key, value] : keys) {
        std::vector<std::string> needed;
        bool any = false;
        if (cloudinit.count(key) || is_index_key(key, "ipconfig")) {
            needed = {"VM.Config.Cloudinit", "VM.Config.Network"};
            any = true;
        } else if (is_index_key(key, "net")) {
            needed = {"VM.Config.Network"};
        } else if (is_disk_key(key) || is_index_key(key, "unused")) {
            needed = {is_cdrom(value) && !value.empty() ? "VM.Config.CDROM" : "VM.Config.Disk"};
        } else if (cpu.count(key) || is_index_key(key, "numa")) {
            needed = {"VM.Config.CPU"};
        } else if (memory.count(key)) {
            needed = {"VM.Config.Memory"};
        } else if (hwtype.count(key) || is_index_key(key, "usb") || is_index_key(key, "hostpci") ||
                   is_index_key(key, "serial") || is_index_key(key, "parallel") || is_index_key(key, "virtiofs")) {
            needed = {"VM.Config.HWType"};
        } else {
            needed = {"VM.Config.Options"};
        }
        if (auto error = check_vm_privileges(who, vmid, needed, any)) return error;
        if (is_index_key(key, "net") && !value.empty()) {
            for (const auto& part : split(value, ',')) {
                if (part.rfind("bridge=", 0) != 0) continue;
                auto path = fmt::format("/sdn/zones/localnetwork/{}", part.substr(7));
                if (!access_.allowed(who, path, "SDN.Use")) return ApiError::forbidden(path, "SDN.Use");
            }
        }
    }
    return std::nullopt;
}

// --- shared steps ---------------------------------------------------------------------------

std::optional<ApiStep> ClusterApi::wait_for_flock(Call& call, int vmid, bool shared, Millis wait) {
    auto busy = cluster_.flock_busy_until(vmid, shared);
    if (!busy) return std::nullopt;
    if (!call.context.lock_deadline) call.context.lock_deadline = call.now + wait;
    auto deadline = *call.context.lock_deadline;
    if (call.now >= deadline) {
        return ApiStep(error_reply(ApiError::server(ClusterState::lock_timeout_message(vmid))));
    }
    if (*busy >= deadline) {
        // The holder outlasts the wait: PVE gives up when the wait is over.
        return ApiStep(Deferral{deadline, error_reply(ApiError::server(ClusterState::lock_timeout_message(vmid)))});
    }
    return ApiStep(Deferral{*busy, std::nullopt});
}

TaskOptions ClusterApi::task_options(const Call& call) const {
    TaskOptions options;
    options.user = call.who.authid();
    options.fail = call.context.faults.task_fail;
    options.warnings = call.context.faults.task_warnings;
    return options;
}

json ClusterApi::typed(const std::string& key, const std::string& value) const {
    auto type = schema_.config_value_type(key);
    std::int64_t i = 0;
    double d = 0;
    if ((type == "integer" || type == "boolean") && parse_int(value, i)) return i;
    if (type == "number" && parse_number(value, d)) return d;
    return value;
}

// --- dispatch ----------------------------------------------------------------------------

ApiStep ClusterApi::handle(RequestContext& context) {
    const auto& request = context.request;
    auto [raw_path, query] = split_target(request.target);
    auto now = cluster_.clock().now();
    const std::string prefix = "/api2/json";
    if (raw_path.rfind(prefix, 0) != 0 || (raw_path.size() > prefix.size() && raw_path[prefix.size()] != '/')) {
        return error_reply(ApiError{501, fmt::format("Method '{} {}' not implemented", request.method, raw_path), {}});
    }
    auto segments = path_segments(raw_path.substr(prefix.size()));
    std::string path = "/" + join(segments, "/");
    Call call{context, request.method, path};
    call.now = now;
    for (const auto& route : route_table()) {
        std::map<std::string, std::string> captures;
        if (route.method == request.method && match_route(route.path, segments, captures)) {
            call.route = &route;
            call.path_params = std::move(captures);
            break;
        }
    }
    bool is_login = path == "/access/ticket";
    if (!is_login) {
        auto identity = authenticate(request, request.method);
        if (!identity) {
            auto delay = cluster_.spec().timing.auth_failure_delay;
            return Deferral{now + delay, empty_reply(401, identity.error().message)};
        }
        call.who = *identity;
        context.authid = call.who.authid();
    }
    if (!call.route) {
        return error_reply(ApiError{501, fmt::format("Method '{} {}' not implemented", request.method, path), {}});
    }
    call.endpoint = schema_.find(call.route->method, call.route->path);
    if (!call.endpoint) return error_reply(ApiError::server("internal error: route without schema"));
    if (call.who.is_token() && !call.endpoint->allow_token()) {
        return error_reply(ApiError{403, fmt::format("URI '{}' not available with API token, need proper ticket.", path), {}});
    }

    // The node the request is proxied to must exist and answer.
    if (call.path_params.count("node")) {
        const auto* node = cluster_.node(call.node());
        if (!node) {
            return error_reply(ApiError::server(fmt::format(
                "hostname lookup '{0}' failed - failed to get address info for: {0}: Name or service not known", call.node())));
        }
        if (node->unreachable) return error_reply(ApiError{595, node->unreachable_reason, {}});
    }

    // Parameters: body (form or JSON), then the query string overrides.
    if ((request.method == "GET" || request.method == "DELETE") && !request.body.empty()) {
        return error_reply(ApiError{501, fmt::format("Unexpected content for method '{}'", request.method), {}});
    }
    if (!request.body.empty()) {
        auto type = request.headers.count("content-type") ? request.headers.at("content-type") : std::string();
        if (type.rfind("application/json", 0) == 0) {
            auto body = parse_json_body(request.body);
            if (!body) return error_reply(ApiError{400, "malformed JSON string", {}});
            call.params = std::move(*body);
        } else {
            call.params = parse_form(request.body);
        }
    }
    for (const auto& [key, value] : parse_form(query)) call.params[key] = value;
    ErrorMap duplicates;
    for (const auto& [key, value] : call.path_params) {
        auto it = call.params.find(key);
        if (it != call.params.end() && it->second != value) {
            duplicates[key] = "duplicate parameter (already defined in URI) with conflicting values!";
        }
        call.params[key] = value;
    }
    if (!duplicates.empty()) return error_reply(ApiError::param(duplicates));

    if (!is_login) {
        if (auto error = check_permissions(call)) return error_reply(*error);
    }
    auto errors = schema_.validate(*call.endpoint, call.params);
    if (!errors.empty()) return error_reply(ApiError::param(errors));
    if (call.flag("skiplock") && call.who.user != "root@pam") {
        return error_reply(ApiError::param({{"skiplock", "Only root may use this option."}}));
    }
    return (this->*(call.route->handler))(call);
}

// --- cluster-wide endpoints ---------------------------------------------------------------

ApiStep ClusterApi::version(Call&) {
    const auto& spec = cluster_.spec();
    return json_reply({{"version", spec.version}, {"release", spec.release}, {"repoid", spec.repoid}});
}

ApiStep ClusterApi::nodes(Call& call) {
    json list = json::array();
    for (const auto& node : cluster_.spec().nodes) {
        json entry = {{"node", node.name}, {"id", "node/" + node.name}, {"type", "node"},
                      {"status", node.unreachable ? "offline" : "online"}, {"level", ""}};
        if (!node.unreachable && access_.allowed(call.who, "/nodes/" + node.name, "Sys.Audit")) {
            entry["cpu"] = 0.0123;
            entry["maxcpu"] = node.cpus;
            entry["mem"] = node.memory_bytes / 8;
            entry["maxmem"] = node.memory_bytes;
            entry["disk"] = 4ULL << 30;
            entry["maxdisk"] = 100ULL << 30;
            entry["uptime"] = 86400;
            entry["ssl_fingerprint"] = fingerprint_;
        }
        list.push_back(entry);
    }
    return json_reply(list);
}

ApiStep ClusterApi::node_index(Call&) {
    json list = json::array();
    for (const char* name : {"qemu", "tasks", "status", "network", "storage"}) list.push_back({{"name", name}});
    return json_reply(list);
}

json ClusterApi::vm_resource(const Vm& vm) const {
    const auto* node = cluster_.node(vm.node);
    auto conf = cluster_.effective_config(vm);
    json entry = {{"id", fmt::format("qemu/{}", vm.vmid)}, {"type", "qemu"}, {"vmid", vm.vmid}, {"node", vm.node}};
    if (auto it = vm.config.find("tags"); it != vm.config.end()) entry["tags"] = it->second;
    if (auto it = vm.config.find("lock"); it != vm.config.end()) entry["lock"] = it->second;
    if (!vm.pool.empty()) entry["pool"] = vm.pool;
    bool stale = cluster_.clock().now() - vm.created_at < cluster_.spec().timing.rrd_lag;
    if ((node && node->unreachable) || stale) {
        entry["status"] = "unknown";
        return entry;
    }
    std::uint64_t maxdisk = 0;
    for (const auto& key : {"scsi0", "virtio0", "sata0", "ide0"}) {
        if (auto it = conf.find(key); it != conf.end() && !is_cdrom(it->second)) {
            maxdisk = cluster_.disk_bytes(it->second);
            break;
        }
    }
    std::int64_t cores = 1, sockets = 1;
    if (conf.count("cores")) parse_int(conf.at("cores"), cores);
    if (conf.count("sockets")) parse_int(conf.at("sockets"), sockets);
    auto maxmem = cluster_.memory_mib(conf) * 1024 * 1024;
    entry["name"] = conf.count("name") ? conf.at("name") : fmt::format("VM {}", vm.vmid);
    entry["status"] = vm.running ? "running" : "stopped";
    entry["template"] = conf.count("template") && conf.at("template") == "1" ? 1 : 0;
    entry["maxcpu"] = cores * sockets;
    entry["cpu"] = vm.running ? 0.0042 : 0;
    entry["maxmem"] = maxmem;
    entry["mem"] = vm.running ? maxmem / 4 : 0;
    entry["maxdisk"] = maxdisk;
    entry["disk"] = 0;
    entry["netin"] = 0;
    entry["netout"] = 0;
    entry["diskread"] = 0;
    entry["diskwrite"] = 0;
    entry["uptime"] = vm.running ? std::max<std::int64_t>(0, cluster_.clock().unix_now() - vm.started_unix) : 0;
    return entry;
}

ApiStep ClusterApi::cluster_resources(Call& call) {
    auto type = call.get("type");
    json list = json::array();
    if (type.empty() || type == "vm") {
        for (const auto& [vmid, vm] : cluster_.vms()) {
            if (!vm_allowed(call.who, vmid, "VM.Audit")) continue;
            const auto* node = cluster_.node(vm.node);
            if (node && node->unreachable && !cluster_.spec().list_unreachable_vms) continue;
            list.push_back(vm_resource(vm));
        }
    }
    if (type.empty() || type == "storage") {
        for (const auto& node : cluster_.spec().nodes) {
            for (const auto& storage : cluster_.spec().storages) {
                if (!storage.available_on(node.name)) continue;
                auto path = "/storage/" + storage.id;
                if (!access_.allowed(call.who, path, "Datastore.Audit") &&
                    !access_.allowed(call.who, path, "Datastore.AllocateSpace")) {
                    continue;
                }
                std::uint64_t used = 0;
                for (const auto& [_, vm] : cluster_.vms()) {
                    for (const auto& [key, value] : vm.config) {
                        if (is_disk_key(key) && value.rfind(storage.id + ":", 0) == 0) used += cluster_.disk_bytes(value);
                    }
                }
                json entry = {{"id", fmt::format("storage/{}/{}", node.name, storage.id)}, {"type", "storage"},
                              {"storage", storage.id}, {"node", node.name}, {"plugintype", storage.type},
                              {"content", join(storage.content, ",")}, {"shared", storage.shared ? 1 : 0}};
                if (node.unreachable) {
                    entry["status"] = "unknown";
                } else {
                    entry["status"] = "available";
                    entry["disk"] = used;
                    entry["maxdisk"] = storage.size_bytes;
                }
                list.push_back(entry);
            }
        }
    }
    if (type.empty() || type == "node") {
        for (const auto& node : cluster_.spec().nodes) {
            json entry = {{"id", "node/" + node.name}, {"type", "node"}, {"node", node.name},
                          {"status", node.unreachable ? "offline" : "online"}, {"level", ""}, {"cgroup-mode", 2}};
            if (!node.unreachable && access_.allowed(call.who, "/nodes/" + node.name, "Sys.Audit")) {
                entry["cpu"] = 0.0123;
                entry["maxcpu"] = node.cpus;
                entry["mem"] = node.memory_bytes / 8;
                entry["maxmem"] = node.memory_bytes;
                entry["disk"] = 4ULL << 30;
                entry["maxdisk"] = 100ULL << 30;
                entry["uptime"] = 86400;
            }
            list.push_back(entry);
        }
    }
    if (type.empty()) {
        for (const auto& pool : cluster_.spec().pools) {
            if (!access_.allowed(call.who, "/pool/" + pool.id, "Pool.Audit")) continue;
            list.push_back({{"id", "/pool/" + pool.id}, {"type", "pool"}, {"pool", pool.id}});
        }
    }
    return json_reply(list);
}

ApiStep ClusterApi::cluster_nextid(Call& call) {
    if (call.has("vmid")) {
        auto vmid = call.get("vmid");
        if (cluster_.find_vm(std::stoi(vmid))) {
            return error_reply(ApiError::param({{"vmid", fmt::format("VM {} already exists", vmid)}}));
        }
        return json_reply(vmid);  // a string, like real PVE
    }
    return json_reply(std::to_string(cluster_.next_free_vmid()));
}

bool ClusterApi::task_visible(const Identity& who, const Task& task) const {
    return task.user == who.authid() || access_.allowed(who, "/nodes/" + task.node, "Sys.Audit");
}

json ClusterApi::task_entry(const Task& task) const {
    json entry = {{"upid", task.upid}, {"node", task.node}, {"pid", task.pid}, {"pstart", task.pstart},
                  {"starttime", task.starttime}, {"type", task.type}, {"id", task.id}, {"user", task.user}};
    if (!task.running) {
        entry["endtime"] = task.endtime;
        entry["status"] = task.exitstatus;
    }
    return entry;
}

ApiStep ClusterApi::cluster_tasks(Call& call) {
    json list = json::array();
    for (auto it = cluster_.tasks().rbegin(); it != cluster_.tasks().rend(); ++it) {
        if (task_visible(call.who, *it)) list.push_back(task_entry(*it));
    }
    return json_reply(list);
}

// --- access --------------------------------------------------------------------------------

ApiStep ClusterApi::ticket_get(Call&) { return json_reply(nullptr); }

ApiStep ClusterApi::ticket_post(Call& call) {
    auto username = call.get("username");
    if (username.find('@') == std::string::npos && call.has("realm")) username += "@" + call.get("realm");
    auto password = call.get("password");
    auto now = cluster_.clock().unix_now();
    bool ok = access_.verify_password(username, password);
    if (!ok && password.rfind("PVE:", 0) == 0) {
        auto renewed = tickets_.verify_ticket(password, now);
        ok = renewed && *renewed == username && access_.user(username) && access_.user(username)->enabled;
    }
    if (!ok) {
        auto reply = error_reply(ApiError{401, "authentication failure", {}});
        return Deferral{call.now + cluster_.spec().timing.auth_failure_delay, reply};
    }
    Identity who{username, ""};
    json cap = json::object();
    for (const auto& [name, path] : std::vector<std::pair<std::string, std::string>>{
             {"vms", "/vms"}, {"storage", "/storage"}, {"nodes", "/nodes"}, {"access", "/access"}, {"dc", "/"},
             {"sdn", "/sdn"}, {"mapping", "/mapping"}}) {
        json privileges = json::object();
        for (const auto& p : access_.privileges(who, path)) privileges[p] = 1;
        cap[name] = privileges;
    }
    return json_reply({{"username", username},
                       {"ticket", tickets_.make_ticket(username, now)},
                       {"CSRFPreventionToken", tickets_.make_csrf(username, now)},
                       {"cap", cap}});
}

ApiStep ClusterApi::permissions(Call& call) {
    Identity subject = call.who;
    if (call.has("userid")) {
        auto userid = call.get("userid");
        auto bang = userid.find('!');
        Identity asked{userid.substr(0, bang), bang == std::string::npos ? "" : userid.substr(bang + 1)};
        bool own = asked.authid() == call.who.authid() || (!call.who.is_token() && asked.user == call.who.user);
        if (!own && !access_.allowed(call.who, "/access", "Sys.Audit")) {
            return error_reply(ApiError::forbidden("/access", "Sys.Audit"));
        }
        subject = asked;
    }
    json result = json::object();
    std::vector<std::string> paths = call.has("path") ? std::vector<std::string>{call.get("path")} : access_.acl_paths();
    for (const auto& path : paths) {
        auto privileges = access_.permissions(subject, path);
        if (privileges.empty() && !call.has("path")) continue;
        json entry = json::object();
        for (const auto& [p, propagate] : privileges) entry[p] = propagate ? 1 : 0;
        result[path] = entry;
    }
    return json_reply(result);
}

ApiStep ClusterApi::pools(Call& call) {
    json list = json::array();
    for (const auto& pool : cluster_.spec().pools) {
        if (!access_.allowed(call.who, "/pool/" + pool.id, "Pool.Audit")) continue;
        json entry = {{"poolid", pool.id}};
        if (!pool.comment.empty()) entry["comment"] = pool.comment;
        list.push_back(entry);
    }
    return json_reply(list);
}

// --- VMs -------------------------------------------------------------------------------------

json ClusterApi::vm_status(const Vm& vm) const {
    auto resource = vm_resource(vm);
    auto conf = cluster_.effective_config(vm);
    json status = {{"vmid", vm.vmid},
                   {"status", vm.running ? "running" : "stopped"},
                   {"qmpstatus", vm.running ? "running" : "stopped"},
                   {"name", conf.count("name") ? conf.at("name") : fmt::format("VM {}", vm.vmid)},
                   {"cpus", resource.value("maxcpu", json(1))},
                   {"maxmem", resource.value("maxmem", json(0))},
                   {"mem", resource.value("mem", json(0))},
                   {"maxdisk", resource.value("maxdisk", json(0))},
                   {"disk", 0},
                   {"cpu", resource.value("cpu", json(0))},
                   {"uptime", resource.value("uptime", json(0))},
                   {"netin", 0},
                   {"netout", 0},
                   {"diskread", 0},
                   {"diskwrite", 0},
                   {"ha", {{"managed", 0}}}};
    if (cluster_.agent_enabled(vm)) status["agent"] = 1;
    if (auto it = vm.config.find("lock"); it != vm.config.end()) status["lock"] = it->second;
    if (auto it = vm.config.find("tags"); it != vm.config.end()) status["tags"] = it->second;
    if (conf.count("template") && conf.at("template") == "1") status["template"] = 1;
    if (vm.running) {
        status["pid"] = vm.pid;
        status["running-machine"] = cluster_.running_machine(vm);
        status["running-qemu"] = cluster_.spec().qemu_version;
    }
    return status;
}

ApiStep ClusterApi::qemu_list(Call& call) {
    json list = json::array();
    for (const auto& [vmid, vm] : cluster_.vms()) {
        if (vm.node != call.node() || !vm_allowed(call.who, vmid, "VM.Audit")) continue;
        auto status = vm_status(vm);
        json entry = {{"vmid", vmid}, {"name", status["name"]}, {"status", status["status"]}, {"cpus", status["cpus"]},
                      {"maxmem", status["maxmem"]}, {"maxdisk", status["maxdisk"]}, {"mem", status["mem"]},
                      {"disk", 0}, {"cpu", status["cpu"]}, {"uptime", status["uptime"]}, {"netin", 0}, {"netout", 0},
                      {"diskread", 0}, {"diskwrite", 0}};
        for (const char* key : {"pid", "lock", "tags", "template"}) {
            if (status.contains(key)) entry[key] = status[key];
        }
        if (call.flag("full") && vm.running) {
            // The full listing asks QEMU, like status/current.
            for (const char* key : {"qmpstatus", "running-machine", "running-qemu"}) entry[key] = status[key];
        }
        list.push_back(entry);
    }
    return json_reply(list);
}

ApiStep ClusterApi::qemu_index(Call& call) {
    auto vm = cluster_.vm_on_node(call.vmid(), call.node());
    if (!vm) return error_reply(vm.error());
    json list = json::array();
    for (const char* name : {"config", "pending", "cloudinit", "status", "agent", "clone", "resize", "rrd", "firewall"}) {
        list.push_back({{"subdir", name}});
    }
    return json_reply(list);
}

ApiStep ClusterApi::qemu_delete(Call& call) {
    auto vm = cluster_.vm_on_node(call.vmid(), call.node());
    if (!vm) return error_reply(vm.error());
    auto upid = cluster_.destroy(call.vmid(), call.flag("skiplock"), task_options(call));
    if (!upid) return error_reply(upid.error());
    return json_reply(*upid);
}

ApiStep ClusterApi::qemu_clone(Call& call) {
    auto found = cluster_.vm_on_node(call.vmid(), call.node(), true);
    if (!found) return error_reply(found.error());
    const Vm& source = **found;
    // Datastore.AllocateSpace on every target storage, SDN.Use on every bridge.
    std::set<std::string> storages;
    if (call.has("storage")) {
        storages.insert(call.get("storage"));
    } else {
        for (const auto& [key, value] : source.config) {
            if (is_disk_key(key) && (!is_cdrom(value) || value.find("cloudinit") != std::string::npos)) {
                storages.insert(value.substr(0, value.find(':')));
            }
        }
    }
    for (const auto& storage : storages) {
        auto path = "/storage/" + storage;
        if (!access_.allowed(call.who, path, "Datastore.AllocateSpace")) {
            return error_reply(ApiError::forbidden(path, "Datastore.AllocateSpace"));
        }
    }
    for (const auto& [key, value] : source.config) {
        if (!is_index_key(key, "net")) continue;
        for (const auto& part : split(value, ',')) {
            if (part.rfind("bridge=", 0) != 0) continue;
            auto path = "/sdn/zones/localnetwork/" + part.substr(7);
            if (!access_.allowed(call.who, path, "SDN.Use")) return error_reply(ApiError::forbidden(path, "SDN.Use"));
        }
    }
    // The API call takes the source's config flock (shared if it is stopped).
    if (auto step = wait_for_flock(call, call.vmid(), !source.running, cluster_.spec().timing.clone_lock_wait)) {
        return *step;
    }
    CloneArgs args;
    args.node = call.node();
    args.source = call.vmid();
    args.newid = static_cast<int>(call.integer("newid", 0));
    args.name = call.opt("name");
    args.description = call.opt("description");
    args.target = call.opt("target");
    args.storage = call.opt("storage");
    args.format = call.opt("format");
    args.pool = call.opt("pool");
    args.snapname = call.opt("snapname");
    if (call.has("full")) args.full = call.flag("full");
    auto upid = cluster_.clone(args, task_options(call));
    if (!upid) return error_reply(upid.error());
    return json_reply(*upid);
}

ApiStep ClusterApi::config_get(Call& call) {
    auto vm = cluster_.vm_on_node(call.vmid(), call.node());
    if (!vm) return error_reply(vm.error());
    if (call.has("snapshot")) {
        return error_reply(ApiError::server(fmt::format("snapshot '{}' does not exist", call.get("snapshot"))));
    }
    json data = json::object();
    for (const auto& [key, value] : cluster_.view_config(**vm, call.flag("current"))) data[key] = typed(key, value);
    data["digest"] = cluster_.digest(**vm);
    return json_reply(data);
}

ApiStep ClusterApi::config_write(Call& call, bool async) {
    auto vm = cluster_.vm_on_node(call.vmid(), call.node());
    if (!vm) return error_reply(vm.error());
    ConfigUpdate update;
    static const std::set<std::string> meta = {"node", "vmid", "digest", "skiplock", "delete", "revert", "force",
                                               "background_delay"};
    for (const auto& [key, value] : call.params) {
        if (!meta.count(key)) update.set[key] = value;
    }
    update.deletes = split_list(call.get("delete"));
    update.reverts = split_list(call.get("revert"));
    update.digest = call.opt("digest");
    update.skiplock = call.flag("skiplock");
    update.force = call.flag("force");
    for (const auto& key : update.deletes) {
        if (update.set.count(key)) {
            return error_reply(ApiError::param({{"delete", fmt::format("you can't use '-{0}' and -delete {0}' at the same time", key)}}));
        }
        if (!schema_.config_property(key)) {
            return error_reply(ApiError::param({{"delete", fmt::format("unknown option '{}'", key)}}));
        }
    }
    if (auto error = config_write_privileges(call.who, call.vmid(), call.params)) return error_reply(*error);
    if (async) {
        auto upid = cluster_.update_config_task(call.vmid(), std::move(update), task_options(call));
        if (!upid) return error_reply(upid.error());
        return json_reply(*upid);
    }
    if (auto step = wait_for_flock(call, call.vmid(), false, cluster_.spec().timing.config_lock_wait)) return *step;
    auto result = cluster_.update_config(call.vmid(), update);
    if (!result) return error_reply(result.error());
    return json_reply(nullptr);
}

ApiStep ClusterApi::config_post(Call& call) { return config_write(call, true); }

ApiStep ClusterApi::config_put(Call& call) { return config_write(call, false); }

ApiStep ClusterApi::pending_get(Call& call) {
    auto vm = cluster_.vm_on_node(call.vmid(), call.node());
    if (!vm) return error_reply(vm.error());
    return json_reply(cluster_.pending_view(**vm));
}

ApiStep ClusterApi::cloudinit_get(Call& call) {
    auto vm = cluster_.vm_on_node(call.vmid(), call.node());
    if (!vm) return error_reply(vm.error());
    return json_reply(cluster_.cloudinit_view(**vm));
}

ApiStep ClusterApi::cloudinit_put(Call& call) {
    auto vm = cluster_.vm_on_node(call.vmid(), call.node());
    if (!vm) return error_reply(vm.error());
    if (auto step = wait_for_flock(call, call.vmid(), false, cluster_.spec().timing.config_lock_wait)) return *step;
    auto result = cluster_.regenerate_cloudinit(call.vmid());
    if (!result) return error_reply(result.error());
    return json_reply(nullptr);
}

ApiStep ClusterApi::cloudinit_dump(Call& call) {
    auto vm = cluster_.vm_on_node(call.vmid(), call.node());
    if (!vm) return error_reply(vm.error());
    auto conf = cluster_.effective_config(**vm);
    auto type = call.get("type");
    auto name = conf.count("name") ? conf.at("name") : fmt::format("VM{}", call.vmid());
    std::string text;
    if (type == "user") {
        text = fmt::format("#cloud-config\nhostname: {}\nmanage_etc_hosts: true\nfqdn: {}\n", name, name);
        if (conf.count("ciuser")) text += fmt::format("user: {}\n", conf.at("ciuser"));
        if (conf.count("cipassword")) text += "password: " + conf.at("cipassword") + "\n";
        if (conf.count("sshkeys")) {
            text += "ssh_authorized_keys:\n";
            for (const auto& key : split_lines(percent_decode(conf.at("sshkeys")))) text += "  - " + key + "\n";
        }
        text += "chpasswd:\n  expire: False\nusers:\n  - default\npackage_upgrade: true\n";
    } else if (type == "network") {
        text = "version: 1\nconfig:\n";
        for (const auto& [key, value] : conf) {
            if (!is_index_key(key, "net")) continue;
            auto index = key.substr(3);
            std::string mac;
            for (const auto& part : split(value, ',')) {
                auto eq = part.find('=');
                if (eq != std::string::npos && is_unicast_mac(part.substr(eq + 1))) mac = to_lower(part.substr(eq + 1));
            }
            text += fmt::format("    - type: physical\n      name: eth{}\n      mac_address: '{}'\n", index, mac);
            if (auto ip = conf.find("ipconfig" + index); ip != conf.end()) {
                auto cfg = parse_ipconfig(ip->second, nullptr);
                text += "      subnets:\n";
                if (cfg && cfg->ip) {
                    text += *cfg->ip == "dhcp" ? "      - type: dhcp4\n" : fmt::format("      - type: static\n        address: '{}'\n", *cfg->ip);
                    if (cfg->gw) text += fmt::format("        gateway: '{}'\n", *cfg->gw);
                }
                if (cfg && cfg->ip6) {
                    text += *cfg->ip6 == "dhcp" ? "      - type: dhcp6\n" : *cfg->ip6 == "auto" ? "      - type: ipv6_slaac\n" : fmt::format("      - type: static6\n        address: '{}'\n", *cfg->ip6);
                    if (cfg->gw6) text += fmt::format("        gateway: '{}'\n", *cfg->gw6);
                }
            }
        }
        if (conf.count("nameserver") || conf.count("searchdomain")) {
            text += "    - type: nameserver\n      address:\n";
            for (const auto& ns : split_list(conf.count("nameserver") ? conf.at("nameserver") : "")) text += "      - '" + ns + "'\n";
            text += "      search:\n";
            for (const auto& s : split_list(conf.count("searchdomain") ? conf.at("searchdomain") : "")) text += "      - '" + s + "'\n";
        }
    } else {
        text = fmt::format("instance-id: {}\n", cluster_.digest(**vm));
    }
    return json_reply(text);
}

ApiStep ClusterApi::resize(Call& call) {
    auto vm = cluster_.vm_on_node(call.vmid(), call.node());
    if (!vm) return error_reply(vm.error());
    auto upid = cluster_.resize(call.vmid(), call.get("disk"), call.get("size"), call.opt("digest"), call.flag("skiplock"),
                                task_options(call));
    if (!upid) return error_reply(upid.error());
    return json_reply(*upid);
}

ApiStep ClusterApi::status_current(Call& call) {
    auto vm = cluster_.vm_on_node(call.vmid(), call.node());
    if (!vm) return error_reply(vm.error());
    return json_reply(vm_status(**vm));
}

ApiStep ClusterApi::power(Call& call, TaskJob::Kind kind) {
    auto vm = cluster_.vm_on_node(call.vmid(), call.node(), true);
    if (!vm) return error_reply(vm.error());
    auto machine = kind == TaskJob::Kind::start ? call.get("machine") : std::string();
    auto upid = cluster_.power(kind, call.vmid(), call.flag("skiplock"), call.flag("forceStop"), task_options(call), machine);
    if (!upid) return error_reply(upid.error());
    return json_reply(*upid);
}

ApiStep ClusterApi::status_start(Call& call) { return power(call, TaskJob::Kind::start); }
ApiStep ClusterApi::status_stop(Call& call) { return power(call, TaskJob::Kind::stop); }
ApiStep ClusterApi::status_shutdown(Call& call) { return power(call, TaskJob::Kind::shutdown); }
ApiStep ClusterApi::status_reboot(Call& call) { return power(call, TaskJob::Kind::reboot); }

// --- guest agent ----------------------------------------------------------------------------

Outcome<const Vm*> ClusterApi::agent_vm(Call& call) {
    auto vm = cluster_.vm_on_node(call.vmid(), call.node());
    if (!vm) return vm;
    if (!cluster_.agent_enabled(**vm)) return std::unexpected(ApiError::server("No QEMU guest agent configured"));
    if (!(*vm)->running) return std::unexpected(ApiError::server(fmt::format("VM {} is not running", call.vmid())));
    if (call.now < (*vm)->agent_ready_at) return std::unexpected(ApiError::server("QEMU guest agent is not running"));
    return vm;
}

ApiStep ClusterApi::agent_ping(Call& call) {
    auto vm = agent_vm(call);
    if (!vm) return error_reply(vm.error());
    return json_reply({{"result", json::object()}});
}

ApiStep ClusterApi::agent_interfaces(Call& call) {
    auto vm = agent_vm(call);
    if (!vm) return error_reply(vm.error());
    auto conf = cluster_.effective_config(**vm);
    json stats = {{"rx-bytes", 0}, {"rx-packets", 0}, {"rx-errs", 0}, {"rx-dropped", 0},
                  {"tx-bytes", 0}, {"tx-packets", 0}, {"tx-errs", 0}, {"tx-dropped", 0}};
    json result = json::array();
    result.push_back({{"name", "lo"}, {"hardware-address", "00:00:00:00:00:00"},
                      {"ip-addresses", {{{"ip-address", "127.0.0.1"}, {"ip-address-type", "ipv4"}, {"prefix", 8}},
                                        {{"ip-address", "::1"}, {"ip-address-type", "ipv6"}, {"prefix", 128}}}},
                      {"statistics", stats}});
    for (const auto& [key, value] : conf) {
        if (!is_index_key(key, "net")) continue;
        auto index = key.substr(3);
        std::string mac;
        for (const auto& part : split(value, ',')) {
            auto eq = part.find('=');
            if (eq != std::string::npos && is_unicast_mac(part.substr(eq + 1))) mac = to_lower(part.substr(eq + 1));
        }
        json addresses = json::array();
        if (auto ip = conf.find("ipconfig" + index); ip != conf.end()) {
            if (auto cfg = parse_ipconfig(ip->second, nullptr)) {
                for (const auto& [cidr, family] : {std::pair{cfg->ip, "ipv4"}, std::pair{cfg->ip6, "ipv6"}}) {
                    if (!cidr || cidr->find('/') == std::string::npos) continue;
                    auto slash = cidr->find('/');
                    addresses.push_back({{"ip-address", cidr->substr(0, slash)}, {"ip-address-type", family},
                                         {"prefix", std::stoi(cidr->substr(slash + 1))}});
                }
            }
        }
        json iface = {{"name", "eth" + index}, {"hardware-address", mac}, {"statistics", stats}};
        if (!addresses.empty()) iface["ip-addresses"] = addresses;
        result.push_back(iface);
    }
    return json_reply({{"result", result}});
}

ApiStep ClusterApi::agent_file_read(Call& call) {
    auto vm = agent_vm(call);
    if (!vm) return error_reply(vm.error());
    auto file = call.get("file");
    auto root = (guest_root_ / std::to_string(call.vmid())).lexically_normal();
    auto relative = std::filesystem::path(file).relative_path();
    auto target = (root / relative).lexically_normal();
    auto rel = target.lexically_relative(root);
    auto fail = [&](const char* why) {
        return error_reply(ApiError::server(fmt::format("Agent error: Failed to open file '{}': {}", file, why)));
    };
    if (file.empty() || file.front() != '/' || rel.empty() || *rel.begin() == "..") return fail("No such file or directory");
    std::error_code ec;
    if (std::filesystem::is_directory(target, ec)) return fail("Is a directory");
    std::ifstream in(target, std::ios::binary);
    if (!in) return fail("No such file or directory");
    std::string content(kFileReadLimit + 1, '\0');
    in.read(content.data(), static_cast<std::streamsize>(content.size()));
    content.resize(static_cast<std::size_t>(in.gcount()));
    json data = json::object();
    if (content.size() > kFileReadLimit) {
        content.resize(kFileReadLimit);
        data["truncated"] = 1;
    }
    data["content"] = content;
    return json_reply(data);
}

// --- tasks ------------------------------------------------------------------------------------

Outcome<const Task*> ClusterApi::find_task(Call& call) {
    auto upid = call.path_params.at("upid");
    if (!valid_upid(upid)) return std::unexpected(ApiError::param({{"upid", "unable to parse worker upid"}}));
    const auto* task = cluster_.task(upid);
    if (!task || task->node != call.node()) return std::unexpected(ApiError::param({{"upid", "no such task"}}));
    if (task->user != call.who.authid() && !access_.allowed(call.who, "/nodes/" + call.node(), "Sys.Audit")) {
        return std::unexpected(ApiError::forbidden("/nodes/" + call.node(), "Sys.Audit"));
    }
    return task;
}

ApiStep ClusterApi::tasks_list(Call& call) {
    auto source = call.get("source", "archive");
    auto vmid = call.get("vmid");
    auto typefilter = call.get("typefilter");
    auto userfilter = call.get("userfilter");
    bool errors_only = call.flag("errors");
    // statusfilter: ok, warning, error, unknown (case-insensitive); a running
    // task is none of them.
    std::set<std::string> statuses;
    for (const auto& item : split_list(call.get("statusfilter"))) statuses.insert(to_lower(item));
    auto status_type = [](const Task& task) -> std::string {
        if (task.running) return "running";
        if (task.exitstatus == "OK") return "ok";
        if (task.exitstatus.rfind("WARNINGS: ", 0) == 0) return "warning";
        if (task.exitstatus == "unexpected status") return "unknown";
        return "error";
    };
    auto start = call.integer("start", 0);
    auto limit = call.integer("limit", 50);
    json all = json::array();
    for (auto it = cluster_.tasks().rbegin(); it != cluster_.tasks().rend(); ++it) {
        const auto& task = *it;
        if (task.node != call.node() || !task_visible(call.who, task)) continue;
        if (source == "active" && !task.running) continue;
        if (source == "archive" && task.running) continue;
        if (!vmid.empty() && task.id != vmid) continue;
        if (!typefilter.empty() && task.type != typefilter) continue;
        if (!userfilter.empty() && task.user.find(userfilter) == std::string::npos) continue;
        if (errors_only && (task.running || task.exitstatus == "OK")) continue;
        if (!statuses.empty() && !statuses.count(status_type(task))) continue;
        all.push_back(task_entry(task));
    }
    json page = json::array();
    for (std::int64_t i = start; i < static_cast<std::int64_t>(all.size()) && (limit == 0 || i < start + limit); ++i) {
        page.push_back(all[static_cast<std::size_t>(i)]);
    }
    return json_reply(page, all.size());
}

ApiStep ClusterApi::task_index(Call& call) {
    auto task = find_task(call);
    if (!task) return error_reply(task.error());
    return json_reply(json::array({{{"name", "log"}}, {{"name", "status"}}}));
}

ApiStep ClusterApi::task_delete(Call& call) {
    auto upid = call.path_params.at("upid");
    if (!valid_upid(upid)) return error_reply(ApiError::param({{"upid", "unable to parse worker upid"}}));
    const auto* task = cluster_.task(upid);
    if (!task || task->node != call.node()) return error_reply(ApiError::param({{"upid", "no such task"}}));
    if (task->user != call.who.authid() && !access_.allowed(call.who, "/nodes/" + call.node(), "Sys.Modify")) {
        return error_reply(ApiError::forbidden("/nodes/" + call.node(), "Sys.Modify"));
    }
    auto result = cluster_.stop_task(upid);
    if (!result) return error_reply(result.error());
    return json_reply(nullptr);
}

ApiStep ClusterApi::task_status(Call& call) {
    auto found = find_task(call);
    if (!found) return error_reply(found.error());
    const Task& task = **found;
    json data = {{"upid", task.upid}, {"node", task.node}, {"pid", task.pid}, {"pstart", task.pstart},
                 {"starttime", task.starttime}, {"type", task.type}, {"id", task.id},
                 {"status", task.running ? "running" : "stopped"}};
    auto bang = task.user.find('!');
    data["user"] = task.user.substr(0, bang);
    if (bang != std::string::npos) data["tokenid"] = task.user.substr(bang + 1);
    if (!task.running) data["exitstatus"] = task.exitstatus;
    return json_reply(data);
}

ApiStep ClusterApi::task_log(Call& call) {
    auto found = find_task(call);
    if (!found) return error_reply(found.error());
    const Task& task = **found;
    auto start = call.integer("start", 0);
    auto limit = call.integer("limit", 50);
    std::vector<std::string> lines = task.log;
    if (task.running) {
        // The final TASK line is written when the task ends.
        lines.erase(std::remove_if(lines.begin(), lines.end(), [](const std::string& l) { return l.rfind("TASK ", 0) == 0; }),
                    lines.end());
    }
    json data = json::array();
    for (std::int64_t i = start; i < static_cast<std::int64_t>(lines.size()) && (limit == 0 || i < start + limit); ++i) {
        data.push_back({{"n", i + 1}, {"t", lines[static_cast<std::size_t>(i)]}});
    }
    if (data.empty() && lines.empty()) data.push_back({{"n", 1}, {"t", "no content"}});
    return json_reply(data, lines.size());
}

}  // namespace pvesim
