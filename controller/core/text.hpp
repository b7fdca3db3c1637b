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

// Text from the outside world (API reason phrases and messages, node and VM
// names, task logs, zone files) made safe for a terminal or a log line: every
// C0 control (\n, \r and \t included: one value never spans lines), DEL and
// every C1 control (U+0080-U+009F, as UTF-8) is shown as an escape — \n, \r,
// \t, \xNN for the other C0 controls and DEL, \u0080-\u009f for C1 — and
// each byte that is not part of well-formed UTF-8 (overlong forms, surrogates
// and code points past U+10FFFF included) as \xNN. Everything else, other
// scripts included, passes unchanged. For display only: backslashes are not
// doubled, so the result cannot be decoded back. Multi-line text is split into
// lines first and each line escaped.
std::string escape_control(std::string_view text);

}  // namespace dnsctl
