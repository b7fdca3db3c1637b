// Bounds on a JSON answer before it is parsed (DESIGN §10b: every input is
// hostile until checked). nlohmann's parser is iterative, but copying or
// dumping a parsed value recurses once per nesting level, so a body of a few
// hundred kilobytes nested a hundred thousand levels deep would overflow the
// stack; and a body of tiny values ("[0,0,0,…]") grows about tenfold once
// parsed. A linear scan refuses both before nlohmann sees the text.
#pragma once

#include <cstddef>
#include <string_view>

#include "core/error.hpp"

namespace dnsctl {

struct JsonLimits {
    int max_depth = 64;  // PVE's answers nest four levels at most
    // Arrays, objects and list/member separators: about 16 per guest of a
    // cluster listing, so room for some 15,000 guests. Parsed, each costs up
    // to about 64 bytes, and a cluster's reads run concurrently.
    std::size_t max_values = 250'000;
};

// `invalid` with "nests deeper than 64 levels" or "holds more than 250000
// values" when the text exceeds a limit; fine otherwise (whether the text is
// valid JSON is the parser's business).
Result<void> check_json_limits(std::string_view text, const JsonLimits& limits = {});

}  // namespace dnsctl
