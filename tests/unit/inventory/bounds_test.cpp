// The loader on hostile and mistaken input: inputs that once crashed it, and
// the bounds on files, values, aliases and nesting (DESIGN §10b).
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include "core/text.hpp"
#include "inventory/limits.hpp"
#include "inventory/load_inventory.hpp"
#include "inventory/schema.hpp"
#include "inventory/yaml_document.hpp"

using namespace dnsctl;

namespace {

const std::filesystem::path kInventories = std::filesystem::path(DNSCTL_TEST_DATA) / "inventories";

std::string read(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

std::string all(const Diagnostics& diagnostics) { return diagnostics.format(); }

// A folder for one test case, removed afterwards.
class TempDir {
public:
    TempDir() {
        static int counter = 0;
        path_ = std::filesystem::temp_directory_path() /
                ("dnsctl-bounds-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] std::filesystem::path operator/(std::string_view name) const { return path_ / name; }
    std::filesystem::path write(std::string_view name, std::string_view text) const {
        std::ofstream(path_ / name, std::ios::binary) << text;
        return path_ / name;
    }

private:
    std::filesystem::path path_;
};

// The minimal valid fixture, its zone file given by absolute path.
std::string minimal_inventory() {
    std::string text = read(kInventories / "valid" / "minimal.yaml");
    const std::string relative = "file: ../zones/example.eu.zone";
    text.replace(text.find(relative), relative.size(),
                 "file: " + (kInventories / "zones" / "example.eu.zone").lexically_normal().string());
    return text;
}

std::string replaced(std::string text, std::string_view old, std::string_view with) {
    auto at = text.find(old);
    REQUIRE(at != std::string::npos);
    text.replace(at, old.size(), with);
    return text;
}

// Whether some error sits at line:col of `file` and contains `needle`.
bool has_error(const Diagnostics& diagnostics, const std::string& file, int line, int column, std::string_view needle) {
    for (const auto& d : diagnostics.items()) {
        if (d.severity == Severity::error && d.where.file == file && d.where.line == line &&
            d.where.column == column && d.message.find(needle) != std::string::npos) {
            return true;
        }
    }
    return false;
}

// Line and column (1-based) of the n-th (0-based) occurrence of `needle`.
std::pair<int, int> position_of(std::string_view text, std::string_view needle, int n = 0) {
    std::size_t at = text.find(needle);
    for (int i = 0; i < n; ++i) at = text.find(needle, at + 1);
    REQUIRE(at != std::string_view::npos);
    int line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < at; ++i) {
        if (text[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    return {line, static_cast<int>(at - line_start) + 1};
}

}  // namespace

// ---- inputs that once crashed the loader (a use-after-free of a location) ----

TEST_CASE("load_inventory: a primary with nothing but resources is reported, not a crash") {
    TempDir dir;
    auto path = dir.write("x.yaml", "primary:\n  resources: {}\n");
    auto loaded = load_inventory(path);
    INFO(all(loaded.diagnostics));
    CHECK(has_error(loaded.diagnostics, path.string(), 1, 1, "primary: missing required key 'fqdn'"));
    CHECK(has_error(loaded.diagnostics, path.string(), 1, 1, "primary: needs an address"));
    CHECK(has_error(loaded.diagnostics, path.string(), 1, 1, "missing required key 'version'"));
}

TEST_CASE("load_inventory: a readonly_token without its secret is reported at the token, not a crash") {
    TempDir dir;
    auto path = dir.write("inventory.yaml", replaced(minimal_inventory(), "    tls:\n      ca_file",
                                                     "    readonly_token:\n      id: dnsctl@pve!check\n"
                                                     "    tls:\n      ca_file"));
    auto loaded = load_inventory(path);
    INFO(all(loaded.diagnostics));
    CHECK(loaded.diagnostics.error_count() == 1);
    auto [line, column] = position_of(read(path), "readonly_token:");
    CHECK(has_error(loaded.diagnostics, path.string(), line, column,
                    "clusters[beta].readonly_token: missing required key 'secret'"));
}

TEST_CASE("load_inventory: a section missing several required keys in a deep map (locations outlive the walk)") {
    TempDir dir;
    auto path = dir.write("inventory.yaml",
                          replaced(minimal_inventory(), "    ipv4:\n      address: 203.0.113.53/24\n"
                                                        "      gateway: 203.0.113.1\n",
                                   "    ipv4: {}\n    ipv6: {}\n    resources: {}\n"));
    auto loaded = load_inventory(path);
    INFO(all(loaded.diagnostics));
    auto [line, column] = position_of(read(path), "ipv4: {}");
    CHECK(has_error(loaded.diagnostics, path.string(), line, column,
                    "nameservers[ns2.example.net].ipv4: missing required key 'address'"));
    CHECK(has_error(loaded.diagnostics, path.string(), line, column,
                    "nameservers[ns2.example.net].ipv4: missing required key 'gateway'"));
}

// ---- the inventory file itself ----------------------------------------------

TEST_CASE("load_inventory: only a regular file of at most 4 MiB is read") {
    TempDir dir;
    REQUIRE(::mkfifo((dir / "fifo.yaml").c_str(), 0600) == 0);
    auto fifo = load_inventory(dir / "fifo.yaml");  // would wait for a writer forever if it were opened blocking
    REQUIRE(fifo.diagnostics.error_count() == 1);
    CHECK(fifo.diagnostics.items()[0].message == "cannot read the inventory: not a regular file (a FIFO)");

    auto device = load_inventory("/dev/zero");
    REQUIRE(device.diagnostics.error_count() == 1);
    CHECK(device.diagnostics.items()[0].message ==
          "cannot read the inventory: not a regular file (a character device)");

    auto big = dir.write("big.yaml", "version: 1\n");
    std::filesystem::resize_file(big, limits::kInventoryBytes + 1);
    auto loaded = load_inventory(big);
    REQUIRE(loaded.diagnostics.error_count() == 1);
    CHECK(loaded.diagnostics.items()[0].format() ==
          big.string() + ":1:1: error: cannot read the inventory: 4,194,305 bytes is more than the limit of 4 MiB");
}

// ---- YAML bounds --------------------------------------------------------------

TEST_CASE("yaml adapter: nested aliases (billion laughs) are refused at the alias that passes the bound") {
    std::string text = "a: &a [x, x, x, x, x, x, x, x, x]\n";
    const char* names = "abcdefghi";
    for (int level = 1; level < 9; ++level) {
        text += fmt::format("{0}: &{0} [", names[level]);
        for (int i = 0; i < 9; ++i) text += fmt::format("{}*{}", i == 0 ? "" : ", ", names[level - 1]);
        text += "]\n";
    }
    // a: 10 values, b: 91, c: 820, d: 7,381, e: 66,430; in f the first *e
    // takes the document past 100,000 values.
    Diagnostics diagnostics;
    auto doc = parse_yaml_document(text, "laughs.yaml", diagnostics);
    CHECK_FALSE(doc);
    REQUIRE(diagnostics.error_count() == 1);
    auto [line, column] = position_of(text, "*e", 0);
    CHECK(line == 6);
    CHECK(diagnostics.items()[0].where.format() == fmt::format("laughs.yaml:{}:{}", line, column));
    CHECK(diagnostics.items()[0].message ==
          "*e expands to 66,430 values, which takes the document past the limit of 100,000 values (aliases are "
          "expanded)");

    // A small alias is fine, and its value is a copy placed at the alias.
    Diagnostics fine;
    auto small = parse_yaml_document("a: &x [1, 2]\nb: *x\n", "ok.yaml", fine);
    REQUIRE(small);
    CHECK(fine.empty());
    REQUIRE(small->entries.size() == 2);
    CHECK(small->entries[1].value.items.size() == 2);
    CHECK(small->entries[1].value.where.format() == "ok.yaml:2:4");
}

TEST_CASE("yaml adapter: a recursive alias is refused at the alias") {
    Diagnostics diagnostics;
    auto doc = parse_yaml_document("a: &x\n  b: *x\n", "loop.yaml", diagnostics);
    CHECK_FALSE(doc);
    REQUIRE(diagnostics.error_count() == 1);
    CHECK(diagnostics.items()[0].format() ==
          "loop.yaml:2:6: error: *x refers to a list or map that contains it (a recursive alias)");
}

TEST_CASE("yaml adapter: an oversize value, list or document, and deep nesting are refused where they are") {
    Diagnostics scalar;
    CHECK_FALSE(parse_yaml_document("a: ok\nb: " + std::string(5000, 'x') + "\nc: " + std::string(6000, 'y') + "\n",
                                    "s.yaml", scalar));
    REQUIRE(scalar.error_count() == 2);  // every oversize value is reported
    CHECK(scalar.items()[0].format() == "s.yaml:2:4: error: a value of 5,000 bytes: the limit is 4,096 bytes");
    CHECK(scalar.items()[1].where.format() == "s.yaml:3:4");

    std::string list = "resolvers: [1";
    for (std::size_t i = 0; i < limits::kCollectionEntries; ++i) list += ",1";
    list += "]\n";
    Diagnostics entries;
    CHECK_FALSE(parse_yaml_document(list, "l.yaml", entries));
    REQUIRE(entries.error_count() == 1);
    CHECK(entries.items()[0].format() == "l.yaml:1:12: error: a list with more than 20,000 entries");

    std::string many;
    for (int k = 0; k < 6; ++k) {
        many += fmt::format("k{}: [0", k);
        for (int i = 0; i < 19'000; ++i) many += ",0";
        many += "]\n";
    }
    Diagnostics document;
    CHECK_FALSE(parse_yaml_document(many, "d.yaml", document));
    REQUIRE(document.error_count() == 1);
    CHECK(document.items()[0].where.line == 6);
    CHECK(document.items()[0].message == "the document has more than 100,000 values (lists, maps and scalars)");

    Diagnostics deep;
    CHECK_FALSE(parse_yaml_document("a: " + std::string(70, '[') + std::string(70, ']') + "\n", "n.yaml", deep));
    REQUIRE(deep.error_count() == 1);
    CHECK(deep.items()[0].format() == "n.yaml:1:67: error: nesting deeper than 64 levels of lists and maps");

    // Far deeper than yaml-cpp's own guard: an error, not a stack overflow.
    Diagnostics deeper;
    CHECK_FALSE(parse_yaml_document(std::string(100'000, '['), "m.yaml", deeper));
    CHECK(deeper.has_errors());
}

TEST_CASE("load_inventory: a 431-byte billion-laughs inventory is refused quickly, at the alias") {
    TempDir dir;
    std::string text = "version: 1\nx0: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
    const char* names = "abcdefghi";
    for (int level = 1; level < 9; ++level) {
        text += fmt::format("x{}: &{} [", level, names[level]);
        for (int i = 0; i < 9; ++i) text += fmt::format("{}*{}", i == 0 ? "" : ",", names[level - 1]);
        text += "]\n";
    }
    CHECK(text.size() < 500);
    auto path = dir.write("laughs.yaml", text);
    auto loaded = load_inventory(path);
    INFO(all(loaded.diagnostics));
    REQUIRE(loaded.diagnostics.error_count() == 1);
    CHECK(loaded.diagnostics.items()[0].where.line == 7);
    CHECK_THAT(loaded.diagnostics.items()[0].message, Catch::Contains("*e expands to 66,430 values"));
}

// ---- zone files ------------------------------------------------------------------

TEST_CASE("load_inventory: a zone file that is a device, a FIFO or too large is reported at its `file:` key") {
    TempDir dir;
    REQUIRE(::mkfifo((dir / "fifo.zone").c_str(), 0600) == 0);
    auto big = dir.write("big.zone", "$ORIGIN example.eu.\n");
    std::filesystem::resize_file(big, limits::kZoneFileBytes + 1);
    for (auto [file, why] : {std::pair{std::string("/dev/zero"), std::string("not a regular file (a character device)")},
                             std::pair{(dir / "fifo.zone").string(), std::string("not a regular file (a FIFO)")},
                             std::pair{big.string(), std::string("33,554,433 bytes is more than the limit of 32 MiB")}}) {
        std::string text = minimal_inventory();
        auto at = text.find("file: /");
        text.replace(at, text.find('\n', at) - at, "file: " + file);
        auto path = dir.write("inventory.yaml", text);
        auto loaded = load_inventory(path);
        INFO(all(loaded.diagnostics));
        REQUIRE(loaded.diagnostics.error_count() == 1);
        auto [line, column] = position_of(text, "file: " + file);
        CHECK(has_error(loaded.diagnostics, path.string(), line, column + 6,
                        "zones[example.eu].file: cannot read " + file + ": " + why));
    }
}

// ---- what reaches a terminal -------------------------------------------------------

TEST_CASE("load_inventory: control characters never reach a message raw, and such values are refused") {
    TempDir dir;
    std::string text = replaced(minimal_inventory(), "datacenter: DC Alpha", "datacenter: \"DC\\e[2J Alpha\"");
    text = replaced(text, "estate: test-estate\n", "estate: test-estate\n\"\\e]0;owned\\a\": 1\n");
    auto path = dir.write("inventory.yaml", text);
    auto loaded = load_inventory(path);
    INFO(all(loaded.diagnostics));
    CHECK(loaded.diagnostics.error_count() == 2);
    auto [line, column] = position_of(text, "\"DC");
    CHECK(has_error(loaded.diagnostics, path.string(), line, column,
                    "clusters[alpha].datacenter: contains a control character or bytes that are not UTF-8 (value "
                    "not shown); expected a non-empty string"));
    CHECK_THAT(all(loaded.diagnostics), Catch::Contains("unknown key '\\x1b]0;owned\\x07'"));
    CHECK(all(loaded.diagnostics).find('\x1b') == std::string::npos);
    CHECK(all(loaded.diagnostics).find('\x07') == std::string::npos);
}

TEST_CASE("quote: a long value is cut on a character boundary, never inside one") {
    std::string value = std::string(79, 'a') + "é and more";  // é takes bytes 79 and 80
    std::string quoted = schema::quote(value);
    CHECK(quoted == "'" + std::string(79, 'a') + "…'");
    CHECK(escape_control(quoted) == quoted);  // valid UTF-8
    CHECK(schema::quote("short é") == "'short é'");
    CHECK(schema::quote("bell\a") == "'bell\\x07'");
}
