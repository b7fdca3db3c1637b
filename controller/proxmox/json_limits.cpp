#include "proxmox/json_limits.hpp"

#include <fmt/format.h>

namespace dnsctl {

Result<void> check_json_limits(std::string_view text, const JsonLimits& limits) {
    int depth = 0;
    std::size_t values = 1;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                ++i;  // the escaped character cannot end the string
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        switch (c) {
        case '"':
            in_string = true;
            break;
        case '[':
        case '{':
            if (++depth > limits.max_depth) {
                return fail(ErrorKind::invalid,
                            fmt::format("the JSON nests deeper than {} levels", limits.max_depth));
            }
            [[fallthrough]];
        case ',':
            if (++values > limits.max_values) {
                return fail(ErrorKind::invalid, fmt::format("the JSON holds more than {} values", limits.max_values));
            }
            break;
        case ']':
        case '}':
            if (depth > 0) --depth;
            break;
        default:
            break;
        }
    }
    return {};
}

}  // namespace dnsctl
