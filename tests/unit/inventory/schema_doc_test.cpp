// inventory/README.md carries a key reference rendered from the schema. This
// test fails when the two differ; with DNSCTL_UPDATE_DOCS=1 in the environment
// it rewrites the README's generated part instead.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "inventory/inventory_schema.hpp"

using namespace dnsctl;

namespace {

constexpr std::string_view kBegin = "<!-- BEGIN KEY REFERENCE (generated: do not edit by hand) -->\n";
constexpr std::string_view kEnd = "<!-- END KEY REFERENCE -->";

std::string read(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

}  // namespace

TEST_CASE("inventory/README.md: the key reference is the one rendered from the schema") {
    const auto readme = std::filesystem::path(DNSCTL_SOURCE_DIR) / "inventory" / "README.md";
    std::string text = read(readme);
    auto begin = text.find(kBegin);
    auto end = text.find(kEnd);
    REQUIRE(begin != std::string::npos);
    REQUIRE(end != std::string::npos);
    REQUIRE(begin < end);
    begin += kBegin.size();

    const std::string rendered = "\n" + render_schema_markdown(inventory_schema().info());
    const char* update = std::getenv("DNSCTL_UPDATE_DOCS");
    if (update != nullptr && std::string_view(update) == "1") {
        text.replace(begin, end - begin, rendered);
        end = begin + rendered.size();
        std::ofstream(readme, std::ios::binary | std::ios::trunc) << text;
        WARN("rewrote the key reference of " << readme.string());
    }
    INFO("inventory/README.md is out of date with the schema; regenerate it with\n"
         "  DNSCTL_UPDATE_DOCS=1 build/tests/dnsctl_unit_tests \"inventory/README.md*\"");
    CHECK(text.substr(begin, end - begin) == rendered);
}

TEST_CASE("render_schema_markdown: one table per section, defaults, examples, checks and rules") {
    const std::string md = render_schema_markdown(inventory_schema().info());
    CHECK_THAT(md, Catch::Contains("### `clusters.<name>.tls`"));
    CHECK_THAT(md, Catch::Contains("| `rrsig_refresh` | duration | no | `14d` | `14d` |"));
    CHECK_THAT(md, Catch::Contains("| `software` | one of `knot`, `nsd`, `bind` | no | `knot` | `nsd` |"));
    CHECK_THAT(md, Catch::Contains("| `vmid` | integer 100..999999999 | yes |"));
    CHECK_THAT(md, Catch::Contains("Must be an OpenSSH public key line."));
    CHECK_THAT(md, Catch::Contains("- exactly one of `ca_file`, `fingerprint`, `fingerprint_file`"));
    // Shared sections (resources, ipv4, ipv6) appear once.
    auto first = md.find("### `resources`");
    REQUIRE(first != std::string::npos);
    CHECK(md.find("### `resources`", first + 1) == std::string::npos);
    // Every key of every section has a row: count the top-level ones.
    for (const auto& key : inventory_schema().info().keys) {
        CHECK_THAT(md, Catch::Contains(fmt::format("| `{}` |", key.name)));
    }
}
