#include <catch2/catch.hpp>

#include "core/text.hpp"

using namespace dnsctl;

TEST_CASE("text: trim, lower, lines, join, hex digits") {
    CHECK(trim("  a b \r\n") == "a b");
    CHECK(trim(" \t ").empty());
    CHECK(to_lower("NS-Ipset.EU") == "ns-ipset.eu");
    auto lines = split_lines("one\ntwo\n\nfour\n");
    REQUIRE(lines.size() == 4);
    CHECK(lines[2].empty());
    CHECK(lines[3] == "four");
    CHECK(join({"a", "b", "c"}, ", ") == "a, b, c");
    CHECK(join({}, ",").empty());
    CHECK(hex_digit_value('f') == 15);
    CHECK(hex_digit_value('A') == 10);
    CHECK(hex_digit_value('g') == -1);
}
