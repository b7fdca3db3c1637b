// Pure value rules of Proxmox VE that pve-sim reproduces: tag lists, the
// urlencoded sshkeys format, names, disk sizes, MAC addresses, cloud-init
// ipconfig strings. No state, no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pvesim {

// "prod,DNS dns;web" -> "dns;prod;web": split on ';', ',' and whitespace,
// lower-cased, de-duplicated, sorted, ';'-joined (PVE's default tag-style).
std::string normalise_tags(std::string_view text);
// Each tag must match [a-z0-9_][a-z0-9_\-+.]* (case-insensitive). Returns the
// first invalid tag, if any.
std::optional<std::string> invalid_tag(std::string_view text);

// The server-side check of `urlencoded` values: ^[-%a-zA-Z0-9_.!~*'()]*$.
bool is_urlencoded(std::string_view text);
// Percent-decoding (no '+' to space: PVE's uri_unescape leaves '+' alone).
std::string percent_decode(std::string_view text);
// Form decoding of application/x-www-form-urlencoded ('+' is a space).
std::string form_decode(std::string_view text);
// RFC 3986 encoding of every byte outside A-Za-z0-9-_.~ .
std::string percent_encode(std::string_view text);

// Decoded sshkeys value -> its non-empty lines; false if a line is not an SSH
// public key ("<type> <base64> [comment]").
bool valid_ssh_public_keys(std::string_view decoded);
std::vector<std::string> split_lines(std::string_view text);

bool is_dns_name(std::string_view text);
bool is_ipv4(const std::string& text);
bool is_ipv6(const std::string& text);
// "address/length" with a length from min_length up to the family's width.
bool is_cidr(const std::string& text, bool v6, int min_length = 0);
bool is_node_name(std::string_view text);
bool is_storage_id(std::string_view text);
bool is_pool_id(std::string_view text);
bool is_config_id(std::string_view text);
bool is_bridge_id(std::string_view text);
bool is_unicast_mac(std::string_view text);

// Disk sizes: "32G", "+2G", "512M", "1073741824" (no unit = bytes).
struct SizeSpec {
    bool relative = false;
    std::uint64_t bytes = 0;
};
std::optional<SizeSpec> parse_size(std::string_view text);
// PVE's format_size: the largest unit that divides exactly ("2G", "1536M", "123").
std::string format_size(std::uint64_t bytes);

// "BC:24:11:xx:xx:xx" from the low 24 bits of `entropy` (Proxmox's OUI prefix).
std::string make_mac(std::uint64_t entropy);

// A cloud-init ipconfigN value: [ip=<CIDR>|dhcp][,gw=<v4>][,ip6=<CIDR>|dhcp|auto][,gw6=<v6>].
struct IpConfig {
    std::optional<std::string> ip, gw, ip6, gw6;
};
// On error returns the message PVE gives after "invalid format - ".
std::optional<IpConfig> parse_ipconfig(std::string_view text, std::string* error);

// Comma/space/semicolon separated lists ("a,b c;d").
std::vector<std::string> split_list(std::string_view text);
std::vector<std::string> split(std::string_view text, char separator);
std::string join(const std::vector<std::string>& parts, std::string_view separator);
std::string to_lower(std::string_view text);
std::string trim_right(std::string_view text);
bool parse_int(std::string_view text, std::int64_t& out);
bool parse_number(std::string_view text, double& out);

// A stable 64-bit hash (FNV-1a followed by a splitmix64 finaliser): fault
// decisions and generated values derive from it, never from a shared stream.
std::uint64_t stable_hash(std::string_view text);
std::uint64_t mix64(std::uint64_t value);

}  // namespace pvesim
