// DNS numbers dnsctl uses (IANA registries): RR types, classes and RCODEs.
#pragma once

#include <cstdint>

namespace dnsctl {

namespace rrtype {
inline constexpr std::uint16_t kA = 1;
inline constexpr std::uint16_t kNs = 2;
inline constexpr std::uint16_t kCname = 5;
inline constexpr std::uint16_t kSoa = 6;
inline constexpr std::uint16_t kTxt = 16;
inline constexpr std::uint16_t kAaaa = 28;
inline constexpr std::uint16_t kOpt = 41;
inline constexpr std::uint16_t kDs = 43;
inline constexpr std::uint16_t kRrsig = 46;
inline constexpr std::uint16_t kNsec = 47;
inline constexpr std::uint16_t kDnskey = 48;
inline constexpr std::uint16_t kNsec3 = 50;
inline constexpr std::uint16_t kNsec3param = 51;
inline constexpr std::uint16_t kCds = 59;
inline constexpr std::uint16_t kCdnskey = 60;
}  // namespace rrtype

inline constexpr std::uint16_t kClassIn = 1;

// With EDNS0 an RCODE has 12 bits: the header's 4 and the OPT record's 8.
namespace rcode {
inline constexpr std::uint16_t kNoError = 0;
inline constexpr std::uint16_t kFormErr = 1;
inline constexpr std::uint16_t kServFail = 2;
inline constexpr std::uint16_t kNxDomain = 3;
inline constexpr std::uint16_t kNotImp = 4;
inline constexpr std::uint16_t kRefused = 5;
inline constexpr std::uint16_t kNotAuth = 9;
inline constexpr std::uint16_t kBadVers = 16;
}  // namespace rcode

}  // namespace dnsctl
