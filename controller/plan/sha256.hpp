// SHA-256 for plan bookkeeping: the config stamp written into a VM's
// description and the observed-state digests of a saved plan. OpenSSL EVP
// stays in sha256.cpp.
#pragma once

#include <string>
#include <string_view>

namespace dnsctl {

// Lower-case hex of SHA-256(data): 64 characters.
std::string sha256_hex(std::string_view data);

}  // namespace dnsctl
