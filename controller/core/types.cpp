#include "core/types.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace dnsctl {

namespace {

bool valid_label(std::string_view label) {
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    return std::all_of(label.begin(), label.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
}

Result<int> parse_prefix_length(std::string_view text, int max) {
    int value = -1;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || ptr != text.data() + text.size() || value < 0 || value > max) {
        return fail(ErrorKind::invalid, fmt::format("prefix length '{}' is not a number from 0 to {}", text, max));
    }
    return value;
}

}  // namespace

Result<DnsName> DnsName::parse(std::string_view text) {
    std::string name(text);
    if (!name.empty() && name.back() == '.') name.pop_back();
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (name.empty()) return fail(ErrorKind::invalid, "a domain name cannot be empty");
    if (name.size() > 253) return fail(ErrorKind::invalid, fmt::format("'{}' is longer than 253 characters", text));
    std::size_t start = 0;
    int count = 0;
    while (true) {
        auto dot = name.find('.', start);
        auto label = std::string_view(name).substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (!valid_label(label)) {
            return fail(ErrorKind::invalid,
                        fmt::format("'{}' is not a valid domain name (label '{}': 1-63 letters, digits, '-' "
                                    "not at either end)",
                                    text, label));
        }
        ++count;
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return DnsName(std::move(name));
}

std::vector<std::string_view> DnsName::labels() const {
    std::vector<std::string_view> out;
    std::string_view rest = text_;
    while (!rest.empty()) {
        auto dot = rest.find('.');
        out.push_back(rest.substr(0, dot));
        if (dot == std::string_view::npos) break;
        rest.remove_prefix(dot + 1);
    }
    return out;
}

std::string_view DnsName::tld() const {
    auto dot = text_.rfind('.');
    return dot == std::string::npos ? std::string_view(text_) : std::string_view(text_).substr(dot + 1);
}

bool DnsName::is_subdomain_of(const DnsName& parent) const {
    if (text_ == parent.text_) return true;
    return text_.size() > parent.text_.size() && text_.ends_with(parent.text_) &&
           text_[text_.size() - parent.text_.size() - 1] == '.';
}

std::string_view to_string(AddressFamily family) { return family == AddressFamily::ipv4 ? "IPv4" : "IPv6"; }

Result<IpAddress> IpAddress::parse(std::string_view text) {
    std::string s(text);
    IpAddress out;
    if (s.find(':') != std::string::npos) {
        out.family_ = AddressFamily::ipv6;
        if (inet_pton(AF_INET6, s.c_str(), out.bytes_.data()) == 1) return out;
    } else {
        out.family_ = AddressFamily::ipv4;
        if (inet_pton(AF_INET, s.c_str(), out.bytes_.data()) == 1) return out;
    }
    return fail(ErrorKind::invalid, fmt::format("'{}' is not an IPv4 or IPv6 address", text));
}

std::string IpAddress::str() const {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(family_ == AddressFamily::ipv4 ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
    return buf;
}

IpAddress IpAddress::masked(int prefix_length) const {
    IpAddress out = *this;
    int width = bit_width();
    for (int bit = std::max(prefix_length, 0); bit < width; ++bit) {
        out.bytes_[static_cast<std::size_t>(bit / 8)] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
    }
    return out;
}

Result<IpInterface> IpInterface::parse(std::string_view text) {
    auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        return fail(ErrorKind::invalid, fmt::format("'{}' needs a prefix length, e.g. 198.51.100.10/24", text));
    }
    auto address = IpAddress::parse(text.substr(0, slash));
    if (!address) return std::unexpected(address.error());
    auto length = parse_prefix_length(text.substr(slash + 1), address->bit_width());
    if (!length) return std::unexpected(length.error());
    return IpInterface{*address, *length};
}

std::string IpInterface::str() const { return fmt::format("{}/{}", address.str(), prefix_length); }

Result<IpPrefix> IpPrefix::parse(std::string_view text) {
    auto iface = IpInterface::parse(text);
    if (!iface) return std::unexpected(iface.error());
    if (iface->address.masked(iface->prefix_length) != iface->address) {
        return fail(ErrorKind::invalid, fmt::format("'{}' has host bits set; the network is {}", text,
                                                    iface->network().str()));
    }
    return iface->network();
}

bool IpPrefix::contains(const IpAddress& address) const {
    return address.family() == network.family() && address.masked(length) == network;
}

std::string IpPrefix::str() const { return fmt::format("{}/{}", network.str(), length); }

Result<Duration> parse_duration(std::string_view text) {
    if (text.empty()) return fail(ErrorKind::invalid, "a duration cannot be empty");
    std::int64_t multiplier = 1;
    std::string_view digits = text;
    switch (text.back()) {
    case 's': multiplier = 1; digits.remove_suffix(1); break;
    case 'm': multiplier = 60; digits.remove_suffix(1); break;
    case 'h': multiplier = 3600; digits.remove_suffix(1); break;
    case 'd': multiplier = 86400; digits.remove_suffix(1); break;
    case 'w': multiplier = 7 * 86400; digits.remove_suffix(1); break;
    default: break;
    }
    std::int64_t value = -1;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc{} || ptr != digits.data() + digits.size() || value < 0) {
        return fail(ErrorKind::invalid,
                    fmt::format("'{}' is not a duration: write a whole number with a unit s, m, h, d or w "
                                "(e.g. 14d)",
                                text));
    }
    return Duration(value * multiplier);
}

std::string format_duration(Duration d) {
    auto s = d.count();
    if (s != 0) {
        if (s % (7 * 86400) == 0) return fmt::format("{}w", s / (7 * 86400));
        if (s % 86400 == 0) return fmt::format("{}d", s / 86400);
        if (s % 3600 == 0) return fmt::format("{}h", s / 3600);
        if (s % 60 == 0) return fmt::format("{}m", s / 60);
    }
    return fmt::format("{}s", s);
}

bool serial_newer(std::uint32_t a, std::uint32_t b) {
    // RFC 1982 section 3.2 with SERIAL_BITS = 32.
    constexpr std::uint32_t half = 1u << 31;
    return (a < b && (b - a) > half) || (a > b && (a - b) < half);
}

}  // namespace dnsctl
