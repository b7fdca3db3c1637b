// Small strong types parsed where values enter (inventory, API answers).
#pragma once

#include <array>
#include <chrono>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace dnsctl {

// A fully qualified domain name, stored lower-case without the trailing dot.
class DnsName {
public:
    DnsName() = default;
    static Result<DnsName> parse(std::string_view text);

    [[nodiscard]] const std::string& str() const { return text_; }
    [[nodiscard]] std::string fqdn() const { return text_ + "."; }  // with trailing dot
    [[nodiscard]] std::vector<std::string_view> labels() const;
    [[nodiscard]] std::string_view tld() const;  // last label: the registry it depends on
    [[nodiscard]] bool empty() const { return text_.empty(); }
    [[nodiscard]] bool is_subdomain_of(const DnsName& parent) const;  // or equal

    friend auto operator<=>(const DnsName&, const DnsName&) = default;

private:
    explicit DnsName(std::string text) : text_(std::move(text)) {}
    std::string text_;
};

enum class AddressFamily { ipv4, ipv6 };
std::string_view to_string(AddressFamily family);

class IpAddress {
public:
    IpAddress() = default;
    static Result<IpAddress> parse(std::string_view text);

    [[nodiscard]] AddressFamily family() const { return family_; }
    [[nodiscard]] const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }
    [[nodiscard]] std::string str() const;
    [[nodiscard]] int bit_width() const { return family_ == AddressFamily::ipv4 ? 32 : 128; }
    [[nodiscard]] IpAddress masked(int prefix_length) const;  // host bits cleared

    friend auto operator<=>(const IpAddress&, const IpAddress&) = default;

private:
    AddressFamily family_ = AddressFamily::ipv4;
    std::array<std::uint8_t, 16> bytes_{};  // IPv4 uses the first 4
};

// A network prefix, e.g. 198.51.100.0/24 (host bits always zero).
struct IpPrefix {
    IpAddress network;
    int length = 0;

    static Result<IpPrefix> parse(std::string_view text);  // "a/len", host bits must be zero
    [[nodiscard]] bool contains(const IpAddress& address) const;
    [[nodiscard]] std::string str() const;
    friend auto operator<=>(const IpPrefix&, const IpPrefix&) = default;
};

// An address on an interface, e.g. 198.51.100.10/24 (host bits set).
struct IpInterface {
    IpAddress address;
    int prefix_length = 0;

    static Result<IpInterface> parse(std::string_view text);  // "a/len"
    [[nodiscard]] IpPrefix network() const { return {address.masked(prefix_length), prefix_length}; }
    [[nodiscard]] std::string str() const;
    friend auto operator<=>(const IpInterface&, const IpInterface&) = default;
};

// Durations in inventories: "90s", "30m", "12h", "14d", "2w", or a plain number of seconds.
using Duration = std::chrono::seconds;
Result<Duration> parse_duration(std::string_view text);
std::string format_duration(Duration d);  // largest exact unit: "14d", "36h", "90s"

// Proxmox VM id (100 … 999999999).
struct Vmid {
    std::uint32_t value = 0;
    static constexpr std::uint32_t kMin = 100;
    static constexpr std::uint32_t kMax = 999'999'999;
    friend auto operator<=>(const Vmid&, const Vmid&) = default;
};

// Autonomous system number (1 … 4294967294, RFC 6793).
struct Asn {
    std::uint32_t value = 0;
    friend auto operator<=>(const Asn&, const Asn&) = default;
};

// RFC 1982 serial number arithmetic: is a newer than b?
bool serial_newer(std::uint32_t a, std::uint32_t b);
// a equal to or newer than b
inline bool serial_at_least(std::uint32_t a, std::uint32_t b) { return a == b || serial_newer(a, b); }

}  // namespace dnsctl
