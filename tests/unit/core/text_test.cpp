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

TEST_CASE("escape_control: control characters, C1, bidi overrides and bytes that are not UTF-8 are made visible") {
    CHECK(escape_control("plain text, é and ✓ stay") == "plain text, é and ✓ stay");
    CHECK(escape_control("back\\slash stays") == "back\\slash stays");
    CHECK(escape_control("a\nb\rc\td") == "a\\nb\\rc\\td");
    CHECK(escape_control("\x1b[31mred\x07") == "\\x1b[31mred\\x07");
    CHECK(escape_control(std::string_view("nul\0x", 5)) == "nul\\x00x");
    CHECK(escape_control("del\x7f") == "del\\x7f");
    CHECK(escape_control("c1 \xc2\x9b" "31m") == "c1 \\u{009b}31m");       // U+009B CSI
    CHECK(escape_control("rtl \xe2\x80\xae" "gnp.exe") == "rtl \\u{202e}gnp.exe");  // U+202E
    CHECK(escape_control("raw \x9b" "31m") == "raw \\x9b31m");             // an 8-bit CSI byte
    CHECK(escape_control("cut \xc3") == "cut \\xc3");                      // a character cut short
    CHECK(escape_control("overlong \xc0\xaf") == "overlong \\xc0\\xaf");
    CHECK(escape_control("surrogate \xed\xa0\x80") == "surrogate \\xed\\xa0\\x80");
    CHECK(escape_control("").empty());
}

TEST_CASE("utf8_prefix: a cut never falls inside a character") {
    CHECK(utf8_prefix("abc", 80) == 3);
    CHECK(utf8_prefix("abcdef", 3) == 3);
    CHECK(utf8_prefix("ab\xc3\xa9", 3) == 2);           // é is bytes 2-3
    CHECK(utf8_prefix("a\xe2\x9c\x93z", 2) == 1);        // ✓ is bytes 1-3
    CHECK(utf8_prefix("a\xe2\x9c\x93z", 3) == 1);
    CHECK(utf8_prefix("a\xe2\x9c\x93z", 4) == 4);
}
