// SHA-256 certificate fingerprints as Proxmox shows them ("AB:CD:…", the
// `ssl_fingerprint` of GET /nodes and of `pvenode cert info`).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace dnsctl {

using Sha256Fingerprint = std::array<std::uint8_t, 32>;

// Accepts 64 hex digits, with or without ':' between bytes, either case,
// surrounding whitespace ignored, and the "sha256 Fingerprint=" prefix that
// `openssl x509 -fingerprint -sha256` prints.
Result<Sha256Fingerprint> parse_sha256_fingerprint(std::string_view text);

// "AB:CD:…" (upper-case, colon-separated).
std::string format_fingerprint(const Sha256Fingerprint& fingerprint);

}  // namespace dnsctl
