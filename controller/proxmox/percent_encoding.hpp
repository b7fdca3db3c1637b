// Percent-encoding as PVE needs it (pure functions).
//
// PVE decodes form bodies and query strings once. `sshkeys` is special: the
// server wants the value itself percent-encoded (it checks it against
// ^[-%a-zA-Z0-9_.!~*'()]*$ and stores it encoded), so on the wire it is
// encoded twice: once by encode_sshkeys, once by form_encode.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace dnsctl {

// RFC 3986: every byte outside A-Za-z0-9 - _ . ~ becomes %XX (upper-case hex);
// a space is %20, never '+'.
std::string percent_encode(std::string_view text);

// Reverses percent_encode (and any other %XX encoding). A '+' stays a '+'.
// A '%' not followed by two hex digits is invalid.
Result<std::string> percent_decode(std::string_view text);

// The value of the `sshkeys` config key: one public key per line, encoded
// with percent_encode (newline = %0A). decode_sshkeys reads the stored form.
std::string encode_sshkeys(std::string_view keys);
Result<std::string> decode_sshkeys(std::string_view stored);

// application/x-www-form-urlencoded body or query string, in the given order:
// name=value pairs joined with '&', both sides percent_encode'd.
using FormFields = std::vector<std::pair<std::string, std::string>>;
std::string form_encode(const FormFields& fields);

// One path segment: characters RFC 3986 allows in a segment (unreserved,
// sub-delims, ':' and '@') stay literal, everything else becomes %XX. A UPID
// such as UPID:pve1:…:qmclone:9000:dnsctl@pve!ctl: therefore goes into the
// path raw, as PVE clients send it.
std::string encode_path_segment(std::string_view segment);

}  // namespace dnsctl
