// Small text functions shared by the modules (pure).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dnsctl {

std::string to_lower(std::string_view text);                 // ASCII only
std::string_view trim(std::string_view text);                // spaces, tabs, CR, LF at both ends
std::vector<std::string_view> split_lines(std::string_view text);  // on '\n'; no trailing empty line
std::string join(const std::vector<std::string>& parts, std::string_view separator);
int hex_digit_value(char c);                                 // 0-15, or -1 when not a hex digit

// Text from outside (a file, an API answer) made safe to print on a terminal or
// in a log line: C0 controls and DEL become \n, \r, \t or \xNN; C1 controls
// (U+0080-U+009F, which terminals may read as ESC sequences), Unicode line
// separators and bidirectional overrides become \uNNNN; bytes that are not
// UTF-8 become \xNN. Everything else, the backslash included, is kept, so the
// result is valid UTF-8 of one line.
std::string escape_control(std::string_view text);
// The length of the longest prefix of `text` of at most `max_bytes` bytes that
// does not end inside a UTF-8 character.
std::size_t utf8_prefix(std::string_view text, std::size_t max_bytes);

}  // namespace dnsctl
