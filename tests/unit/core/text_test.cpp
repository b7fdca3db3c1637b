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

TEST_CASE("escape_control: printable ASCII and well-formed UTF-8 pass unchanged") {
    CHECK(escape_control("ns-ipset.rdem-systems.eu: 500 Internal Server Error") ==
          "ns-ipset.rdem-systems.eu: 500 Internal Server Error");
    CHECK(escape_control("Ελληνικά, 日本語, emoji \xF0\x9F\x98\x80, U+00A0 \xC2\xA0") ==
          "Ελληνικά, 日本語, emoji \xF0\x9F\x98\x80, U+00A0 \xC2\xA0");
    CHECK(escape_control("").empty());
    CHECK(escape_control("a\\x1b") == "a\\x1b");  // a backslash is shown as it is
}

TEST_CASE("escape_control: C0 controls, DEL, ESC and BEL sequences are shown as escapes") {
    CHECK(escape_control("vm\x1b]0;owned\x07name") == "vm\\x1b]0;owned\\x07name");
    CHECK(escape_control("\x1b[2J\x1b[31mred") == "\\x1b[2J\\x1b[31mred");
    CHECK(escape_control("one\ntwo\r\tthree") == "one\\ntwo\\r\\tthree");
    CHECK(escape_control(std::string_view("nul\0byte", 8)) == "nul\\x00byte");
    CHECK(escape_control("del\x7f") == "del\\x7f");
    CHECK(escape_control("\x01\x1f") == "\\x01\\x1f");
}

TEST_CASE("escape_control: C1 controls encoded as UTF-8 are shown as escapes") {
    CHECK(escape_control("csi\xC2\x9B" "31m") == "csi\\u009b31m");
    CHECK(escape_control("\xC2\x80\xC2\x9F\xC2\xA0") == "\\u0080\\u009f\xC2\xA0");
}

TEST_CASE("escape_control: bytes that are not well-formed UTF-8 are shown as \\xNN") {
    CHECK(escape_control("bad\xFFname") == "bad\\xffname");
    CHECK(escape_control("\x9B" "31m") == "\\x9b31m");                      // a raw 8-bit CSI
    CHECK(escape_control("cut \xE6\x97") == "cut \\xe6\\x97");              // a character cut short
    CHECK(escape_control("\xC0\xAF") == "\\xc0\\xaf");                      // overlong '/'
    CHECK(escape_control("\xE0\x80\xAF") == "\\xe0\\x80\\xaf");             // overlong, three bytes
    CHECK(escape_control("\xED\xA0\x80") == "\\xed\\xa0\\x80");             // a surrogate
    CHECK(escape_control("\xF4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");    // past U+10FFFF
    CHECK(escape_control("\xF5\x80") == "\\xf5\\x80");
    CHECK(escape_control("\xC3") == "\\xc3");                               // at the very end
    CHECK(escape_control("\xC3\x28") == "\\xc3(");
}

TEST_CASE("escape_control: escaping twice changes nothing more (views and log lines may both escape)") {
    for (std::string_view text : {"a\x1b[2J\x07", "\xC2\x9B\xFF\n\t", "plain", "\xE6\x97\xA5\xE6"}) {
        auto once = escape_control(text);
        CHECK(escape_control(once) == once);
    }
}

TEST_CASE("escape_control: control characters, C1, bidi overrides and bytes that are not UTF-8 are made visible") {
    CHECK(escape_control("plain text, é and ✓ stay") == "plain text, é and ✓ stay");
    CHECK(escape_control("back\\slash stays") == "back\\slash stays");
    CHECK(escape_control("a\nb\rc\td") == "a\\nb\\rc\\td");
    CHECK(escape_control("\x1b[31mred\x07") == "\\x1b[31mred\\x07");
    CHECK(escape_control(std::string_view("nul\0x", 5)) == "nul\\x00x");
    CHECK(escape_control("del\x7f") == "del\\x7f");
    CHECK(escape_control("c1 \xc2\x9b" "31m") == "c1 \\u009b31m");       // U+009B CSI
    CHECK(escape_control("rtl \xe2\x80\xae" "gnp.exe") == "rtl \\u202egnp.exe");  // U+202E
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
