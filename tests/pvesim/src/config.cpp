#include "config.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "values.hpp"

namespace pvesim {

namespace {

using nlohmann::json;

struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string where(const YAML::Node& node) {
    auto mark = node.Mark();
    return mark.is_null() ? std::string() : fmt::format("line {}: ", mark.line + 1);
}

[[noreturn]] void fail(const YAML::Node& node, const std::string& message) { throw ConfigError(where(node) + message); }

void only_keys(const YAML::Node& node, std::initializer_list<const char*> keys, const std::string& what) {
    if (!node.IsMap()) fail(node, what + " must be a mapping");
    for (const auto& item : node) {
        auto key = item.first.as<std::string>();
        if (key.rfind("x-", 0) == 0) continue;  // extension keys: anchors for YAML aliases
        bool known = false;
        for (const char* k : keys) known = known || key == k;
        if (!known) fail(item.first, fmt::format("unknown key '{}' in {}", key, what));
    }
}

std::string text(const YAML::Node& node, const std::string& what) {
    if (!node.IsScalar()) fail(node, what + " must be a scalar");
    return node.as<std::string>();
}

std::int64_t integer(const YAML::Node& node, const std::string& what) {
    std::int64_t value = 0;
    if (!node.IsScalar() || !parse_int(node.as<std::string>(), value)) fail(node, what + " must be an integer");
    return value;
}

bool boolean(const YAML::Node& node, const std::string& what) {
    if (!node.IsScalar()) fail(node, what + " must be true or false");
    auto v = to_lower(node.as<std::string>());
    if (v == "true" || v == "yes" || v == "1" || v == "on") return true;
    if (v == "false" || v == "no" || v == "0" || v == "off") return false;
    fail(node, what + " must be true or false");
}

std::vector<std::string> strings(const YAML::Node& node, const std::string& what) {
    std::vector<std::string> out;
    if (node.IsScalar()) return split_list(node.as<std::string>());
    if (!node.IsSequence()) fail(node, what + " must be a list");
    for (const auto& item : node) out.push_back(text(item, what));
    return out;
}

// YAML -> JSON with scalars typed (integers, numbers, booleans, strings).
json to_json(const YAML::Node& node) {
    if (node.IsMap()) {
        json out = json::object();
        for (const auto& item : node) out[item.first.as<std::string>()] = to_json(item.second);
        return out;
    }
    if (node.IsSequence()) {
        json out = json::array();
        for (const auto& item : node) out.push_back(to_json(item));
        return out;
    }
    if (node.IsNull()) return nullptr;
    auto value = node.as<std::string>();
    if (node.Tag() == "!") return value;  // quoted
    std::int64_t i = 0;
    double d = 0;
    if (parse_int(value, i)) return i;
    if (parse_number(value, d)) return d;
    if (value == "true") return true;
    if (value == "false") return false;
    return value;
}

std::string read_secret_file(const std::filesystem::path& path, const YAML::Node& node) {
    std::ifstream in(path);
    if (!in) fail(node, fmt::format("cannot read secret file {}", path.string()));
    std::string secret;
    std::getline(in, secret);
    while (!secret.empty() && (secret.back() == '\r' || secret.back() == ' ')) secret.pop_back();
    if (secret.empty()) fail(node, fmt::format("secret file {} is empty", path.string()));
    return secret;
}

std::string expand(std::string value, const std::string& cluster) {
    for (std::string::size_type pos; (pos = value.find("{cluster}")) != std::string::npos;) value.replace(pos, 9, cluster);
    return value;
}

void parse_timing(const YAML::Node& node, Timing& timing) {
    std::map<std::string, std::int64_t> values;
    if (!node.IsMap()) fail(node, "timing must be a mapping");
    for (const auto& item : node) values[item.first.as<std::string>()] = integer(item.second, "timing value");
    try {
        apply_timing(timing, values);
    } catch (const std::invalid_argument& e) {
        fail(node, e.what());
    }
}

std::pair<std::string, int> parse_listen(const YAML::Node& node) {
    auto value = text(node, "listen");
    auto colon = value.rfind(':');
    if (colon == std::string::npos) fail(node, "listen must be HOST:PORT");
    auto host = value.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    std::int64_t port = 0;
    if (!parse_int(value.substr(colon + 1), port) || port < 0 || port > 65535) fail(node, "bad port in listen");
    return {host, static_cast<int>(port)};
}

ClusterConfig parse_cluster(const YAML::Node& node, const Timing& default_timing, const std::filesystem::path& base) {
    only_keys(node, {"name", "listen", "version", "release", "repoid", "qemu_version", "machine_version", "timing",
                     "nodes", "storages", "pools", "roles", "users", "acl", "vms", "list_unreachable_vms"},
              "cluster");
    ClusterConfig cluster;
    auto& spec = cluster.spec;
    if (!node["name"]) fail(node, "cluster without name");
    spec.name = text(node["name"], "name");
    if (!is_node_name(spec.name)) fail(node["name"], "cluster name must be letters, digits and '-'");
    spec.timing = default_timing;
    if (node["listen"]) std::tie(cluster.listen_host, cluster.listen_port) = parse_listen(node["listen"]);
    if (node["version"]) spec.version = text(node["version"], "version");
    if (node["release"]) spec.release = text(node["release"], "release");
    if (node["repoid"]) spec.repoid = text(node["repoid"], "repoid");
    if (node["qemu_version"]) spec.qemu_version = text(node["qemu_version"], "qemu_version");
    if (node["machine_version"]) spec.machine_version = text(node["machine_version"], "machine_version");
    if (node["timing"]) parse_timing(node["timing"], spec.timing);
    if (node["list_unreachable_vms"]) spec.list_unreachable_vms = boolean(node["list_unreachable_vms"], "list_unreachable_vms");
    if (!node["nodes"] || !node["nodes"].IsSequence() || node["nodes"].size() == 0) fail(node, "cluster needs nodes");
    for (const auto& n : node["nodes"]) {
        only_keys(n, {"name", "bridges", "cpus", "memory_gib", "unreachable", "unreachable_reason"}, "node");
        NodeSpec ns;
        ns.name = text(n["name"], "node name");
        if (!is_node_name(ns.name)) fail(n["name"], "invalid node name");
        if (n["bridges"]) ns.bridges = strings(n["bridges"], "bridges");
        if (n["cpus"]) ns.cpus = static_cast<int>(integer(n["cpus"], "cpus"));
        if (n["memory_gib"]) ns.memory_bytes = static_cast<std::uint64_t>(integer(n["memory_gib"], "memory_gib")) << 30;
        if (n["unreachable"]) ns.unreachable = boolean(n["unreachable"], "unreachable");
        if (n["unreachable_reason"]) ns.unreachable_reason = text(n["unreachable_reason"], "unreachable_reason");
        spec.nodes.push_back(ns);
    }
    if (node["storages"]) {
        for (const auto& s : node["storages"]) {
            only_keys(s, {"id", "type", "content", "shared", "nodes", "size_gib"}, "storage");
            StorageSpec ss;
            ss.id = text(s["id"], "storage id");
            if (!is_storage_id(ss.id)) fail(s["id"], "invalid storage id");
            if (s["type"]) ss.type = text(s["type"], "type");
            if (s["content"]) ss.content = strings(s["content"], "content");
            if (s["shared"]) ss.shared = boolean(s["shared"], "shared");
            if (s["nodes"]) ss.nodes = strings(s["nodes"], "nodes");
            if (s["size_gib"]) ss.size_bytes = static_cast<std::uint64_t>(integer(s["size_gib"], "size_gib")) << 30;
            spec.storages.push_back(ss);
        }
    }
    if (node["pools"]) {
        for (const auto& p : node["pools"]) {
            PoolSpec ps;
            if (p.IsScalar()) {
                ps.id = p.as<std::string>();
            } else {
                only_keys(p, {"id", "comment"}, "pool");
                ps.id = text(p["id"], "pool id");
                if (p["comment"]) ps.comment = text(p["comment"], "comment");
            }
            spec.pools.push_back(ps);
        }
    }
    if (node["roles"]) {
        if (!node["roles"].IsMap()) fail(node["roles"], "roles must map a role name to its privileges");
        std::set<std::string> known(all_privileges().begin(), all_privileges().end());
        for (const auto& r : node["roles"]) {
            PrivilegeSet privileges;
            for (const auto& p : strings(r.second, "privileges")) {
                if (!known.count(p)) fail(r.second, fmt::format("unknown privilege '{}'", p));
                privileges.insert(p);
            }
            cluster.access.add_role(r.first.as<std::string>(), privileges);
        }
    }
    if (node["users"]) {
        for (const auto& u : node["users"]) {
            only_keys(u, {"id", "password", "enabled", "groups", "tokens"}, "user");
            User user;
            user.id = text(u["id"], "user id");
            if (user.id.find('@') == std::string::npos) fail(u["id"], "user id must be user@realm");
            if (u["password"]) user.password = text(u["password"], "password");
            if (u["enabled"]) user.enabled = boolean(u["enabled"], "enabled");
            if (u["groups"]) user.groups = strings(u["groups"], "groups");
            if (u["tokens"]) {
                for (const auto& t : u["tokens"]) {
                    only_keys(t, {"name", "secret", "secret_file", "privsep", "expire"}, "token");
                    Token token;
                    token.user = user.id;
                    token.name = text(t["name"], "token name");
                    if (t["secret"]) {
                        token.secret = text(t["secret"], "secret");
                    } else if (t["secret_file"]) {
                        auto file = std::filesystem::path(expand(text(t["secret_file"], "secret_file"), spec.name));
                        if (file.is_relative()) file = base / file;
                        token.secret = read_secret_file(file, t["secret_file"]);
                        cluster.token_secret_files[token.id()] = std::filesystem::absolute(file).lexically_normal().string();
                    } else {
                        fail(t, "token needs secret or secret_file");
                    }
                    if (t["privsep"]) token.privsep = boolean(t["privsep"], "privsep");
                    if (t["expire"]) token.expire = integer(t["expire"], "expire");
                    cluster.access.add_token(token);
                }
            }
            cluster.access.add_user(user);
        }
    }
    if (!cluster.access.user("root@pam")) cluster.access.add_user(User{"root@pam", "", true, {}});
    if (node["acl"]) {
        for (const auto& a : node["acl"]) {
            only_keys(a, {"path", "subject", "roles", "role", "propagate"}, "acl entry");
            AclEntry entry;
            entry.path = text(a["path"], "path");
            entry.subject = text(a["subject"], "subject");
            if (a["roles"]) entry.roles = strings(a["roles"], "roles");
            if (a["role"]) entry.roles.push_back(text(a["role"], "role"));
            for (const auto& role : entry.roles) {
                if (!cluster.access.roles().count(role)) fail(a, fmt::format("unknown role '{}'", role));
            }
            if (a["propagate"]) entry.propagate = boolean(a["propagate"], "propagate");
            cluster.access.add_acl(entry);
        }
    }
    if (node["vms"]) {
        for (const auto& v : node["vms"]) {
            only_keys(v, {"vmid", "node", "config", "running", "pool"}, "vm");
            VmSeed vm;
            vm.vmid = static_cast<int>(integer(v["vmid"], "vmid"));
            vm.node = v["node"] ? text(v["node"], "node") : spec.nodes.front().name;
            if (v["running"]) vm.running = boolean(v["running"], "running");
            if (v["pool"]) vm.pool = text(v["pool"], "pool");
            if (v["config"]) {
                if (!v["config"].IsMap()) fail(v["config"], "vm config must be a mapping");
                for (const auto& c : v["config"]) vm.config[c.first.as<std::string>()] = text(c.second, "config value");
            }
            cluster.vms.push_back(vm);
        }
    }
    return cluster;
}

SimConfig parse(const YAML::Node& root, const std::filesystem::path& base) {
    only_keys(root, {"seed", "admin", "hooks", "defaults", "clusters", "faults"}, "configuration");
    SimConfig config;
    if (root["seed"]) config.seed = static_cast<std::uint64_t>(integer(root["seed"], "seed"));
    if (auto admin = root["admin"]) {
        only_keys(admin, {"listen", "token"}, "admin");
        if (admin["listen"]) std::tie(config.admin_host, config.admin_port) = parse_listen(admin["listen"]);
        if (admin["token"]) config.admin_token = text(admin["token"], "admin token");
    }
    if (auto hooks = root["hooks"]) {
        only_keys(hooks, {"start", "stop", "reboot", "delete", "timeout_ms"}, "hooks");
        for (const char* event : {"start", "stop", "reboot", "delete"}) {
            if (!hooks[event]) continue;
            std::filesystem::path exe = text(hooks[event], event);
            if (exe.is_relative()) exe = base / exe;
            config.hooks.executables[event] = exe.lexically_normal();
        }
        if (hooks["timeout_ms"]) config.hooks.timeout_ms = static_cast<int>(integer(hooks["timeout_ms"], "timeout_ms"));
    }
    Timing default_timing;
    if (auto defaults = root["defaults"]) {
        only_keys(defaults, {"timing"}, "defaults");
        if (defaults["timing"]) parse_timing(defaults["timing"], default_timing);
    }
    if (!root["clusters"] || !root["clusters"].IsSequence()) fail(root, "clusters: a list of clusters is required");
    for (const auto& c : root["clusters"]) {
        auto cluster = parse_cluster(c, default_timing, base);
        for (const auto& [event, _] : config.hooks.executables) cluster.spec.hook_events.insert(event);
        cluster.spec.seed = config.seed;
        for (const auto& other : config.clusters) {
            if (other.spec.name == cluster.spec.name) fail(c, fmt::format("cluster '{}' defined twice", cluster.spec.name));
        }
        config.clusters.push_back(std::move(cluster));
    }
    if (auto faults = root["faults"]) {
        if (!faults.IsSequence()) fail(faults, "faults must be a list");
        std::size_t index = 0;
        for (const auto& f : faults) {
            try {
                config.faults.push_back(fault_rule_from_json(to_json(f), index++));
            } catch (const std::exception& e) {
                fail(f, e.what());
            }
        }
    }
    return config;
}

}  // namespace

void apply_timing(Timing& timing, const std::map<std::string, std::int64_t>& values) {
    std::map<std::string, Millis*> fields = {
        {"clone_ms", &timing.clone}, {"linked_clone_ms", &timing.linked_clone}, {"start_ms", &timing.start},
        {"stop_ms", &timing.stop}, {"shutdown_ms", &timing.shutdown}, {"reboot_ms", &timing.reboot},
        {"destroy_ms", &timing.destroy}, {"resize_ms", &timing.resize}, {"config_ms", &timing.config},
        {"agent_ready_ms", &timing.agent_ready}, {"config_lock_wait_ms", &timing.config_lock_wait},
        {"clone_lock_wait_ms", &timing.clone_lock_wait}, {"auth_failure_delay_ms", &timing.auth_failure_delay},
        {"rrd_lag_ms", &timing.rrd_lag},
    };
    for (const auto& [key, value] : values) {
        auto it = fields.find(key);
        if (it == fields.end()) throw std::invalid_argument(fmt::format("unknown timing key '{}'", key));
        if (value < 0) throw std::invalid_argument(fmt::format("timing '{}' must not be negative", key));
        *it->second = Millis(value);
    }
}

std::map<std::string, std::int64_t> timing_values(const Timing& t) {
    return {{"clone_ms", t.clone.count()}, {"linked_clone_ms", t.linked_clone.count()}, {"start_ms", t.start.count()},
            {"stop_ms", t.stop.count()}, {"shutdown_ms", t.shutdown.count()}, {"reboot_ms", t.reboot.count()},
            {"destroy_ms", t.destroy.count()}, {"resize_ms", t.resize.count()}, {"config_ms", t.config.count()},
            {"agent_ready_ms", t.agent_ready.count()}, {"config_lock_wait_ms", t.config_lock_wait.count()},
            {"clone_lock_wait_ms", t.clone_lock_wait.count()},
            {"auth_failure_delay_ms", t.auth_failure_delay.count()}, {"rrd_lag_ms", t.rrd_lag.count()}};
}

std::optional<SimConfig> parse_config(const std::string& text_value, const std::filesystem::path& base_dir,
                                      std::string& error) {
    try {
        return parse(YAML::Load(text_value), base_dir);
    } catch (const ConfigError& e) {
        error = e.what();
    } catch (const YAML::Exception& e) {
        error = e.what();
    }
    return std::nullopt;
}

std::optional<SimConfig> load_config(const std::filesystem::path& path, std::string& error) {
    std::ifstream in(path);
    if (!in) {
        error = fmt::format("cannot read {}", path.string());
        return std::nullopt;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    auto base = std::filesystem::absolute(path).parent_path();
    auto config = parse_config(buffer.str(), base, error);
    if (!config) {
        error = fmt::format("{}: {}", path.string(), error);
        return std::nullopt;
    }
    config->source = std::filesystem::absolute(path);
    return config;
}

}  // namespace pvesim
