#include <catch2/catch.hpp>

#include <string>

#include "core/diagnostics.hpp"

using namespace dnsctl;

TEST_CASE("Diagnostics: past the limit, problems are counted, not kept, and the text says how many more") {
    Diagnostics diagnostics(3);
    for (int i = 1; i <= 12; ++i) diagnostics.error({"f.yaml", i, 1}, "bad " + std::to_string(i));
    diagnostics.warning({"f.yaml", 20, 1}, "odd");
    CHECK(diagnostics.items().size() == 3);
    CHECK(diagnostics.error_count() == 12);
    CHECK(diagnostics.warning_count() == 1);
    CHECK(diagnostics.omitted() == 10);
    CHECK(diagnostics.has_errors());
    CHECK(diagnostics.format() == "f.yaml:1:1: error: bad 1\n"
                                  "f.yaml:2:1: error: bad 2\n"
                                  "f.yaml:3:1: error: bad 3\n"
                                  "… and 9 more errors and 1 warning (only the first 3 are shown)\n");

    Diagnostics many;
    for (int i = 0; i < 9'912; ++i) many.error({"f.yaml", 1, 1}, "bad");
    CHECK(many.items().size() == Diagnostics::kDefaultLimit);
    CHECK(many.error_count() == 9'912);
    CHECK_THAT(many.format(), Catch::EndsWith("… and 9,812 more errors (only the first 100 are shown)\n"));

    Diagnostics sum(4);
    sum.append(diagnostics);
    sum.append(diagnostics);
    CHECK(sum.items().size() == 4);
    CHECK(sum.error_count() == 24);
    CHECK(sum.warning_count() == 2);
}

TEST_CASE("Diagnostics: control characters in messages and file names are stored escaped") {
    Diagnostics diagnostics;
    diagnostics.error({"zones/\x1b]0;x\x07.zone", 1, 1}, "value 'a\x1b[2Jb' and a\nnew line");
    REQUIRE(diagnostics.items().size() == 1);
    CHECK(diagnostics.items()[0].format() ==
          "zones/\\x1b]0;x\\x07.zone:1:1: error: value 'a\\x1b[2Jb' and a\\nnew line");
    CHECK(diagnostics.format().find('\x1b') == std::string::npos);
}

TEST_CASE("group_thousands") {
    CHECK(group_thousands(0) == "0");
    CHECK(group_thousands(999) == "999");
    CHECK(group_thousands(1000) == "1,000");
    CHECK(group_thousands(9812) == "9,812");
    CHECK(group_thousands(1234567) == "1,234,567");
}
