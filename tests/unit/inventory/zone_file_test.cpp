#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "inventory/zone_file.hpp"

using namespace dnsctl;

namespace {

const std::filesystem::path kZones = std::filesystem::path(DNSCTL_TEST_DATA) / "inventories" / "zones";

DnsName name(std::string_view text) { return *DnsName::parse(text); }

// A zone file written for one test case, removed afterwards.
class TempZone {
public:
    explicit TempZone(std::string_view text) {
        static int counter = 0;
        path_ = std::filesystem::temp_directory_path() /
                ("dnsctl-zone-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + ".zone");
        std::ofstream(path_) << text;
    }
    ~TempZone() { std::filesystem::remove(path_); }
    TempZone(const TempZone&) = delete;
    TempZone& operator=(const TempZone&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

std::string problems(const ZoneFileReport& report) {
    std::string out;
    for (const auto& p : report.problems) out += std::to_string(p.line) + ": " + p.message + "\n";
    return out;
}

}  // namespace

TEST_CASE("read_zone_file: SOA fields, apex NS (sorted, lower-case), largest TTL and record count") {
    auto report = read_zone_file(kZones / "example.eu.zone", name("example.eu"));
    INFO(problems(report));
    REQUIRE(report.problems.empty());
    REQUIRE(report.facts);
    const ZoneFacts& f = *report.facts;
    CHECK(f.soa_mname.str() == "ns1.example.eu");
    CHECK(f.soa_rname.str() == "hostmaster.example.eu");
    CHECK(f.soa_serial == 1);
    CHECK(f.soa_refresh == 3600);
    CHECK(f.soa_retry == 900);
    CHECK(f.soa_expire == 1209600);
    CHECK(f.soa_minimum == 3600);
    CHECK(f.max_ttl == 86400);
    CHECK(f.record_count == 6);
    REQUIRE(f.apex_ns.size() == 2);
    CHECK(f.apex_ns[0].str() == "ns1.example.eu");
    CHECK(f.apex_ns[1].str() == "ns2.example.net");
}

TEST_CASE("read_zone_file: relative names, owner-less lines, multi-line SOA and no final newline") {
    TempZone zone("$TTL 300\n"
                  "@ IN SOA NS1 hostmaster (\n"
                  "   7 ; serial\n"
                  "   3600 900 604800 60 )\n"
                  "  IN NS NS1\n"
                  "  IN NS ns2.Example.NET.\n"
                  "sub IN NS elsewhere.example.org.\n"
                  "ns1 IN A 198.51.100.1");
    auto report = read_zone_file(zone.path(), name("Example.EU"));
    INFO(problems(report));
    REQUIRE(report.facts);
    CHECK(report.facts->soa_serial == 7);
    CHECK(report.facts->soa_expire == 604800);
    CHECK(report.facts->soa_mname.str() == "ns1.example.eu");
    // The delegation of sub is not part of the apex NS RRset.
    REQUIRE(report.facts->apex_ns.size() == 2);
    CHECK(report.facts->apex_ns[0].str() == "ns1.example.eu");
    CHECK(report.facts->apex_ns[1].str() == "ns2.example.net");
    CHECK(report.facts->record_count == 5);
}

TEST_CASE("read_zone_file: syntax errors and out-of-zone data are reported with their line, all of them") {
    auto report = read_zone_file(kZones / "syntax-error.eu.zone", name("syntax-error.eu"));
    CHECK_FALSE(report.facts);
    REQUIRE(report.problems.size() == 3);
    CHECK(report.problems[0].line == 7);
    CHECK(report.problems[0].column == 1);
    CHECK_THAT(report.problems[0].message, Catch::Contains("198.51.100.300"));
    CHECK(report.problems[1].line == 8);
    CHECK(report.problems[2].line == 9);
    CHECK(report.problems[2].column == 1);
    CHECK(report.problems[2].message == "elsewhere.example.org. is outside the zone syntax-error.eu.");
}

TEST_CASE("read_zone_file: a zone needs one SOA at its apex and NS records there, $INCLUDE is refused") {
    struct Case {
        std::string_view text;
        int line;
        std::string_view problem;
    };
    const Case cases[] = {
        {"@ IN NS ns1.example.eu.\n", 1, "no SOA record at the zone apex example.eu."},
        {"@ IN SOA a. b. 1 2 3 4 5\n", 1, "no NS record at the zone apex example.eu."},
        {"@ IN SOA a. b. 1 2 3 4 5\n@ IN NS a.\n@ IN SOA a. b. 2 2 3 4 5\n", 3, "a second SOA record at the apex"},
        {"@ IN SOA a. b. 1 2 3 4 5\n@ IN NS a.\nwww IN SOA a. b. 1 2 3 4 5\n", 3,
         "SOA record at www.example.eu., not at the zone apex example.eu."},
        {"@ IN SOA a. b. 1 2 3 4 5\n@ IN NS a.\n$INCLUDE other.zone\n", 3, "$INCLUDE is not supported"},
        {"@ IN SOA a. b. 1 2 3 4 5\n@ IN NS a.\nexample.net. IN A 198.51.100.1\n", 3,
         "example.net. is outside the zone example.eu."},
    };
    for (const auto& c : cases) {
        TempZone zone(c.text);
        auto report = read_zone_file(zone.path(), name("example.eu"));
        INFO(c.text << problems(report));
        CHECK_FALSE(report.facts);
        REQUIRE(report.problems.size() == 1);
        CHECK(report.problems[0].line == c.line);
        CHECK(report.problems[0].column == 1);  // the record's start, or 1:1 for the zone as a whole
        CHECK_THAT(report.problems[0].message, Catch::Contains(std::string(c.problem)));
    }
}

TEST_CASE("read_zone_file: an error points at the record's first character, after blanks and comments") {
    TempZone zone("@ IN SOA a. b. 1 2 3 4 5\n"
                  "@ IN NS a.\n"
                  "; a comment\n"
                  "\n"
                  "www IN A 198.51.100.1\n"
                  "    IN A 198.51.100.300 ; owner-less, indented\n"
                  "mx IN MX ( 10\n"
                  "   bad..name. )\n");
    auto report = read_zone_file(zone.path(), name("example.eu"));
    INFO(problems(report));
    REQUIRE(report.problems.size() == 2);
    CHECK(report.problems[0].line == 6);
    CHECK(report.problems[0].column == 5);
    CHECK_THAT(report.problems[0].message, Catch::Contains("`    IN A 198.51.100.300 ; owner-less, indented`"));
    CHECK(report.problems[1].line == 7);  // a record over two lines: where it starts
    CHECK(report.problems[1].column == 1);
}

TEST_CASE("read_zone_file: control characters of a zone file are shown escaped") {
    TempZone zone("@ IN SOA a. b. 1 2 3 4 5\n@ IN NS a.\nwww IN A \x1b[2J\n");
    auto report = read_zone_file(zone.path(), name("example.eu"));
    REQUIRE(report.problems.size() == 1);
    CHECK(report.problems[0].message.find('\x1b') == std::string::npos);
    CHECK_THAT(report.problems[0].message, Catch::Contains("\\x1b[2J"));
}

TEST_CASE("read_zone_file: a device or a FIFO is unreadable, not read") {
    auto zero = read_zone_file("/dev/zero", name("example.eu"));
    CHECK(zero.unreadable);
    REQUIRE(zero.problems.size() == 1);
    CHECK(zero.problems[0].message == "not a regular file (a character device)");
}

TEST_CASE("read_zone_file: a missing file is unreadable, not a syntax problem") {
    auto report = read_zone_file(kZones / "nope.zone", name("example.eu"));
    CHECK(report.unreadable);
    CHECK_FALSE(report.facts);
    REQUIRE(report.problems.size() == 1);
    CHECK(report.problems[0].message == "No such file or directory");
}
