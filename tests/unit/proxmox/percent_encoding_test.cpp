#include <catch2/catch.hpp>

#include <cctype>
#include <regex>

#include "proxmox/percent_encoding.hpp"

using namespace dnsctl;

TEST_CASE("percent_encode: every byte outside A-Za-z0-9-_.~ becomes %XX") {
    CHECK(percent_encode("ssh-ed25519 AAAAC3Nza+/x= ops@host\n") ==
          "ssh-ed25519%20AAAAC3Nza%2B%2Fx%3D%20ops%40host%0A");
    CHECK(percent_encode("a-b_c.d~e") == "a-b_c.d~e");
    CHECK(percent_encode("é") == "%C3%A9");
    for (int byte = 0; byte < 256; ++byte) {
        const char c = static_cast<char>(byte);
        const bool unreserved = std::isalnum(byte) || c == '-' || c == '_' || c == '.' || c == '~';
        CAPTURE(byte);
        CHECK(percent_encode(std::string(1, c)).size() == (unreserved ? 1u : 3u));
    }
}

TEST_CASE("encode_sshkeys: passes the PVE server check and decodes back") {
    const std::string keys =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB+/x= dnsctl@ctl\n"
        "ssh-rsa AAAAB3NzaC1yc2E= ops@example.eu";
    const auto stored = encode_sshkeys(keys);
    // pve_verify_urlencoded in pve-common.
    CHECK(std::regex_match(stored, std::regex(R"(^[-%a-zA-Z0-9_.!~*'()]*$)")));
    CHECK(stored.find("%20") != std::string::npos);
    CHECK(stored.find('+') == std::string::npos);
    auto decoded = decode_sshkeys(stored);
    REQUIRE(decoded);
    CHECK(*decoded == keys);

    std::string every_byte;
    for (int byte = 0; byte < 256; ++byte) every_byte.push_back(static_cast<char>(byte));
    CHECK(*percent_decode(percent_encode(every_byte)) == every_byte);
}

TEST_CASE("percent_decode: lower-case hex is accepted, '+' stays, broken escapes are refused") {
    CHECK(*percent_decode("a%2fb%2Fc") == "a/b/c");
    CHECK(*percent_decode("a+b") == "a+b");
    CHECK_FALSE(percent_decode("abc%2"));
    CHECK_FALSE(percent_decode("abc%"));
    CHECK_FALSE(percent_decode("%zz"));
    auto bad = decode_sshkeys("ssh-ed25519%2");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().kind == ErrorKind::invalid);
    CHECK(bad.error().message.find("sshkeys") != std::string::npos);
}

TEST_CASE("form_encode: sshkeys travel encoded twice, as PVE expects") {
    CHECK(form_encode({{"sshkeys", encode_sshkeys("ssh-ed25519 AAAA+/= a@b")}}) ==
          "sshkeys=ssh-ed25519%2520AAAA%252B%252F%253D%2520a%2540b");
    CHECK(form_encode({{"ipconfig0", "ip=198.51.100.10/24,gw=198.51.100.1"}, {"onboot", "1"}}) ==
          "ipconfig0=ip%3D198.51.100.10%2F24%2Cgw%3D198.51.100.1&onboot=1");
    CHECK(form_encode({}).empty());
}

TEST_CASE("encode_path_segment: a UPID stays raw, path separators do not") {
    const std::string upid = "UPID:pve1:00076C9F:0106C652:646A9B55:qmclone:9000:dnsctl@pve!ctl:";
    CHECK(encode_path_segment(upid) == upid);
    CHECK(encode_path_segment("pve-1.example") == "pve-1.example");
    CHECK(encode_path_segment("a/b?c#d e%") == "a%2Fb%3Fc%23d%20e%25");
}
