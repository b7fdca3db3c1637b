#include <catch2/catch.hpp>

#include <cctype>

#include "proxmox/tls_pin.hpp"

using namespace dnsctl;

namespace {
const std::string kPin = "5A:0B:8E:12:34:56:78:9A:BC:DE:F0:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:01:02:03:04:05";
}

TEST_CASE("parse_sha256_fingerprint: accepts the usual spellings of one fingerprint") {
    auto canonical = parse_sha256_fingerprint(kPin);
    REQUIRE(canonical);
    CHECK(format_fingerprint(*canonical) == kPin);
    CHECK(canonical->front() == 0x5A);
    CHECK(canonical->back() == 0x05);

    std::string bare;
    for (char c : kPin) {
        if (c != ':') bare.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    CHECK(*parse_sha256_fingerprint(bare) == *canonical);
    CHECK(*parse_sha256_fingerprint("  " + kPin + "\n") == *canonical);
    CHECK(*parse_sha256_fingerprint("sha256 Fingerprint=" + kPin) == *canonical);
}

TEST_CASE("parse_sha256_fingerprint: refuses what is not 32 hex bytes") {
    CHECK_FALSE(parse_sha256_fingerprint(""));
    CHECK_FALSE(parse_sha256_fingerprint(kPin.substr(3)));         // 31 bytes
    CHECK_FALSE(parse_sha256_fingerprint(kPin + ":06"));           // 33 bytes
    CHECK_FALSE(parse_sha256_fingerprint("ZZ" + kPin.substr(2)));  // not hex
    CHECK_FALSE(parse_sha256_fingerprint("sha1 Fingerprint=" + kPin));
    auto error = parse_sha256_fingerprint("AB:CD");
    REQUIRE_FALSE(error);
    CHECK(error.error().kind == ErrorKind::invalid);
}
