// The DNSSEC checks the verifier's conditions need, on records already parsed
// (dns/message.hpp): RRSIGs over an RRset against a DNSKEY RRset, DS against
// the KSKs, and NSEC/NSEC3 denial of existence. Pure: the time is a parameter
// (Unix seconds), never the wall clock. ldns does the cryptography and the
// NSEC3 hashing inside dnssec.cpp.
//
// Results are data: a status, a reason (a stable CamelCase word the verifier
// passes on), a message for people, and the figures behind them.
//
// Reasons:
//   verify_rrset  SignatureValid, SignatureExpired, SignatureNotYetValid,
//                 NoSignature, KeyNotFound, BogusSignature,
//                 UnsupportedAlgorithm, InvalidRrset
//   match_ds      DsMatches, DsMismatch, NoDs, NoKsk, UnsupportedDigest
//   check_denial  DenialValid, DenialMissing, DenialNotCovered,
//                 DenialWildcardNotCovered, NameExists, UnexpectedRcode,
//                 Nsec3UnsupportedHash, Nsec3IterationsTooHigh, and the
//                 verify_rrset reasons when the signatures over the proof fail
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/types.hpp"
#include "dns/message.hpp"

namespace dnsctl {

enum class DnssecStatus { pass, fail };

// RFC 4034 §3.1.5: RRSIG times are 32-bit serial numbers; this is the Unix
// time nearest `now` that the 32-bit value stands for.
std::int64_t rrsig_time(std::uint32_t value, std::int64_t now);

struct SignatureCheck {
    DnssecStatus status = DnssecStatus::fail;
    std::string reason;
    std::string message;
    // The signature the reason is about: when valid, the one that expires
    // last; otherwise the one that came closest (time window before crypto
    // before key). Zero when there was none.
    std::uint16_t key_tag = 0;
    std::uint8_t algorithm = 0;
    std::int64_t inception = 0;     // Unix seconds
    std::int64_t expiration = 0;    // Unix seconds
    std::int64_t seconds_left = 0;  // expiration - now; negative once expired

    [[nodiscard]] bool ok() const { return status == DnssecStatus::pass; }
};

// Does one of `rrsigs` (RRSIG records; those over other owners or types are
// ignored) validate `rrset` (records of one owner, type and class) with a key
// of `dnskeys` (a DNSKEY RRset; zone keys whose owner is the signer) at `now`?
SignatureCheck verify_rrset(std::span<const DnsRecord> rrset, std::span<const DnsRecord> rrsigs,
                            std::span<const DnsRecord> dnskeys, std::int64_t now);
// The same for the RRset owner/type in one section of an answer, with the
// RRSIGs from that section.
SignatureCheck verify_rrset(const DnsMessage& answer, DnsSection section, const DnsName& owner, std::uint16_t type,
                            std::span<const DnsRecord> dnskeys, std::int64_t now);

// The DS record of a DNSKEY for digest type 1 (SHA-1), 2 (SHA-256) or 4
// (SHA-384). ErrorKind::invalid for another digest type or a record that is
// not a DNSKEY.
Result<DnsRecord> compute_ds(const DnsRecord& dnskey, std::uint8_t digest_type);

struct DsCheck {
    DnssecStatus status = DnssecStatus::fail;
    std::string reason;
    std::string message;
    std::vector<DnsRecord> matched_keys;  // the KSKs a DS matches (verify the DNSKEY RRset with these)
    std::vector<std::uint16_t> unmatched_ds_tags;  // DS records that match no KSK (normal during a rollover)
};

// Does a DS of `ds_rrset` match a KSK (flags 257) of `dnskeys` (same owner,
// key tag, algorithm and digest)?
DsCheck match_ds(std::span<const DnsRecord> ds_rrset, std::span<const DnsRecord> dnskeys);

enum class DenialKind { none, nsec, nsec3 };

struct DenialCheck {
    DnssecStatus status = DnssecStatus::fail;
    std::string reason;
    std::string message;
    DenialKind kind = DenialKind::none;
    // When the proof holds: the weakest signature over its records (the one
    // with the fewest seconds left); when a signature fails: that one.
    SignatureCheck signatures;

    [[nodiscard]] bool ok() const { return status == DnssecStatus::pass; }
};

// NSEC3 proofs with more iterations than this are refused (RFC 9276 §3.2
// lets validators treat them as insecure; each one costs a hash per label).
inline constexpr std::uint16_t kMaxNsec3Iterations = 150;

// Does `answer` (NXDOMAIN, or NOERROR without the data: NODATA) prove with the
// NSEC or NSEC3 records of its authority section, signed by `dnskeys`, that
// `qname`/`qtype` does not exist at `now`?
//
// NSEC proofs are judged by ldns_dnssec_verify_denial, which looks for the
// wildcard at *.<qname's parent>: exact for a name one label below the
// closest encloser (the verifier asks for a random label under the apex),
// weaker for deeper names. NSEC3 proofs of NXDOMAIN find the closest encloser
// (RFC 5155 §8.3, §8.4) with ldns_dnssec_verify_denial_nsec3; NODATA (§8.5,
// §8.7) is judged with ldns's NSEC3 hashing and closest-encloser functions.
DenialCheck check_denial(const DnsMessage& answer, const DnsName& qname, std::uint16_t qtype,
                         std::span<const DnsRecord> dnskeys, std::int64_t now);

}  // namespace dnsctl
