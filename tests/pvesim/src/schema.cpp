#include "schema.hpp"

#include <arpa/inet.h>

#include <set>

#include <fmt/format.h>

#include "values.hpp"

namespace pvesim {

extern const char* const kSchemaTableJson;  // schema_table.cpp, generated at build time

namespace {

using nlohmann::json;

// PVE's CIDR format wants a mask of at least 8 bits.
bool is_pve_cidr(const std::string& text, bool v6) { return is_cidr(text, v6, 8); }

bool is_volume_id(const std::string& text) {
    static const std::regex re(R"([a-z][a-z0-9\-_.]*[a-z0-9]:.+)", std::regex::icase);
    return std::regex_match(text, re);
}

// Perl regex syntax the schema uses that ECMAScript lacks.
std::string to_ecmascript(std::string pattern, bool& icase) {
    icase = false;
    for (std::string::size_type pos; (pos = pattern.find("(?^i:")) != std::string::npos;) {
        pattern.replace(pos, 5, "(?:");
        icase = true;
    }
    for (std::string::size_type pos; (pos = pattern.find("(?^:")) != std::string::npos;) pattern.replace(pos, 4, "(?:");
    return pattern;
}

std::string number_text(const json& value) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_number_integer()) return std::to_string(value.get<std::int64_t>());
    double d = value.get<double>();
    if (d == static_cast<double>(static_cast<std::int64_t>(d))) return std::to_string(static_cast<std::int64_t>(d));
    return fmt::format("{}", d);
}

// "net3" -> ("net", 3); ("", -1) if the name has no index suffix.
std::pair<std::string, int> split_index(std::string_view name) {
    auto pos = name.size();
    while (pos > 0 && std::isdigit(static_cast<unsigned char>(name[pos - 1]))) --pos;
    if (pos == name.size() || pos == 0) return {"", -1};
    if (name.size() - pos > 1 && name[pos] == '0') return {"", -1};
    return {std::string(name.substr(0, pos)), std::stoi(std::string(name.substr(pos)))};
}

}  // namespace

const json& ipconfig_format() {
    static const json format = {
        {"ip", {{"type", "string"}, {"format", "pve-ipv4-config"}, {"optional", 1}}},
        {"gw", {{"type", "string"}, {"format", "ipv4"}, {"optional", 1}}},
        {"ip6", {{"type", "string"}, {"format", "pve-ipv6-config"}, {"optional", 1}}},
        {"gw6", {{"type", "string"}, {"format", "ipv6"}, {"optional", 1}}},
    };
    return format;
}

bool Endpoint::allow_token() const { return spec.value("allowtoken", 1) != 0; }

std::string Endpoint::proxy_to() const {
    const auto& p = spec["proxyto"];
    return p.is_string() ? p.get<std::string>() : std::string();
}

Schema::Schema(json table) : table_(std::move(table)) {
    for (auto& [key, spec] : table_["endpoints"].items()) {
        auto space = key.find(' ');
        Endpoint endpoint{key.substr(0, space), key.substr(space + 1), spec};
        endpoints_.emplace(key, std::move(endpoint));
    }
    config_endpoint_ = find("PUT", "/nodes/{node}/qemu/{vmid}/config");
    config_get_endpoint_ = find("GET", "/nodes/{node}/qemu/{vmid}/config");
    // Compile every pattern once.
    auto compile = [this](const json& property) {
        if (property.contains("pattern")) regex_for(property["pattern"].get<std::string>());
    };
    for (auto& [_, endpoint] : endpoints_) {
        for (auto& [__, property] : endpoint.spec["parameters"].items()) compile(property);
    }
    for (auto& [_, format] : table_["formats"].items()) {
        for (auto& [__, property] : format.items()) compile(property);
    }
}

const Schema& Schema::builtin() {
    static const Schema schema(json::parse(kSchemaTableJson));
    return schema;
}

const std::regex* Schema::regex_for(const std::string& pattern) const {
    auto it = regexes_.find(pattern);
    if (it != regexes_.end()) return it->second.get();
    bool icase = false;
    auto converted = to_ecmascript(pattern, icase);
    std::unique_ptr<std::regex> re;
    try {
        re = std::make_unique<std::regex>(converted, icase ? std::regex::ECMAScript | std::regex::icase
                                                           : std::regex::ECMAScript);
    } catch (const std::regex_error&) {
        re = nullptr;  // a pattern std::regex cannot express is not checked
    }
    auto* raw = re.get();
    // Only the constructor calls this with new patterns; afterwards the map is read-only.
    const_cast<Schema*>(this)->regexes_.emplace(pattern, std::move(re));
    return raw;
}

const Endpoint* Schema::find(std::string_view method, std::string_view path_template) const {
    auto it = endpoints_.find(fmt::format("{} {}", method, path_template));
    return it == endpoints_.end() ? nullptr : &it->second;
}

std::vector<std::string> Schema::endpoint_keys() const {
    std::vector<std::string> keys;
    for (const auto& [key, _] : endpoints_) keys.push_back(key);
    return keys;
}

const json* Schema::parameter(const Endpoint& endpoint, std::string_view name) const {
    const auto& params = endpoint.spec["parameters"];
    auto direct = params.find(std::string(name));
    if (direct != params.end()) return &*direct;
    auto [base, index] = split_index(name);
    if (index < 0) return nullptr;
    auto indexed = params.find(base + "[n]");
    if (indexed == params.end()) return nullptr;
    if (index >= indexed->value("index_count", 0)) return nullptr;
    return &*indexed;
}

const json* Schema::config_property(std::string_view key) const {
    return config_endpoint_ ? parameter(*config_endpoint_, key) : nullptr;
}

std::string Schema::config_value_type(std::string_view key) const {
    if (!config_get_endpoint_) return "string";
    const auto& props = config_get_endpoint_->spec["returns"]["properties"];
    auto it = props.find(std::string(key));
    if (it == props.end()) {
        auto [base, index] = split_index(key);
        if (index >= 0) it = props.find(base + "[n]");
    }
    return it == props.end() ? "string" : it->get<std::string>();
}

const json* Schema::property_format(const json& property) const {
    auto it = property.find("format");
    if (it == property.end()) return nullptr;
    if (it->is_object() && it->contains("$ref")) {
        const auto& formats = table_["formats"];
        auto ref = formats.find((*it)["$ref"].get<std::string>());
        return ref == formats.end() ? nullptr : &*ref;
    }
    if (it->is_string() && it->get<std::string>() == "pve-qm-ipconfig") return &ipconfig_format();
    return it->is_object() ? &*it : nullptr;
}

std::optional<PropertyMap> Schema::parse_property_string(const json& format, std::string_view text,
                                                         std::string_view path, std::string* error) const {
    PropertyMap result;
    std::string default_key;
    auto fail = [&](std::string message) -> std::optional<PropertyMap> {
        if (error) *error = std::move(message);
        return std::nullopt;
    };
    for (const auto& raw : split(text, ',')) {
        if (raw.find_first_not_of(" \t") == std::string::npos) continue;
        auto eq = raw.find('=');
        if (eq != std::string::npos && eq > 0 && eq + 1 < raw.size()) {
            std::string key = raw.substr(0, eq);
            std::string value = raw.substr(eq + 1);
            if (result.count(key)) return fail(fmt::format("duplicate key in comma-separated list property: {}\n", key));
            auto schema_it = format.find(key);
            if (schema_it != format.end() && schema_it->contains("alias")) {
                if (schema_it->contains("keyAlias")) {
                    auto key_alias = (*schema_it)["keyAlias"].get<std::string>();
                    if (result.count(key_alias)) return fail(fmt::format("key alias '{}' is already defined\n", key_alias));
                    result[key_alias] = key;
                }
                key = (*schema_it)["alias"].get<std::string>();
                schema_it = format.find(key);
            }
            if (schema_it == format.end()) return fail(fmt::format("invalid key in comma-separated list property: {}\n", key));
            if (schema_it->value("type", "") == "boolean") {
                auto lower = to_lower(value);
                if (lower == "1" || lower == "on" || lower == "yes" || lower == "true") value = "1";
                else if (lower == "0" || lower == "off" || lower == "no" || lower == "false") value = "0";
            }
            result[key] = value;
        } else if (eq == std::string::npos) {
            if (!default_key.empty()) return fail(fmt::format("duplicate key in comma-separated list property: {}\n", default_key));
            for (auto& [key, schema] : format.items()) {
                if (schema.value("default_key", 0)) {
                    default_key = key;
                    break;
                }
            }
            if (default_key.empty()) return fail("value without key, but schema does not define a default key\n");
            if (result.count(default_key)) return fail(fmt::format("duplicate key in comma-separated list property: {}\n", default_key));
            result[default_key] = raw;
        } else {
            return fail("missing key in comma-separated list property\n");
        }
    }
    ErrorMap errors;
    for (auto& [key, schema] : format.items()) {
        if (schema.contains("alias")) continue;
        std::string sub_path = path.empty() ? key : fmt::format("{}.{}", path, key);
        auto it = result.find(key);
        if (it == result.end()) {
            if (!schema.value("optional", 0)) errors[sub_path] = "property is missing and it is not optional";
            continue;
        }
        auto message = check_value(schema, it->second, sub_path);
        if (!message.empty()) errors[sub_path] = message;
    }
    if (!errors.empty()) {
        std::string message = "format error\n";
        for (auto& [key, text_] : errors) message += fmt::format("{}: {}\n", key, text_);
        return fail(message);
    }
    return result;
}

std::string Schema::print_property_string(const json& format, const PropertyMap& values) const {
    std::vector<std::string> parts;
    std::set<std::string> done;
    // keyAlias pair (net: "virtio=<mac>")
    for (auto& [key, schema] : format.items()) {
        if (!schema.contains("keyAlias")) continue;
        auto key_alias = schema["keyAlias"].get<std::string>();
        auto alias = schema["alias"].get<std::string>();
        auto model = values.find(key_alias);
        auto mac = values.find(alias);
        if (model != values.end() && mac != values.end() && model->second == key) {
            parts.push_back(fmt::format("{}={}", key, mac->second));
            done.insert(key_alias);
            done.insert(alias);
            break;
        }
    }
    if (parts.empty()) {
        for (auto& [key, schema] : format.items()) {
            if (!schema.value("default_key", 0)) continue;
            auto it = values.find(key);
            if (it != values.end()) parts.push_back(it->second);
            done.insert(key);
            break;
        }
    }
    for (auto& [key, value] : values) {
        if (done.count(key)) continue;
        auto schema_it = format.find(key);
        if (schema_it != format.end() && schema_it->value("format", json()).is_string() &&
            (*schema_it)["format"].get<std::string>() == "disk-size") {
            if (auto size = parse_size(value)) {
                parts.push_back(fmt::format("{}={}", key, format_size(size->bytes)));
                continue;
            }
        }
        parts.push_back(fmt::format("{}={}", key, value));
    }
    return join(parts, ",");
}

std::string Schema::check_named_format(const std::string& format, const std::string& value,
                                       const std::string& path) const {
    // "-list" formats validate every element; "-opt" formats allow empty.
    auto base = format;
    bool list = false;
    if (base.size() > 5 && base.compare(base.size() - 5, 5, "-list") == 0) {
        base = base.substr(0, base.size() - 5);
        list = true;
    } else if (base.size() > 4 && base.compare(base.size() - 4, 4, "-opt") == 0) {
        base = base.substr(0, base.size() - 4);
        if (value.empty()) return "";
    }
    if (list) {
        for (const auto& item : split_list(value)) {
            auto message = check_named_format(base, item, path);
            if (!message.empty()) return message;
        }
        return "";
    }
    const auto& v = value;
    static const std::regex vmid_re("[1-9][0-9]{2,8}");
    static const std::regex realm_re("[A-Za-z][A-Za-z0-9\\.\\-_]+");
    if (base == "pve-vmid") return std::regex_match(v, vmid_re) ? "" : "value does not look like a valid VM ID\n";
    if (base == "pve-node") return is_node_name(v) ? "" : "value does not look like a valid node name\n";
    if (base == "dns-name") return is_dns_name(v) ? "" : "value does not look like a valid DNS name\n";
    if (base == "pve-tag") return invalid_tag(v) ? "invalid characters in tag\n" : "";
    if (base == "urlencoded") return is_urlencoded(v) ? "" : fmt::format("invalid urlencoded string: {}\n", v);
    if (base == "pve-configid") return is_config_id(v) ? "" : fmt::format("invalid configuration ID '{}'\n", v);
    if (base == "pve-storage-id") return is_storage_id(v) ? "" : fmt::format("storage ID '{}' contains illegal characters\n", v);
    if (base == "pve-bridge-id") return is_bridge_id(v) ? "" : fmt::format("invalid bridge ID '{}'\n", v);
    if (base == "pve-poolid") return is_pool_id(v) ? "" : fmt::format("pool name '{}' contains illegal characters\n", v);
    if (base == "mac-addr") return is_unicast_mac(v) ? "" : "value does not look like a valid unicast MAC address\n";
    if (base == "ipv4") return is_ipv4(v) ? "" : "value does not look like a valid IPv4 address\n";
    if (base == "ipv6") return is_ipv6(v) ? "" : "value does not look like a valid IPv6 address\n";
    if (base == "ip") return is_ipv4(v) || is_ipv6(v) ? "" : "value does not look like a valid IP address\n";
    if (base == "address") {
        return is_ipv4(v) || is_ipv6(v) || is_dns_name(v) ? "" : fmt::format("value does not look like a valid address: {}\n", v);
    }
    if (base == "CIDR") return is_pve_cidr(v, false) || is_pve_cidr(v, true) ? "" : "value does not look like a valid CIDR network\n";
    if (base == "pve-ipv4-config") {
        return v == "dhcp" || v == "manual" || is_pve_cidr(v, false) ? "" : "value does not look like a valid ipv4 network configuration\n";
    }
    if (base == "pve-ipv6-config") {
        return v == "dhcp" || v == "auto" || v == "manual" || is_pve_cidr(v, true) ? "" : "value does not look like a valid ipv6 network configuration\n";
    }
    if (base == "disk-size") {
        auto size = parse_size(v);
        return size && !size->relative ? "" : fmt::format("value does not look like a valid disk size: {}\n", v);
    }
    if (base == "pve-volume-id") return is_volume_id(v) ? "" : fmt::format("unable to parse volume ID '{}'\n", v);
    if (base == "pve-volume-id-or-qm-path" || base == "pve-volume-id-or-absolute-path") {
        if (v == "none" || v == "cdrom" || (!v.empty() && v.front() == '/') || is_volume_id(v)) return "";
        return fmt::format("unable to parse volume ID '{}'\n", v);
    }
    if (base == "pve-realm") {
        return std::regex_match(v, realm_re) ? "" : fmt::format("value '{}' does not look like a valid realm\n", v);
    }
    if (base == "pve-qm-ipconfig") {
        std::string error;
        return parse_property_string(ipconfig_format(), v, path, &error) ? "" : error;
    }
    return "";  // formats pve-sim does not model are accepted
}

std::string Schema::check_value(const json& property, const std::string& value, const std::string& path) const {
    const auto type = property.value("type", std::string("string"));
    if (type == "boolean" && value != "0" && value != "1") return fmt::format("type check ('boolean') failed - got '{}'", value);
    if (type == "integer") {
        std::int64_t ignored = 0;
        if (!parse_int(value, ignored)) return fmt::format("type check ('integer') failed - got '{}'", value);
    }
    if (type == "number") {
        double ignored = 0;
        if (!parse_number(value, ignored)) return fmt::format("type check ('number') failed - got '{}'", value);
    }
    if (auto it = property.find("format"); it != property.end()) {
        if (const auto* format = property_format(property)) {
            std::string error;
            if (!parse_property_string(*format, value, path, &error)) return "invalid format - " + error;
        } else if (it->is_string()) {
            auto message = check_named_format(it->get<std::string>(), value, path);
            if (!message.empty()) return "invalid format - " + message;
        }
    }
    if (auto it = property.find("pattern"); it != property.end()) {
        const auto* re = regex_for(it->get<std::string>());
        if (re && !std::regex_match(value, *re)) return "value does not match the regex pattern";
    }
    if (auto it = property.find("maxLength"); it != property.end()) {
        if (value.size() > it->get<std::size_t>()) return fmt::format("value may only be {} characters long", it->get<std::size_t>());
    }
    if (auto it = property.find("minLength"); it != property.end()) {
        if (value.size() < it->get<std::size_t>()) return fmt::format("value must be at least {} characters long", it->get<std::size_t>());
    }
    double number = 0;
    if (parse_number(value, number)) {
        if (auto it = property.find("maximum"); it != property.end()) {
            double max = it->is_string() ? std::stod(it->get<std::string>()) : it->get<double>();
            if (number > max) return fmt::format("value must have a maximum value of {}", number_text(*it));
        }
        if (auto it = property.find("minimum"); it != property.end()) {
            double min = it->is_string() ? std::stod(it->get<std::string>()) : it->get<double>();
            if (number < min) return fmt::format("value must have a minimum value of {}", number_text(*it));
        }
    }
    if (auto it = property.find("enum"); it != property.end()) {
        std::vector<std::string> options;
        bool found = false;
        for (const auto& option : *it) {
            auto text = option.is_string() ? option.get<std::string>() : option.dump();
            if (text == value) found = true;
            options.push_back(text);
        }
        if (!found) return fmt::format("value '{}' does not have a value in the enumeration '{}'", value, join(options, ", "));
    }
    return "";
}

ErrorMap Schema::validate(const Endpoint& endpoint, const Params& params) const {
    ErrorMap errors;
    const auto& properties = endpoint.spec["parameters"];
    bool additional = endpoint.spec.value("additionalProperties", 0) != 0;
    for (auto& [name, property] : properties.items()) {
        if (name.size() > 3 && name.compare(name.size() - 3, 3, "[n]") == 0) continue;
        if (!params.count(name) && !property.value("optional", 0)) {
            errors[name] = "property is missing and it is not optional";
        }
    }
    for (const auto& [name, value] : params) {
        const auto* property = parameter(endpoint, name);
        if (!property) {
            if (!additional) errors[name] = "property is not defined in schema and the schema does not allow additional properties";
            continue;
        }
        auto message = check_value(*property, value, name);
        if (!message.empty()) {
            errors[name] = message;
            continue;
        }
        if (auto it = property->find("requires"); it != property->end() && it->is_string()) {
            auto required = it->get<std::string>();
            if (!params.count(required)) errors[required] = fmt::format("missing property - '{}' requires this property", name);
        }
    }
    return errors;
}

}  // namespace pvesim
