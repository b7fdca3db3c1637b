#include <catch2/catch.hpp>

#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

#include "core/logging.hpp"

using namespace dnsctl;

namespace {

std::string log_one(LogFormat format, const std::string& node, const std::string& message) {
    std::ostringstream text;
    auto logger = make_logger("dnsctl", std::make_shared<spdlog::sinks::ostream_sink_mt>(text), format,
                              spdlog::level::info);
    logger->warn("cluster th2: node {}: {}", node, message);
    logger->flush();
    return text.str();
}

}  // namespace

TEST_CASE("logging: text lines escape ESC, BEL, C1 controls, newlines and invalid UTF-8 from the outside") {
    auto line = log_one(LogFormat::text, "pve\x1b]0;pwned\x07", "595 \xC2\x9B" "2J\nwarn: forged line \xFF");
    CHECK(line == "warning: cluster th2: node pve\\x1b]0;pwned\\x07: 595 \\u009b2J\\nwarn: forged line \\xff\n");
    CHECK(line.find('\x1b') == std::string::npos);
    CHECK(line.find('\x07') == std::string::npos);
}

TEST_CASE("logging: JSON lines carry the escaped message and stay valid UTF-8") {
    auto line = log_one(LogFormat::json, "pve\x1b[31m", "bad \xC3\x28 \xC2\x85");
    CHECK(line.find(R"("msg":"cluster th2: node pve\\x1b[31m: bad \\xc3( \\u0085")") != std::string::npos);
    CHECK(line.find("\"level\":\"warning\"") != std::string::npos);
    CHECK(line.back() == '\n');
    CHECK(std::count(line.begin(), line.end(), '\n') == 1);
}

TEST_CASE("logging: a pattern set later still gets escaped messages") {
    std::ostringstream text;
    auto logger = make_logger("dnsctl", std::make_shared<spdlog::sinks::ostream_sink_mt>(text), LogFormat::text,
                              spdlog::level::info);
    logger->set_pattern("[%n] %v");
    logger->error("VM name {}", "ns\x1b[2J");
    CHECK(text.str() == "[dnsctl] VM name ns\\x1b[2J\n");
}
