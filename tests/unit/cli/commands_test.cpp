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
