#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.hpp"

using namespace dnsctl;

namespace {

struct Run {
    int code = -1;
    std::string out;
    std::string err;
};

Run run(std::vector<const char*> args) {
    args.insert(args.begin(), "dnsctl");
    std::ostringstream out;
    std::ostringstream err;
    Run result;
    result.code = run_cli(static_cast<int>(args.size()), args.data(), out, err);
    result.out = out.str();
    result.err = err.str();
    return result;
}

}  // namespace

TEST_CASE("run_cli: an unknown command with --help is an unknown command, exit 1") {
    auto result = run({"check", "--help"});
    CHECK(result.code == 1);
    CHECK(result.out.empty());
    CHECK(result.err == "dnsctl: unknown command 'check'; the commands are: validate, plan, apply. See dnsctl --help\n");

    auto hostile = run({"ch\x1b[2Jeck", "--help"});
    CHECK(hostile.code == 1);
    CHECK(hostile.err.find("unknown command 'ch\\x1b[2Jeck'") != std::string::npos);
}

TEST_CASE("run_cli: an unknown command alone is named too") {
    auto result = run({"frobnicate", "inventory.yaml"});
    CHECK(result.code == 1);
    CHECK(result.err.find("unknown command 'frobnicate'") != std::string::npos);
}

TEST_CASE("run_cli: --help and a command's --help still print help and exit 0") {
    auto top = run({"--help"});
    CHECK(top.code == 0);
    CHECK(top.out.find("validate") != std::string::npos);
    CHECK(top.out.find("--log-level") != std::string::npos);

    auto with_option = run({"--log-level", "debug", "--help"});
    CHECK(with_option.code == 0);
    CHECK(with_option.out.find("validate") != std::string::npos);

    auto validate = run({"validate", "--help"});
    CHECK(validate.code == 0);
    CHECK(validate.out.find("--json") != std::string::npos);

    auto apply = run({"apply", "--help"});
    CHECK(apply.code == 0);
    CHECK(apply.out.find("--plan") != std::string::npos);
}

TEST_CASE("run_cli: an unknown option keeps the usual usage error") {
    auto result = run({"--bogus"});
    CHECK(result.code == 1);
    CHECK(result.err.find("unknown command") == std::string::npos);
}

TEST_CASE("run_cli: validate --json writes valid JSON when names hold invalid UTF-8 and controls") {
    Run result;
    REQUIRE_NOTHROW(result = run({"validate", "/nonexistent/inv\xFF\x1b[2J\xC2\x9B.yaml", "--json"}));
    CHECK(result.code == 1);
    nlohmann::json document;
    REQUIRE_NOTHROW(document = nlohmann::json::parse(result.out));
    CHECK(document["inventory"] == "/nonexistent/inv\xEF\xBF\xBD\x1b[2J\xC2\x9B.yaml");
    CHECK(std::none_of(result.out.begin(), result.out.end(), [](char c) {
        auto byte = static_cast<unsigned char>(c);
        return (byte < 0x20 && byte != '\n') || byte >= 0x7F;
    }));
}

TEST_CASE("run_cli: validate's text escapes control characters in what it quotes") {
    auto result = run({"validate", "/nonexistent/inv\xFF\x1b[2J.yaml"});
    CHECK(result.code == 1);
    CHECK(result.out.find("/nonexistent/inv\\xff\\x1b[2J.yaml: error: the inventory file does not exist") !=
          std::string::npos);
    CHECK(result.out.find('\x1b') == std::string::npos);
}
