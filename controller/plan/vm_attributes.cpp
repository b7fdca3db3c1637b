#include "core/text.hpp"
#include "plan/vm_attributes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "core/types.hpp"
#include "plan/sha256.hpp"

namespace dnsctl {

namespace {

constexpr std::string_view kMarkerPrefix = "managed-by: dnsctl estate=";
constexpr std::string_view kStampPrefix = "dnsctl-config: ";

// Splits on any of `separators`, dropping empty pieces.
std::vector<std::string_view> split_any(std::string_view text, std::string_view separators) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        auto end = text.find_first_of(separators, start);
        if (end == std::string_view::npos) end = text.size();
        if (end > start) out.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::optional<std::uint64_t> parse_unsigned(std::string_view text) {
    std::uint64_t value = 0;
    if (text.empty()) return std::nullopt;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
    return value;
}

// "k=v" -> {k, v}; "k" -> {k, ""}.
std::pair<std::string_view, std::string_view> split_option(std::string_view part) {
    auto eq = part.find('=');
    if (eq == std::string_view::npos) return {part, {}};
    return {part.substr(0, eq), part.substr(eq + 1)};
}

constexpr std::array<std::string_view, 14> kNicModels = {
    "virtio", "e1000", "e1000e", "rtl8139", "vmxnet3", "e1000-82540em", "e1000-82544gc",
    "e1000-82545em", "i82551", "i82557b", "i82559er", "ne2k_isa", "ne2k_pci", "pcnet"};

bool is_nic_model(std::string_view key) {
    return std::find(kNicModels.begin(), kNicModels.end(), key) != kNicModels.end();
}

std::string normalise_interface(std::string_view text) {
    auto value = trim(text);
    if (value == "dhcp" || value == "auto") return std::string(value);
    if (auto parsed = IpInterface::parse(value)) return parsed->str();
    return to_lower(value);
}

std::string normalise_address(std::string_view text) {
    auto value = trim(text);
    if (auto parsed = IpAddress::parse(value)) return parsed->str();
    return to_lower(value);
}

std::string value_or(const VmConfig& config, std::string_view key, std::string_view fallback = {}) {
    auto it = config.find(std::string(key));
    return it == config.end() ? std::string(fallback) : it->second;
}

// How an observed or cloud-init value of `name` is normalised for comparison.
std::string normalise_by_name(std::string_view name, std::string_view value) {
    if (name == attr::kIpconfig0) return normalise_ipconfig(value);
    if (name == attr::kNameserver) return normalise_nameserver(value);
    if (name == attr::kSearchdomain) return normalise_searchdomain(value);
    if (name == attr::kSshkeys) return normalise_sshkeys(value);
    if (name == attr::kTags) return normalise_tags(value);
    return std::string(trim(value));
}

}  // namespace

const std::vector<AttributeSpec>& attribute_specs() {
    static const std::vector<AttributeSpec> kSpecs = {
        {attr::kAgent, AttributeKind::flag, true, true, false},
        {attr::kCiuser, AttributeKind::text, true, true, true},
        {attr::kCores, AttributeKind::number, true, true, false},
        {attr::kIpconfig0, AttributeKind::text, true, true, true},
        {attr::kMemory, AttributeKind::number, true, true, false},
        {attr::kName, AttributeKind::text, true, false, false},
        {attr::kNameserver, AttributeKind::text, true, true, true},
        {attr::kNet0, AttributeKind::text, true, false, false},
        {attr::kOnboot, AttributeKind::flag, true, false, false},
        {attr::kScsi0Size, AttributeKind::text, true, false, false},
        {attr::kSearchdomain, AttributeKind::text, true, true, true},
        {attr::kSshkeys, AttributeKind::lines, true, true, true},
        {attr::kStatus, AttributeKind::text, false, false, false},
        {attr::kTags, AttributeKind::text, true, false, false},
    };
    return kSpecs;
}

const AttributeSpec* find_attribute_spec(std::string_view name) {
    for (const auto& spec : attribute_specs()) {
        if (spec.name == name) return &spec;
    }
    return nullptr;
}

std::string normalise_tags(std::string_view tags) {
    std::vector<std::string> out;
    for (auto tag : split_any(tags, ";, \t\n")) out.push_back(to_lower(tag));
    return join_tags(out);
}

std::string join_tags(const std::vector<std::string>& tags) {
    std::vector<std::string> out;
    for (const auto& tag : tags) {
        auto t = to_lower(trim(tag));
        if (!t.empty()) out.push_back(std::move(t));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return join(out, ";");
}

std::optional<int> parse_memory_mib(std::string_view value) {
    // Since PVE 8.1 memory is a property string: "[current=]<MiB>".
    for (auto part : split_any(value, ",")) {
        auto option = trim(part);
        std::string_view number = option;
        if (option.find('=') != std::string_view::npos) {
            auto [key, val] = split_option(option);
            if (key != "current") continue;
            number = trim(val);
        }
        auto parsed = parse_unsigned(number);
        if (parsed && *parsed <= 0x7fffffffU) return static_cast<int>(*parsed);
        return std::nullopt;
    }
    return std::nullopt;
}

std::optional<std::uint64_t> parse_size_bytes(std::string_view size) {
    size = trim(size);
    if (size.empty()) return std::nullopt;
    std::uint64_t unit = 1;
    switch (size.back()) {
    case 'K': case 'k': unit = 1ULL << 10; break;
    case 'M': case 'm': unit = 1ULL << 20; break;
    case 'G': case 'g': unit = 1ULL << 30; break;
    case 'T': case 't': unit = 1ULL << 40; break;
    default: break;
    }
    if (unit != 1) size.remove_suffix(1);
    auto dot = size.find('.');
    auto whole = parse_unsigned(size.substr(0, dot));
    if (!whole) return std::nullopt;
    std::uint64_t bytes = *whole * unit;
    if (dot != std::string_view::npos) {
        auto fraction_text = size.substr(dot + 1);
        auto fraction = parse_unsigned(fraction_text);
        if (!fraction || fraction_text.size() > 9) return std::nullopt;
        std::uint64_t scale = 1;
        for (std::size_t i = 0; i < fraction_text.size(); ++i) scale *= 10;
        bytes += *fraction * unit / scale;
    }
    return bytes;
}

std::string format_size(std::uint64_t bytes) {
    constexpr std::pair<char, std::uint64_t> kUnits[] = {
        {'T', 1ULL << 40}, {'G', 1ULL << 30}, {'M', 1ULL << 20}, {'K', 1ULL << 10}};
    if (bytes == 0) return "0";
    for (auto [suffix, unit] : kUnits) {
        if (bytes % unit == 0) return fmt::format("{}{}", bytes / unit, suffix);
    }
    return std::to_string(bytes);
}

std::optional<std::string> drive_size(std::string_view drive) {
    for (auto part : split_any(drive, ",")) {
        auto [key, value] = split_option(trim(part));
        if (key == "size") {
            if (auto bytes = parse_size_bytes(value)) return format_size(*bytes);
            return std::string(value);
        }
    }
    return std::nullopt;
}

std::string normalise_ipconfig(std::string_view value) {
    std::map<std::string, std::string> known;
    std::vector<std::string> other;
    for (auto part : split_any(value, ",")) {
        auto [key_text, val] = split_option(trim(part));
        auto key = to_lower(trim(key_text));
        if (key == "ip" || key == "ip6") {
            known[key] = normalise_interface(val);
        } else if (key == "gw" || key == "gw6") {
            known[key] = normalise_address(val);
        } else {
            other.push_back(fmt::format("{}={}", key, trim(val)));
        }
    }
    std::vector<std::string> parts;
    for (const char* key : {"ip", "gw", "ip6", "gw6"}) {
        if (auto it = known.find(key); it != known.end()) parts.push_back(fmt::format("{}={}", key, it->second));
    }
    std::sort(other.begin(), other.end());
    parts.insert(parts.end(), other.begin(), other.end());
    return join(parts, ",");
}

std::string normalise_nameserver(std::string_view value) {
    std::vector<std::string> out;
    for (auto part : split_any(value, " \t\n,;")) out.push_back(normalise_address(part));
    return join(out, " ");
}

std::string normalise_searchdomain(std::string_view value) {
    std::vector<std::string> out;
    for (auto part : split_any(value, " \t\n,;")) {
        auto domain = to_lower(part);
        while (!domain.empty() && domain.back() == '.') domain.pop_back();
        if (!domain.empty()) out.push_back(std::move(domain));
    }
    return join(out, " ");
}

std::string normalise_sshkeys(std::string_view stored) {
    // A malformed escape is kept as written: the comparison then shows it.
    auto decoded = percent_decode(stored).value_or(std::string(stored));
    std::vector<std::string> keys;
    for (auto line : split_lines(decoded)) {
        auto key = trim(line);
        if (!key.empty()) keys.emplace_back(key);
    }
    return join(keys, "\n");
}

std::string normalise_flag(std::string_view value, bool absent_default) {
    auto text = trim(value);
    if (text.empty()) return absent_default ? "1" : "0";
    auto truthy = [](std::string_view v) { return v == "1" || v == "on" || v == "yes" || v == "true"; };
    std::vector<std::string_view> parts;
    for (auto part : split_any(text, ",")) {
        if (auto trimmed = trim(part); !trimmed.empty()) parts.push_back(trimmed);
    }
    if (parts.empty()) return absent_default ? "1" : "0";  // only separators (",", " , "): nothing set
    for (auto part : parts) {
        auto [key, val] = split_option(part);
        if (key == "enabled") return truthy(trim(val)) ? "1" : "0";
    }
    // The default key of a property string comes first without a name.
    auto [first, first_value] = split_option(parts.front());
    if (first_value.empty() && parts.front().find('=') == std::string_view::npos) return truthy(first) ? "1" : "0";
    return absent_default ? "1" : "0";
}

NetDevice NetDevice::parse(std::string_view value) {
    NetDevice device;
    for (auto part : split_any(value, ",")) {
        auto [key_text, val] = split_option(trim(part));
        auto key = to_lower(key_text);
        if (key == "model") {
            device.model = to_lower(val);
        } else if (key == "macaddr") {
            device.mac = std::string(val);
        } else if (is_nic_model(key)) {
            device.model = key;
            if (!val.empty()) device.mac = std::string(val);
        } else if (key == "bridge") {
            device.bridge = std::string(val);
        } else if (key == "tag") {
            device.tag = std::string(val);
        } else {
            device.other.emplace_back(key, std::string(val));
        }
    }
    return device;
}

std::string NetDevice::managed() const {
    std::string out = model;
    if (!bridge.empty()) out += fmt::format(",bridge={}", bridge);
    if (tag) out += fmt::format(",tag={}", *tag);
    return out;
}

std::string NetDevice::str() const {
    std::string out = model;
    if (mac) out += fmt::format("={}", *mac);
    if (!bridge.empty()) out += fmt::format(",bridge={}", bridge);
    if (tag) out += fmt::format(",tag={}", *tag);
    for (const auto& [key, value] : other) {
        out += value.empty() ? fmt::format(",{}", key) : fmt::format(",{}={}", key, value);
    }
    return out;
}

std::string marker_line(std::string_view estate) { return fmt::format("{}{}", kMarkerPrefix, estate); }

std::optional<std::string> marker_estate(std::string_view description) {
    for (auto line : split_lines(description)) {
        auto text = trim(line);
        if (text.starts_with(kMarkerPrefix)) return std::string(trim(text.substr(kMarkerPrefix.size())));
    }
    return std::nullopt;
}

bool has_marker(std::string_view description, std::string_view estate) {
    for (auto line : split_lines(description)) {
        if (trim(line) == marker_line(estate)) return true;
    }
    return false;
}

std::string config_stamp(const VmAttributes& attributes) {
    std::string text;
    for (const auto& [name, value] : attributes) {
        const auto* spec = find_attribute_spec(name);
        if (spec == nullptr || !spec->stamped) continue;
        text += fmt::format("{}={}\n", name, percent_encode(value));
    }
    return "sha256:" + sha256_hex(text).substr(0, 16);
}

std::optional<std::string> recorded_stamp(std::string_view description) {
    for (auto line : split_lines(description)) {
        auto text = trim(line);
        if (text.starts_with(kStampPrefix)) return std::string(trim(text.substr(kStampPrefix.size())));
    }
    return std::nullopt;
}

std::string compose_description(std::string_view existing, std::string_view estate,
                                const std::optional<std::string>& stamp) {
    std::vector<std::string> lines{marker_line(estate)};
    if (stamp) lines.push_back(fmt::format("{}{}", kStampPrefix, *stamp));
    std::vector<std::string> kept;
    for (auto line : split_lines(existing)) {
        auto text = trim(line);
        if (text.starts_with("managed-by: dnsctl ") || text.starts_with(kStampPrefix)) continue;
        kept.emplace_back(line);
    }
    while (!kept.empty() && trim(kept.back()).empty()) kept.pop_back();
    while (!kept.empty() && trim(kept.front()).empty()) kept.erase(kept.begin());
    lines.insert(lines.end(), kept.begin(), kept.end());
    return join(lines, "\n");
}

VmAttributes observed_attributes(const VmConfig& config, std::string_view status,
                                 const std::set<std::string>& names) {
    VmAttributes out;
    for (const auto& name : names) {
        std::string value;
        if (name == attr::kAgent) {
            value = normalise_flag(value_or(config, "agent"), false);
        } else if (name == attr::kOnboot) {
            value = normalise_flag(value_or(config, "onboot"), false);
        } else if (name == attr::kCores) {
            auto text = value_or(config, "cores", "1");
            auto parsed = parse_unsigned(trim(text));
            value = parsed ? std::to_string(*parsed) : text;
        } else if (name == attr::kMemory) {
            auto text = value_or(config, "memory", "512");
            auto parsed = parse_memory_mib(text);
            value = parsed ? std::to_string(*parsed) : text;
        } else if (name == attr::kName) {
            value = to_lower(trim(value_or(config, "name")));
        } else if (name == attr::kNet0) {
            auto text = value_or(config, "net0");
            value = text.empty() ? "" : NetDevice::parse(text).managed();
        } else if (name == attr::kScsi0Size) {
            auto size = drive_size(value_or(config, "scsi0"));
            value = size.value_or("");
        } else if (name == attr::kStatus) {
            value = std::string(status);
        } else {
            value = normalise_by_name(name, value_or(config, name));
        }
        out.emplace(name, std::move(value));
    }
    return out;
}

std::map<std::string, std::string> config_values(const VmAttributes& desired, const std::vector<std::string>& names,
                                                 const std::optional<std::string>& existing_net0) {
    std::map<std::string, std::string> out;
    for (const auto& name : names) {
        auto it = desired.find(name);
        if (it == desired.end() || name == attr::kStatus || name == attr::kScsi0Size) continue;
        if (name == attr::kSshkeys) {
            out[name] = percent_encode(it->second);
        } else if (name == attr::kNet0 && existing_net0 && !existing_net0->empty()) {
            auto device = NetDevice::parse(*existing_net0);
            auto wanted = NetDevice::parse(it->second);
            device.model = wanted.model;
            device.bridge = wanted.bridge;
            device.tag = wanted.tag;
            out[name] = device.str();
        } else {
            out[name] = it->second;
        }
    }
    return out;
}

std::vector<std::string> check_cloudinit(const std::map<std::string, std::string>& expected,
                                         const std::vector<CloudinitEntry>& entries) {
    std::vector<std::string> problems;
    for (const auto& [key, value] : expected) {
        auto it = std::find_if(entries.begin(), entries.end(), [&](const CloudinitEntry& e) { return e.key == key; });
        if (it == entries.end()) {
            problems.push_back(fmt::format("cloud-init has no {}", key));
            continue;
        }
        if (it->deleted) {
            problems.push_back(fmt::format("cloud-init {} is marked for deletion", key));
            continue;
        }
        auto effective = it->pending ? *it->pending : it->value.value_or("");
        if (normalise_by_name(key, effective) != normalise_by_name(key, value)) {
            problems.push_back(fmt::format("cloud-init {} does not hold the configured value", key));
        }
    }
    return problems;
}

}  // namespace dnsctl
