// The self-signed certificate of each simulated cluster, kept in the state
// directory so a restart keeps the fingerprint clients have pinned.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace pvesim {

struct CertificateFiles {
    std::filesystem::path certificate;  // PEM
    std::filesystem::path key;          // PEM, mode 0600
    std::filesystem::path fingerprint_file;
    std::string fingerprint;  // SHA-256 of the DER certificate, "AB:CD:…" upper-case
};

// Reuses <dir>/<name>.crt/.key when they parse and match, else generates a
// new EC P-256 certificate (SAN 127.0.0.1, ::1, localhost; CN <common_name>;
// 10 years). Always (re)writes <dir>/<name>.fingerprint.
std::optional<CertificateFiles> ensure_certificate(const std::filesystem::path& dir, const std::string& name,
                                                   const std::string& common_name, std::string& error);

// SHA-256 fingerprint of the first certificate in a PEM file.
std::optional<std::string> pem_fingerprint(const std::filesystem::path& pem, std::string& error);

// 32 random bytes, base64: the key tickets are signed with (kept in the state dir).
std::optional<std::string> ensure_ticket_key(const std::filesystem::path& file, std::string& error);

// Writes `content` to `path` atomically (temporary file + rename), with `mode`.
bool write_file_atomically(const std::filesystem::path& path, const std::string& content, unsigned mode,
                           std::string& error);

}  // namespace pvesim
