#include "values.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <regex>
#include <set>

#include <fmt/format.h>

namespace pvesim {

namespace {

bool matches(const std::regex& re, std::string_view text) {
    return std::regex_match(text.begin(), text.end(), re);
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string decode(std::string_view text, bool plus_is_space) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '%' && i + 2 < text.size()) {
            int hi = hex_value(text[i + 1]);
            int lo = hex_value(text[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(plus_is_space && c == '+' ? ' ' : c);
    }
    return out;
}

}  // namespace

bool is_ipv4(const std::string& text) {
    in_addr addr{};
    return inet_pton(AF_INET, text.c_str(), &addr) == 1;
}

bool is_ipv6(const std::string& text) {
    in6_addr addr{};
    return inet_pton(AF_INET6, text.c_str(), &addr) == 1;
}

bool is_cidr(const std::string& text, bool v6, int min_length) {
    auto slash = text.find('/');
    if (slash == std::string::npos) return false;
    std::int64_t len = 0;
    if (!parse_int(text.substr(slash + 1), len)) return false;
    if (len < min_length || len > (v6 ? 128 : 32)) return false;
    return v6 ? is_ipv6(text.substr(0, slash)) : is_ipv4(text.substr(0, slash));
}

std::vector<std::string> split_list(std::string_view text) {
    std::vector<std::string> out;
    std::string current;
    for (char c : text) {
        if (c == ',' || c == ';' || std::isspace(static_cast<unsigned char>(c)) || c == '\0') {
            if (!current.empty()) out.push_back(std::move(current));
            current.clear();
        } else {
            current.push_back(c);
        }
    }
    if (!current.empty()) out.push_back(std::move(current));
    return out;
}

std::vector<std::string> split(std::string_view text, char separator) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        auto pos = text.find(separator, start);
        out.emplace_back(text.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
        if (pos == std::string_view::npos) break;
        start = pos + 1;
    }
    return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0) out.append(separator);
        out.append(parts[i]);
    }
    return out;
}

std::string to_lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

std::string trim_right(std::string_view text) {
    auto end = text.size();
    while (end > 0 && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
    return std::string(text.substr(0, end));
}

bool parse_int(std::string_view text, std::int64_t& out) {
    // Perl's integer check: optional sign, digits only.
    static const std::regex re(R"([+-]?\d+)");
    if (!matches(re, text)) return false;
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && ptr == text.data() + text.size();
}

bool parse_number(std::string_view text, double& out) {
    static const std::regex re(R"([+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)");
    if (!matches(re, text)) return false;
    out = std::strtod(std::string(text).c_str(), nullptr);
    return true;
}

std::optional<std::string> invalid_tag(std::string_view text) {
    static const std::regex re(R"([a-z0-9_][a-z0-9_\-+.]*)", std::regex::icase);
    for (const auto& tag : split_list(text)) {
        if (!matches(re, tag)) return tag;
    }
    return std::nullopt;
}

std::string normalise_tags(std::string_view text) {
    std::set<std::string> tags;
    for (const auto& tag : split_list(text)) tags.insert(to_lower(tag));
    return join(std::vector<std::string>(tags.begin(), tags.end()), ";");
}

bool is_urlencoded(std::string_view text) {
    static const std::regex re(R"([-%a-zA-Z0-9_.!~*'()]*)");
    return matches(re, text);
}

std::string percent_decode(std::string_view text) { return decode(text, false); }

std::string form_decode(std::string_view text) { return decode(text, true); }

std::string percent_encode(std::string_view text) {
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

std::vector<std::string> split_lines(std::string_view text) {
    std::vector<std::string> out;
    for (auto& line : split(text, '\n')) {
        auto trimmed = trim_right(line);
        auto start = trimmed.find_first_not_of(" \t");
        if (start == std::string::npos) continue;
        out.push_back(trimmed.substr(start));
    }
    return out;
}

bool valid_ssh_public_keys(std::string_view decoded) {
    static const std::regex re(
        R"(((sk-)?(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521))(@openssh\.com)?) ([A-Za-z0-9+/]+={0,2})( .*)?)");
    for (const auto& line : split_lines(decoded)) {
        if (line.front() == '#') continue;
        if (!matches(re, line)) return false;
    }
    return true;
}

bool is_dns_name(std::string_view text) {
    static const std::regex re(R"((([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)\.)*([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?))");
    return matches(re, text);
}

bool is_node_name(std::string_view text) {
    static const std::regex re(R"([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)");
    return matches(re, text);
}

bool is_storage_id(std::string_view text) {
    static const std::regex re(R"([a-z][a-z0-9\-_.]*[a-z0-9])", std::regex::icase);
    return matches(re, text);
}

bool is_pool_id(std::string_view text) {
    static const std::regex re(R"([A-Za-z0-9_\-]+)");
    return matches(re, text);
}

bool is_config_id(std::string_view text) {
    static const std::regex re(R"([a-z][a-z0-9_]+)", std::regex::icase);
    return matches(re, text);
}

bool is_bridge_id(std::string_view text) {
    static const std::regex re(R"([-_.\w\d]+)");
    return matches(re, text);
}

bool is_unicast_mac(std::string_view text) {
    static const std::regex re(R"([a-f0-9]{2}(:[a-f0-9]{2}){5})", std::regex::icase);
    if (!matches(re, text)) return false;
    return (hex_value(text[1]) & 1) == 0;  // the multicast bit of the first octet
}

std::optional<SizeSpec> parse_size(std::string_view text) {
    static const std::regex re(R"((\+?)(\d+(\.\d+)?)([KMGT]?))");
    std::match_results<std::string_view::const_iterator> m;
    if (!std::regex_match(text.begin(), text.end(), m, re)) return std::nullopt;
    SizeSpec spec;
    spec.relative = m[1].length() > 0;
    double value = std::strtod(m[2].str().c_str(), nullptr);
    double unit = 1;
    switch (m[4].length() ? m[4].str()[0] : ' ') {
        case 'K': unit = 1024.0; break;
        case 'M': unit = 1024.0 * 1024; break;
        case 'G': unit = 1024.0 * 1024 * 1024; break;
        case 'T': unit = 1024.0 * 1024 * 1024 * 1024; break;
        default: break;
    }
    spec.bytes = static_cast<std::uint64_t>(value * unit);
    return spec;
}

std::string format_size(std::uint64_t bytes) {
    std::uint64_t kb = bytes / 1024;
    if (kb * 1024 != bytes) return std::to_string(bytes);
    std::uint64_t mb = kb / 1024;
    if (mb * 1024 != kb) return fmt::format("{}K", kb);
    std::uint64_t gb = mb / 1024;
    if (gb * 1024 != mb) return fmt::format("{}M", mb);
    std::uint64_t tb = gb / 1024;
    if (tb * 1024 != gb) return fmt::format("{}G", gb);
    return fmt::format("{}T", tb);
}

std::string make_mac(std::uint64_t entropy) {
    return fmt::format("BC:24:11:{:02X}:{:02X}:{:02X}", (entropy >> 16) & 0xff, (entropy >> 8) & 0xff,
                       entropy & 0xff);
}

std::optional<IpConfig> parse_ipconfig(std::string_view text, std::string* error) {
    IpConfig cfg;
    auto fail = [&](std::string message) -> std::optional<IpConfig> {
        if (error) *error = std::move(message);
        return std::nullopt;
    };
    for (const auto& part : split(text, ',')) {
        if (part.empty()) continue;
        auto eq = part.find('=');
        if (eq == std::string::npos) return fail(fmt::format("value without key, but schema does not define a default key"));
        auto key = part.substr(0, eq);
        auto value = part.substr(eq + 1);
        if (key == "ip") {
            if (value != "dhcp" && !is_cidr(value, false)) return fail(fmt::format("ip: invalid format - value does not look like a valid IPv4 network configuration"));
            cfg.ip = value;
        } else if (key == "gw") {
            if (!is_ipv4(value)) return fail("gw: invalid format - value does not look like a valid IPv4 address");
            cfg.gw = value;
        } else if (key == "ip6") {
            if (value != "dhcp" && value != "auto" && !is_cidr(value, true)) return fail("ip6: invalid format - value does not look like a valid IPv6 network configuration");
            cfg.ip6 = value;
        } else if (key == "gw6") {
            if (!is_ipv6(value)) return fail("gw6: invalid format - value does not look like a valid IPv6 address");
            cfg.gw6 = value;
        } else {
            return fail(fmt::format("{}: property is not defined in schema and the schema does not allow additional properties", key));
        }
    }
    if (cfg.gw && !cfg.ip) return fail("gateway specified without specifying an IP address");
    if (cfg.gw6 && !cfg.ip6) return fail("gateway specified without specifying an IPv6 address");
    return cfg;
}

std::uint64_t mix64(std::uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

std::uint64_t stable_hash(std::string_view text) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : text) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    return mix64(h);
}

}  // namespace pvesim
