// Recorded DNS answers (tests/data/dns, see its README): loaded as wire bytes
// or parsed messages, with the time they were recorded (the tests' `now`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dns/message.hpp"

namespace dnsctl::test {

// Hex bytes; text after ';' on a line is a comment (the format `drill -w` writes).
std::vector<std::uint8_t> parse_hex(std::string_view text);
// tests/data/dns/answers/NAME.hex
std::vector<std::uint8_t> answer_wire(std::string_view name);
DnsMessage answer(std::string_view name);
// tests/data/dns/answers/recorded-at
std::int64_t recorded_at();
// Every record of a file in presentation form (answers/ds.txt, a signed zone).
std::vector<DnsRecord> records_in(std::string_view file);
// The records of `records` with this type (and owner, when given).
std::vector<DnsRecord> only(const std::vector<DnsRecord>& records, std::uint16_t type, std::string_view owner = {});

}  // namespace dnsctl::test
