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

}  // namespace dnsctl
