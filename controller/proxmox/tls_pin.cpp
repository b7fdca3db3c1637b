#include "core/text.hpp"
#include "proxmox/tls_pin.hpp"

#include <fmt/format.h>

#include <cctype>

namespace dnsctl {

namespace {

}  // namespace

Result<Sha256Fingerprint> parse_sha256_fingerprint(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
    if (auto eq = text.rfind('='); eq != std::string_view::npos) {
        std::string prefix(text.substr(0, eq));
        for (auto& c : prefix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (prefix != "sha256 fingerprint") {
            return fail(ErrorKind::invalid, "a SHA-256 fingerprint is 32 hex bytes such as AB:CD:…");
        }
        text.remove_prefix(eq + 1);
    }
    std::string digits;
    for (char c : text) {
        if (c == ':') continue;
        if (hex_digit_value(c) < 0) {
            return fail(ErrorKind::invalid,
                        fmt::format("'{}' is not a SHA-256 fingerprint: unexpected character '{}'", text, c));
        }
        digits.push_back(c);
    }
    if (digits.size() != 64) {
        return fail(ErrorKind::invalid, fmt::format("'{}' is not a SHA-256 fingerprint: it must have 32 bytes, not {}",
                                                    text, digits.size() / 2.0));
    }
    Sha256Fingerprint out{};
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i] = static_cast<std::uint8_t>(hex_digit_value(digits[2 * i]) * 16 + hex_digit_value(digits[2 * i + 1]));
    }
    return out;
}

std::string format_fingerprint(const Sha256Fingerprint& fingerprint) {
    std::string out;
    for (std::size_t i = 0; i < fingerprint.size(); ++i) {
        if (i > 0) out.push_back(':');
        out += fmt::format("{:02X}", fingerprint[i]);
    }
    return out;
}

}  // namespace dnsctl
