#include <catch2/catch.hpp>

#include <string>

#include "proxmox/error_classification.hpp"
#include "proxmox/json_limits.hpp"
#include "proxmox/rest_calls.hpp"

using namespace dnsctl;

namespace {

// {"data":{"a":[[[…]]]}} with `depth` brackets.
std::string deeply_nested(std::size_t depth) {
    return R"({"data":{"a":)" + std::string(depth, '[') + std::string(depth, ']') + "}}";
}

bool mentions(const Error& error, std::string_view part) { return error.message.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("check_json_limits: depth and value count, brackets inside strings do not count") {
    CHECK(check_json_limits(R"({"data":[{"vmid":101,"tags":"a;b"}]})"));
    CHECK(check_json_limits(std::string(64, '[') + std::string(64, ']')));
    auto deep = check_json_limits(std::string(65, '[') + std::string(65, ']'));
    REQUIRE_FALSE(deep);
    CHECK(deep.error().kind == ErrorKind::invalid);
    CHECK(mentions(deep.error(), "deeper than 64 levels"));
    // Brackets and quotes inside strings are text.
    CHECK(check_json_limits(R"({"a":")" + std::string(1000, '[') + R"(\"[[["})"));
    auto many = check_json_limits("[" + std::string(10, ',') + "]", JsonLimits{64, 10});
    REQUIRE_FALSE(many);
    CHECK(mentions(many.error(), "more than 10 values"));
    CHECK(check_json_limits("[" + std::string(8, ',') + "]", JsonLimits{64, 10}));
}

TEST_CASE("decoders: an answer nested 300000 levels deep is refused, not a stack overflow") {
    const auto body = deeply_nested(300'000);
    auto config = decode_config(body);
    REQUIRE_FALSE(config);
    CHECK(mentions(config.error(), "deeper than 64 levels"));
    auto vms = decode_vms(R"({"data":[)" + std::string(300'000, '[') + std::string(300'000, ']') + "]}");
    REQUIRE_FALSE(vms);
    CHECK(mentions(vms.error(), "deeper than"));
    auto status = decode_task_status(body);
    REQUIRE_FALSE(status);
}

TEST_CASE("decoders: a body of millions of tiny values is refused before parsing") {
    std::string body = R"({"data":[)";
    for (int i = 0; i < 300'000; ++i) body += "0,";
    body += "0]}";
    auto vms = decode_vms(body);
    REQUIRE_FALSE(vms);
    CHECK(mentions(vms.error(), "more than 250000 values"));
}

TEST_CASE("parse_failed_reply: a deeply nested error body is ignored, the status still classifies") {
    const std::string body = R"({"errors":{"x":)" + std::string(300'000, '[') + std::string(300'000, ']') + "}}";
    auto reply = parse_failed_reply(400, "Parameter verification failed.", body);
    CHECK(reply.errors.empty());
    CHECK(classify_failure(reply, true).kind == ErrorKind::invalid);
}
