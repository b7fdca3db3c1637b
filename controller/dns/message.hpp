// DNS messages in dnsctl's own types: what the verifier reads from an answer's
// wire form (header, question, the three sections as records with typed
// fields). Pure: parse_message is a function of the bytes. ldns does the wire
// work inside message.cpp; nothing of ldns shows here.
//
// Hostile input is expected: an answer that is not a well-formed DNS message
// is an ErrorKind::invalid error, never a crash. Records of types dnsctl does
// not know, or whose rdata ldns cannot split into the expected fields, still
// parse: they keep their rdata (wire and presentation forms) and carry no
// typed data.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/error.hpp"
#include "core/types.hpp"
#include "dns/rr_types.hpp"

namespace dnsctl {

// "A", "DNSKEY", "TYPE65534" (RFC 3597 for the unknown).
std::string type_name(std::uint16_t type);
// "NOERROR", "NXDOMAIN", "BADVERS", "RCODE23".
std::string rcode_name(std::uint16_t rcode);

// A domain name as it came off the wire: its presentation form (lower case,
// with the trailing dot, RFC 1035 escapes for odd bytes) and, when it is a
// host-style name, the same as a DnsName. The root, wildcards ("*.example.")
// and labels with other bytes have no DnsName (name.empty()).
struct WireName {
    std::string text;
    DnsName name;

    [[nodiscard]] bool is(const DnsName& other) const { return !name.empty() && name == other; }
    friend bool operator==(const WireName& a, const WireName& b) { return a.text == b.text; }
};

struct DnsHeader {
    std::uint16_t id = 0;
    std::uint8_t opcode = 0;
    std::uint16_t rcode = 0;  // 12 bits: the header's 4 and the OPT record's extended 8
    bool qr = false;
    bool aa = false;
    bool tc = false;
    bool rd = false;
    bool ra = false;
    bool ad = false;
    bool cd = false;
};

struct EdnsInfo {
    std::uint16_t udp_size = 0;
    std::uint8_t version = 0;
    bool dnssec_ok = false;
};

struct DnsQuestion {
    WireName name;
    std::uint16_t type = 0;
    std::uint16_t klass = kClassIn;
};

// Typed rdata, one struct per type the verifier reads.
struct SoaData {
    WireName mname;
    WireName rname;
    std::uint32_t serial = 0;
    std::uint32_t refresh = 0;
    std::uint32_t retry = 0;
    std::uint32_t expire = 0;
    std::uint32_t minimum = 0;
};
struct NsData {  // NS (and CNAME: the target)
    WireName target;
};
struct AddressData {  // A, AAAA
    IpAddress address;
};
struct DsData {  // DS, CDS
    std::uint16_t key_tag = 0;
    std::uint8_t algorithm = 0;
    std::uint8_t digest_type = 0;
    std::vector<std::uint8_t> digest;
};
struct DnskeyData {  // DNSKEY, CDNSKEY
    std::uint16_t flags = 0;
    std::uint8_t protocol = 0;
    std::uint8_t algorithm = 0;
    std::uint16_t key_tag = 0;  // RFC 4034 appendix B, computed
    std::vector<std::uint8_t> public_key;

    [[nodiscard]] bool zone_key() const { return (flags & 0x0100) != 0; }
    [[nodiscard]] bool secure_entry_point() const { return (flags & 0x0001) != 0; }
    [[nodiscard]] bool revoked() const { return (flags & 0x0080) != 0; }
    [[nodiscard]] bool ksk() const { return flags == 257; }  // zone key + SEP, not revoked
};
struct RrsigData {
    std::uint16_t type_covered = 0;
    std::uint8_t algorithm = 0;
    std::uint8_t labels = 0;
    std::uint32_t original_ttl = 0;
    std::uint32_t expiration = 0;  // RFC 4034 §3.1.5: 32-bit serial arithmetic seconds
    std::uint32_t inception = 0;
    std::uint16_t key_tag = 0;
    WireName signer;
    std::vector<std::uint8_t> signature;
};
struct NsecData {
    WireName next;
    std::vector<std::uint16_t> types;  // the type bitmap, ascending
};
struct Nsec3Data {
    std::uint8_t hash_algorithm = 0;
    std::uint8_t flags = 0;  // bit 0: opt-out
    std::uint16_t iterations = 0;
    std::vector<std::uint8_t> salt;
    std::string next_hashed;  // base32hex, lower case, as in the owner's first label
    std::vector<std::uint16_t> types;
};
struct Nsec3paramData {
    std::uint8_t hash_algorithm = 0;
    std::uint8_t flags = 0;
    std::uint16_t iterations = 0;
    std::vector<std::uint8_t> salt;
};
struct TxtData {
    std::vector<std::string> strings;  // raw bytes of each character-string
};

using RecordData = std::variant<std::monostate, SoaData, NsData, AddressData, DsData, DnskeyData, RrsigData,
                                NsecData, Nsec3Data, Nsec3paramData, TxtData>;

struct DnsRecord {
    WireName owner;
    std::uint16_t type = 0;
    std::uint16_t klass = kClassIn;
    std::uint32_t ttl = 0;
    std::vector<std::uint8_t> wire;  // the whole RR, uncompressed (the DNSSEC checks rebuild it from this)
    RecordData data;                 // typed fields, when the type is one of the above and well formed

    [[nodiscard]] const SoaData* soa() const { return std::get_if<SoaData>(&data); }
    [[nodiscard]] const NsData* ns() const { return std::get_if<NsData>(&data); }
    [[nodiscard]] const AddressData* address() const { return std::get_if<AddressData>(&data); }
    [[nodiscard]] const DsData* ds() const { return std::get_if<DsData>(&data); }
    [[nodiscard]] const DnskeyData* dnskey() const { return std::get_if<DnskeyData>(&data); }
    [[nodiscard]] const RrsigData* rrsig() const { return std::get_if<RrsigData>(&data); }
    [[nodiscard]] const NsecData* nsec() const { return std::get_if<NsecData>(&data); }
    [[nodiscard]] const Nsec3Data* nsec3() const { return std::get_if<Nsec3Data>(&data); }
    [[nodiscard]] const Nsec3paramData* nsec3param() const { return std::get_if<Nsec3paramData>(&data); }
    [[nodiscard]] const TxtData* txt() const { return std::get_if<TxtData>(&data); }

    // The rdata in presentation form ("ns1.example. hostmaster.example. 1 7200 …"),
    // made from the wire form when asked (parsing does not spend time on it).
    [[nodiscard]] std::string rdata() const;
    // "owner TTL CLASS TYPE rdata", one line.
    [[nodiscard]] std::string str() const;
};

enum class DnsSection { answer, authority, additional };

struct DnsMessage {
    DnsHeader header;
    std::optional<EdnsInfo> edns;
    std::vector<DnsQuestion> question;
    std::vector<DnsRecord> answer;
    std::vector<DnsRecord> authority;
    std::vector<DnsRecord> additional;  // without the OPT record (see edns)

    [[nodiscard]] const std::vector<DnsRecord>& section(DnsSection which) const;

    // The records of one RRset in a section: owner and type match (an RRSIG
    // RRset is asked for with rrsigs()).
    [[nodiscard]] std::vector<DnsRecord> rrset(DnsSection which, const WireName& owner, std::uint16_t type) const;
    [[nodiscard]] std::vector<DnsRecord> rrset(DnsSection which, const DnsName& owner, std::uint16_t type) const;
    // The RRSIGs in a section over owner/type.
    [[nodiscard]] std::vector<DnsRecord> rrsigs(DnsSection which, const WireName& owner,
                                                std::uint16_t type_covered) const;
    [[nodiscard]] std::vector<DnsRecord> rrsigs(DnsSection which, const DnsName& owner,
                                                std::uint16_t type_covered) const;
};

// The wire form of one answer. ErrorKind::invalid when it is not a DNS
// message (short, bad compression pointers, counts beyond the data, bad OPT…).
Result<DnsMessage> parse_message(std::span<const std::uint8_t> wire);

// One record in presentation form, as in a zone file ("example. 3600 IN DS
// 12345 13 2 ab…"), for DS records and keys given as text.
Result<DnsRecord> parse_record(std::string_view text);

// One record from its uncompressed wire form (DnsRecord::wire): a record
// stored or changed as bytes, parsed again.
Result<DnsRecord> parse_record_wire(std::span<const std::uint8_t> wire);

// The presentation form of a domain name given as text, in WireName form
// ("Example.COM" -> "example.com."). ErrorKind::invalid when it is not a name.
Result<WireName> parse_wire_name(std::string_view text);
WireName to_wire_name(const DnsName& name);

}  // namespace dnsctl
