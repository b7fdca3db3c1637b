#include "dns/ldns_support.hpp"  // first: <stdbool.h> before ldns

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "dns/message.hpp"

namespace dnsctl {

namespace {

std::string rdf_text(const ldns_rdf* rdf) {
    if (rdf == nullptr) return {};
    ldns::CString text(ldns_rdf2str(rdf));
    return text ? std::string(text.get()) : std::string();
}

// A name's presentation form, lower case: the labels of the rdf (ldns keeps
// names uncompressed there), escaped as RFC 1035 §5.1 says. ldns_rdf2str
// would do it with a 64 KiB buffer per name, most of parse_message's time.
std::string dname_text(const ldns_rdf* dname) {
    if (dname == nullptr || ldns_rdf_get_type(dname) != LDNS_RDF_TYPE_DNAME) return {};
    const std::uint8_t* data = ldns_rdf_data(dname);
    const std::size_t size = ldns_rdf_size(dname);
    std::string out;
    out.reserve(size + 1);
    std::size_t pos = 0;
    while (pos < size && data[pos] != 0) {
        const std::size_t length = data[pos++];
        for (std::size_t i = 0; i < length && pos + i < size; ++i) {
            auto c = static_cast<unsigned char>(data[pos + i]);
            if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
            if (c == '.' || c == ';' || c == '(' || c == ')' || c == '\\' || c == '"') {
                out += '\\';
                out += static_cast<char>(c);
            } else if (c < 0x21 || c > 0x7e) {
                out += fmt::format("\\{:03}", c);
            } else {
                out += static_cast<char>(c);
            }
        }
        out += '.';
        pos += length;
    }
    return out.empty() ? "." : out;
}

// The fields of typed rdata, read with their sizes checked: ldns accepts
// records whose rdata holds fewer (or odd-sized) fields than the type says.
class Fields {
public:
    explicit Fields(const ldns_rr* rr) : rr_(rr) {}

    [[nodiscard]] bool ok() const { return ok_; }
    [[nodiscard]] std::size_t count() const { return ldns_rr_rd_count(rr_); }

    const ldns_rdf* rdf(std::size_t i, std::size_t size = 0) {
        const ldns_rdf* field = i < count() ? ldns_rr_rdf(rr_, i) : nullptr;
        if (field == nullptr || (size != 0 && ldns_rdf_size(field) != size)) {
            ok_ = false;
            return nullptr;
        }
        return field;
    }
    std::uint8_t u8(std::size_t i) {
        auto* f = rdf(i, 1);
        return f ? ldns_rdf_data(f)[0] : 0;
    }
    std::uint16_t u16(std::size_t i) {
        auto* f = rdf(i, 2);
        return f ? static_cast<std::uint16_t>(ldns_rdf_data(f)[0] << 8 | ldns_rdf_data(f)[1]) : 0;
    }
    std::uint32_t u32(std::size_t i) {
        auto* f = rdf(i, 4);
        if (f == nullptr) return 0;
        const auto* d = ldns_rdf_data(f);
        return static_cast<std::uint32_t>(d[0]) << 24 | static_cast<std::uint32_t>(d[1]) << 16 |
               static_cast<std::uint32_t>(d[2]) << 8 | d[3];
    }
    WireName name(std::size_t i) {
        auto* f = rdf(i);
        if (f == nullptr || ldns_rdf_get_type(f) != LDNS_RDF_TYPE_DNAME) {
            ok_ = false;
            return {};
        }
        return ldns::to_wire_name(f);
    }
    std::vector<std::uint8_t> bytes(std::size_t i) {
        auto* f = rdf(i);
        if (f == nullptr) return {};
        return {ldns_rdf_data(f), ldns_rdf_data(f) + ldns_rdf_size(f)};
    }
    // A length-prefixed field (NSEC3 salt and next hashed owner, TXT strings).
    std::vector<std::uint8_t> counted(std::size_t i) {
        auto raw = bytes(i);
        if (!ok_ || raw.empty() || raw[0] != raw.size() - 1) {
            ok_ = false;
            return {};
        }
        raw.erase(raw.begin());
        return raw;
    }
    // An RFC 4034 §4.1.2 type bitmap: window blocks of (window, length, bits).
    // An empty bitmap (an empty non-terminal's NSEC3) leaves no field at all.
    std::vector<std::uint16_t> types(std::size_t i) {
        if (i == count()) return {};
        auto raw = bytes(i);
        std::vector<std::uint16_t> out;
        std::size_t pos = 0;
        int last_window = -1;
        while (ok_ && pos < raw.size()) {
            if (pos + 2 > raw.size()) break;
            int window = raw[pos];
            std::size_t length = raw[pos + 1];
            if (window <= last_window || length == 0 || length > 32 || pos + 2 + length > raw.size()) break;
            for (std::size_t byte = 0; byte < length; ++byte) {
                for (int bit = 0; bit < 8; ++bit) {
                    if ((raw[pos + 2 + byte] & (0x80 >> bit)) != 0) {
                        out.push_back(static_cast<std::uint16_t>(window * 256 + byte * 8 + bit));
                    }
                }
            }
            last_window = window;
            pos += 2 + length;
        }
        if (pos != raw.size()) ok_ = false;
        return out;
    }

private:
    const ldns_rr* rr_;
    bool ok_ = true;
};

std::string base32hex_lower(const std::vector<std::uint8_t>& data) {
    static constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuv";
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (auto byte : data) {
        buffer = (buffer << 8) | byte;
        bits += 8;
        while (bits >= 5) {
            out.push_back(kAlphabet[(buffer >> (bits - 5)) & 0x1f]);
            bits -= 5;
        }
    }
    if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 0x1f]);
    return out;
}

RecordData typed_data(const ldns_rr* rr, std::span<const std::uint8_t> rdata_wire) {
    Fields f(rr);
    RecordData out;
    switch (ldns_rr_get_type(rr)) {
        case rrtype::kSoa:
            out = SoaData{f.name(0), f.name(1), f.u32(2), f.u32(3), f.u32(4), f.u32(5), f.u32(6)};
            break;
        case rrtype::kNs:
        case rrtype::kCname:
            out = NsData{f.name(0)};
            break;
        case rrtype::kA:
        case rrtype::kAaaa: {
            bool v4 = ldns_rr_get_type(rr) == rrtype::kA;
            auto* field = f.rdf(0, v4 ? 4 : 16);
            if (field == nullptr) break;
            std::array<char, 64> text{};
            if (inet_ntop(v4 ? AF_INET : AF_INET6, ldns_rdf_data(field), text.data(), text.size()) == nullptr) {
                return {};
            }
            auto address = IpAddress::parse(text.data());
            if (!address) return {};
            out = AddressData{*address};
            break;
        }
        case rrtype::kDs:
        case rrtype::kCds:
            out = DsData{f.u16(0), f.u8(1), f.u8(2), f.bytes(3)};
            break;
        case rrtype::kDnskey:
        case rrtype::kCdnskey: {
            DnskeyData key{f.u16(0), f.u8(1), f.u8(2), 0, f.bytes(3)};
            key.key_tag = ldns_calc_keytag_raw(rdata_wire.data(), rdata_wire.size());
            out = std::move(key);
            break;
        }
        case rrtype::kRrsig:
            out = RrsigData{f.u16(0), f.u8(1), f.u8(2), f.u32(3), f.u32(4), f.u32(5), f.u16(6), f.name(7), f.bytes(8)};
            break;
        case rrtype::kNsec:
            out = NsecData{f.name(0), f.types(1)};
            if (f.count() > 2) return {};
            break;
        case rrtype::kNsec3:
            out = Nsec3Data{f.u8(0), f.u8(1), f.u16(2), f.counted(3), base32hex_lower(f.counted(4)), f.types(5)};
            if (f.count() > 6) return {};
            break;
        case rrtype::kNsec3param:
            out = Nsec3paramData{f.u8(0), f.u8(1), f.u16(2), f.counted(3)};
            break;
        case rrtype::kTxt: {
            TxtData txt;
            for (std::size_t i = 0; i < f.count() && f.ok(); ++i) {
                auto s = f.counted(i);
                txt.strings.emplace_back(s.begin(), s.end());
            }
            out = std::move(txt);
            break;
        }
        default:
            return {};
    }
    if (!f.ok()) return {};
    return out;
}

}  // namespace

namespace ldns {

WireName to_wire_name(const ldns_rdf* dname) {
    WireName out;
    out.text = dname_text(dname);
    if (out.text.find_first_of("\\*") == std::string::npos && out.text != ".") {
        if (auto name = DnsName::parse(out.text)) out.name = std::move(*name);
    }
    return out;
}

Result<DnsRecord> to_record(const ldns_rr* rr, ldns_buffer* scratch) {
    DnsRecord out;
    out.owner = to_wire_name(ldns_rr_owner(rr));
    out.type = ldns_rr_get_type(rr);
    out.klass = ldns_rr_get_class(rr);
    out.ttl = ldns_rr_ttl(rr);

    Buffer own;
    if (scratch == nullptr) {
        own.reset(ldns_buffer_new(512));  // grows when a record needs more
        scratch = own.get();
    }
    ldns_buffer_clear(scratch);
    auto status = scratch ? ldns_rr2buffer_wire(scratch, rr, LDNS_SECTION_ANSWER) : LDNS_STATUS_MEM_ERR;
    if (status != LDNS_STATUS_OK) {
        return fail(ErrorKind::invalid, fmt::format("record {}: {}", out.owner.text, status_text(status)));
    }
    const std::uint8_t* begin = ldns_buffer_begin(scratch);
    out.wire.assign(begin, begin + ldns_buffer_position(scratch));

    // The rdata starts after the owner and the 10 bytes of type, class, TTL, length.
    const std::size_t rdata_at = std::min(out.wire.size(), ldns_rdf_size(ldns_rr_owner(rr)) + 10);
    out.data = typed_data(rr, std::span<const std::uint8_t>(out.wire).subspan(rdata_at));
    return out;
}

Result<Rr> from_record(const DnsRecord& record) {
    ldns_rr* raw = nullptr;
    std::size_t pos = 0;
    auto status = ldns_wire2rr(&raw, record.wire.data(), record.wire.size(), &pos, LDNS_SECTION_ANSWER);
    Rr rr(raw);
    if (status != LDNS_STATUS_OK || pos != record.wire.size()) {
        return fail(ErrorKind::invalid, fmt::format("record {} {}: not in wire form", record.owner.text,
                                                    type_name(record.type)));
    }
    return rr;
}

}  // namespace ldns

std::string type_name(std::uint16_t type) {
    ldns::CString text(ldns_rr_type2str(static_cast<ldns_rr_type>(type)));
    return text ? std::string(text.get()) : fmt::format("TYPE{}", type);
}

std::string rcode_name(std::uint16_t code) {
    static constexpr std::array<const char*, 24> kNames{
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",   "REFUSED",  "YXDOMAIN",  "YXRRSET",
        "NXRRSET", "NOTAUTH", "NOTZONE",  "DSOTYPENI", "RCODE12", "RCODE13",  "RCODE14",   "RCODE15",
        "BADVERS", "BADKEY",  "BADTIME",  "BADMODE",  "BADNAME", "BADALG",   "BADTRUNC",  "BADCOOKIE"};
    if (code < kNames.size() && std::strncmp(kNames[code], "RCODE", 5) != 0) return kNames[code];
    return fmt::format("RCODE{}", code);
}

std::string DnsRecord::rdata() const {
    auto rr = ldns::from_record(*this);
    if (!rr) return {};
    std::string out;
    for (std::size_t i = 0; i < ldns_rr_rd_count(rr->get()); ++i) {
        if (i > 0) out += ' ';
        out += rdf_text(ldns_rr_rdf(rr->get(), i));
    }
    return out;
}

std::string DnsRecord::str() const {
    return fmt::format("{} {} {} {} {}", owner.text, ttl, klass == kClassIn ? "IN" : fmt::format("CLASS{}", klass),
                       type_name(type), rdata());
}

const std::vector<DnsRecord>& DnsMessage::section(DnsSection which) const {
    switch (which) {
        case DnsSection::answer:
            return answer;
        case DnsSection::authority:
            return authority;
        case DnsSection::additional:
            return additional;
    }
    return answer;
}

std::vector<DnsRecord> DnsMessage::rrset(DnsSection which, const WireName& owner, std::uint16_t type) const {
    std::vector<DnsRecord> out;
    for (const auto& record : section(which)) {
        if (record.type == type && record.owner.text == owner.text) out.push_back(record);
    }
    return out;
}

std::vector<DnsRecord> DnsMessage::rrset(DnsSection which, const DnsName& owner, std::uint16_t type) const {
    return rrset(which, to_wire_name(owner), type);
}

std::vector<DnsRecord> DnsMessage::rrsigs(DnsSection which, const WireName& owner, std::uint16_t type_covered) const {
    std::vector<DnsRecord> out;
    for (const auto& record : section(which)) {
        const auto* sig = record.rrsig();
        if (sig != nullptr && sig->type_covered == type_covered && record.owner.text == owner.text) {
            out.push_back(record);
        }
    }
    return out;
}

std::vector<DnsRecord> DnsMessage::rrsigs(DnsSection which, const DnsName& owner, std::uint16_t type_covered) const {
    return rrsigs(which, to_wire_name(owner), type_covered);
}

Result<DnsMessage> parse_message(std::span<const std::uint8_t> wire) {
    ldns_pkt* raw = nullptr;
    auto status = ldns_wire2pkt(&raw, wire.data(), wire.size());
    ldns::Pkt pkt(raw);
    if (status != LDNS_STATUS_OK || !pkt) {
        return fail(ErrorKind::invalid, fmt::format("not a DNS message ({} bytes): {}", wire.size(),
                                                    ldns::status_text(status)));
    }

    DnsMessage out;
    auto& h = out.header;
    h.id = ldns_pkt_id(pkt.get());
    h.opcode = static_cast<std::uint8_t>(ldns_pkt_get_opcode(pkt.get()));
    h.rcode = ldns_pkt_get_rcode(pkt.get());
    h.qr = ldns_pkt_qr(pkt.get());
    h.aa = ldns_pkt_aa(pkt.get());
    h.tc = ldns_pkt_tc(pkt.get());
    h.rd = ldns_pkt_rd(pkt.get());
    h.ra = ldns_pkt_ra(pkt.get());
    h.ad = ldns_pkt_ad(pkt.get());
    h.cd = ldns_pkt_cd(pkt.get());
    if (ldns_pkt_edns(pkt.get())) {
        out.edns = EdnsInfo{ldns_pkt_edns_udp_size(pkt.get()), ldns_pkt_edns_version(pkt.get()),
                            ldns_pkt_edns_do(pkt.get())};
        h.rcode = static_cast<std::uint16_t>(h.rcode | (ldns_pkt_edns_extended_rcode(pkt.get()) << 4));
    }

    const ldns_rr_list* questions = ldns_pkt_question(pkt.get());
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(questions); ++i) {
        const ldns_rr* q = ldns_rr_list_rr(questions, i);
        out.question.push_back(DnsQuestion{ldns::to_wire_name(ldns_rr_owner(q)), static_cast<std::uint16_t>(ldns_rr_get_type(q)),
                                           static_cast<std::uint16_t>(ldns_rr_get_class(q))});
    }

    ldns::Buffer scratch(ldns_buffer_new(4096));
    if (!scratch) return fail(ErrorKind::internal, "out of memory");
    auto convert = [&](const ldns_rr_list* list, std::vector<DnsRecord>& into) -> Result<void> {
        into.reserve(ldns_rr_list_rr_count(list));
        for (std::size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
            auto record = ldns::to_record(ldns_rr_list_rr(list, i), scratch.get());
            if (!record) return std::unexpected(record.error());
            into.push_back(std::move(*record));
        }
        return {};
    };
    if (auto done = convert(ldns_pkt_answer(pkt.get()), out.answer); !done) return std::unexpected(done.error());
    if (auto done = convert(ldns_pkt_authority(pkt.get()), out.authority); !done) return std::unexpected(done.error());
    if (auto done = convert(ldns_pkt_additional(pkt.get()), out.additional); !done) {
        return std::unexpected(done.error());
    }
    return out;
}

Result<DnsRecord> parse_record(std::string_view text) {
    std::string line(text);
    ldns_rr* raw = nullptr;
    auto status = ldns_rr_new_frm_str(&raw, line.c_str(), 3600, nullptr, nullptr);
    ldns::Rr rr(raw);
    if (status != LDNS_STATUS_OK || !rr) {
        return fail(ErrorKind::invalid, fmt::format("'{}' is not a DNS record: {}", text, ldns::status_text(status)));
    }
    return ldns::to_record(rr.get());
}

Result<DnsRecord> parse_record_wire(std::span<const std::uint8_t> wire) {
    ldns_rr* raw = nullptr;
    std::size_t pos = 0;
    auto status = ldns_wire2rr(&raw, wire.data(), wire.size(), &pos, LDNS_SECTION_ANSWER);
    ldns::Rr rr(raw);
    if (status != LDNS_STATUS_OK || !rr || pos != wire.size()) {
        return fail(ErrorKind::invalid, fmt::format("not one DNS record in wire form ({} bytes): {}", wire.size(),
                                                    ldns::status_text(status)));
    }
    return ldns::to_record(rr.get());
}

Result<WireName> parse_wire_name(std::string_view text) {
    std::string copy(text);
    ldns::Rdf rdf(ldns_dname_new_frm_str(copy.c_str()));
    if (!rdf) return fail(ErrorKind::invalid, fmt::format("'{}' is not a domain name", text));
    return ldns::to_wire_name(rdf.get());
}

WireName to_wire_name(const DnsName& name) {
    if (name.empty()) return WireName{".", {}};
    return WireName{name.fqdn(), name};
}

}  // namespace dnsctl
