// parse_message on answers recorded from knotd (tests/data/dns) and on
// hostile bytes.
#include <catch2/catch.hpp>

#include <chrono>
#include <random>

#include "dns/message.hpp"
#include "dns_fixtures.hpp"

using namespace dnsctl;
using dnsctl::test::answer;
using dnsctl::test::answer_wire;

namespace {

DnsName name(const char* text) { return *DnsName::parse(text); }

std::vector<std::uint16_t> types(std::initializer_list<std::uint16_t> list) { return list; }

}  // namespace

TEST_CASE("parse_message: header, EDNS, question and a signed SOA from knotd") {
    auto m = answer("nsec-soa");
    CHECK(m.header.qr);
    CHECK(m.header.aa);
    CHECK_FALSE(m.header.tc);
    CHECK_FALSE(m.header.ad);
    CHECK(m.header.rcode == rcode::kNoError);
    CHECK(m.header.opcode == 0);
    REQUIRE(m.edns);
    CHECK(m.edns->udp_size == 1232);
    CHECK(m.edns->dnssec_ok);
    CHECK(m.edns->version == 0);

    REQUIRE(m.question.size() == 1);
    CHECK(m.question[0].name.text == "nsec.dnsctl.test.");
    CHECK(m.question[0].name.is(name("nsec.dnsctl.test")));
    CHECK(m.question[0].type == rrtype::kSoa);
    CHECK(m.question[0].klass == kClassIn);

    REQUIRE(m.answer.size() == 2);
    CHECK(m.authority.empty());
    CHECK(m.additional.empty());  // the OPT record is in m.edns
    const auto& soa_record = m.answer[0];
    CHECK(soa_record.owner.is(name("nsec.dnsctl.test")));
    CHECK(soa_record.type == rrtype::kSoa);
    CHECK(soa_record.ttl == 3600);
    const auto* soa = soa_record.soa();
    REQUIRE(soa);
    CHECK(soa->mname.is(name("ns1.nsec.dnsctl.test")));
    CHECK(soa->rname.text == "hostmaster.nsec.dnsctl.test.");
    CHECK(soa->serial == 2);
    CHECK(soa->refresh == 7200);
    CHECK(soa->retry == 900);
    CHECK(soa->expire == 1209600);
    CHECK(soa->minimum == 300);
    CHECK(soa_record.rdata() == "ns1.nsec.dnsctl.test. hostmaster.nsec.dnsctl.test. 2 7200 900 1209600 300");
    CHECK(soa_record.str() ==
          "nsec.dnsctl.test. 3600 IN SOA ns1.nsec.dnsctl.test. hostmaster.nsec.dnsctl.test. 2 7200 900 1209600 300");

    const auto* sig = m.answer[1].rrsig();
    REQUIRE(sig);
    CHECK(sig->type_covered == rrtype::kSoa);
    CHECK(sig->algorithm == 13);
    CHECK(sig->labels == 3);
    CHECK(sig->original_ttl == 3600);
    CHECK(sig->signer.is(name("nsec.dnsctl.test")));
    CHECK(sig->expiration - sig->inception == 14 * 86400 + 90 * 60);  // Knot: 14 days, from 90 minutes back
    CHECK(sig->signature.size() == 64);  // ECDSA P-256: r and s
    CHECK(m.rrset(DnsSection::answer, name("nsec.dnsctl.test"), rrtype::kSoa).size() == 1);
    CHECK(m.rrsigs(DnsSection::answer, name("nsec.dnsctl.test"), rrtype::kSoa).size() == 1);
    CHECK(m.rrsigs(DnsSection::answer, name("nsec.dnsctl.test"), rrtype::kNs).empty());
}

TEST_CASE("parse_message: NS targets in and out of the zone") {
    auto m = answer("nsec-ns");
    auto ns = m.rrset(DnsSection::answer, name("nsec.dnsctl.test"), rrtype::kNs);
    REQUIRE(ns.size() == 2);
    std::vector<std::string> targets;
    for (const auto& record : ns) targets.push_back(record.ns()->target.name.str());
    std::sort(targets.begin(), targets.end());
    CHECK(targets == std::vector<std::string>{"ns1.nsec.dnsctl.test", "ns2.dnsctl.example"});
}

TEST_CASE("parse_message: A and AAAA addresses") {
    auto a = answer("nsec-ns1-a");
    REQUIRE(a.answer.size() == 2);
    REQUIRE(a.answer[0].address());
    CHECK(a.answer[0].address()->address == *IpAddress::parse("127.0.0.1"));
    auto aaaa = answer("nsec-ns1-aaaa");
    REQUIRE(aaaa.answer[0].address());
    CHECK(aaaa.answer[0].address()->address == *IpAddress::parse("::1"));
    CHECK(aaaa.answer[0].address()->address.family() == AddressFamily::ipv6);
}

TEST_CASE("parse_message: DNSKEY flags, protocol, algorithm and key tags agree with keymgr") {
    auto m = answer("nsec-dnskey");
    auto keys = m.rrset(DnsSection::answer, name("nsec.dnsctl.test"), rrtype::kDnskey);
    REQUIRE(keys.size() == 2);
    auto ds = test::only(test::records_in("answers/ds.txt"), rrtype::kDs, "nsec.dnsctl.test.");
    REQUIRE_FALSE(ds.empty());
    int ksks = 0;
    int zsks = 0;
    for (const auto& record : keys) {
        const auto* key = record.dnskey();
        REQUIRE(key);
        CHECK(key->protocol == 3);
        CHECK(key->algorithm == 13);
        CHECK(key->public_key.size() == 64);
        CHECK(key->zone_key());
        CHECK_FALSE(key->revoked());
        if (key->ksk()) {
            ++ksks;
            CHECK(key->flags == 257);
            CHECK(key->secure_entry_point());
            CHECK(key->key_tag == ds[0].ds()->key_tag);  // keymgr's tag for the KSK
        } else {
            ++zsks;
            CHECK(key->flags == 256);
        }
    }
    CHECK(ksks == 1);
    CHECK(zsks == 1);
    // The ZSK signs the SOA: its tag is the RRSIG's.
    auto soa = answer("nsec-soa");
    auto zsk = std::find_if(keys.begin(), keys.end(), [](const DnsRecord& r) { return !r.dnskey()->ksk(); });
    CHECK(zsk->dnskey()->key_tag == soa.answer[1].rrsig()->key_tag);
}

TEST_CASE("parse_message: DS records from the parent match keymgr's") {
    auto m = answer("parent-ds-nsec");
    auto ds = m.rrset(DnsSection::answer, name("nsec.dnsctl.test"), rrtype::kDs);
    auto expected = test::only(test::records_in("answers/ds.txt"), rrtype::kDs, "nsec.dnsctl.test.");
    REQUIRE(ds.size() == 2);
    REQUIRE(expected.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
        REQUIRE(ds[i].ds());
        CHECK(ds[i].ds()->key_tag == expected[i].ds()->key_tag);
        CHECK(ds[i].ds()->algorithm == 13);
        CHECK(ds[i].ds()->digest_type == expected[i].ds()->digest_type);
        CHECK(ds[i].ds()->digest == expected[i].ds()->digest);
    }
    CHECK(ds[0].ds()->digest.size() == 32);  // SHA-256
    CHECK(ds[1].ds()->digest.size() == 48);  // SHA-384
    // Signed by the parent.
    CHECK(m.rrsigs(DnsSection::answer, name("nsec.dnsctl.test"), rrtype::kDs).at(0).rrsig()->signer.text ==
          "dnsctl.test.");
}

TEST_CASE("parse_message: TXT strings keep their bytes") {
    auto m = answer("nsec-txt");
    auto txt = m.rrset(DnsSection::answer, name("txt.nsec.dnsctl.test"), rrtype::kTxt);
    REQUIRE(txt.size() == 1);
    REQUIRE(txt[0].txt());
    CHECK(txt[0].txt()->strings ==
          std::vector<std::string>{"first string", "second \"quoted\" string", "semi;colon", "tab\tand\xff" "byte"});
}

TEST_CASE("parse_message: NSEC next name and type bitmap, wildcard owners without a DnsName") {
    auto m = answer("nsec-nxdomain");
    CHECK(m.header.rcode == rcode::kNxDomain);
    CHECK(m.answer.empty());
    auto nsec = m.rrset(DnsSection::authority, name("ns1.nsec.dnsctl.test"), rrtype::kNsec);
    REQUIRE(nsec.size() == 1);
    REQUIRE(nsec[0].nsec());
    CHECK(nsec[0].nsec()->next.is(name("sub.nsec.dnsctl.test")));
    CHECK(nsec[0].nsec()->types == types({rrtype::kA, rrtype::kAaaa, rrtype::kRrsig, rrtype::kNsec}));
    auto apex = m.rrset(DnsSection::authority, name("nsec.dnsctl.test"), rrtype::kNsec);
    REQUIRE(apex.size() == 1);
    CHECK(apex[0].nsec()->types == types({rrtype::kNs, rrtype::kSoa, rrtype::kRrsig, rrtype::kNsec, rrtype::kDnskey,
                                          rrtype::kCds, rrtype::kCdnskey}));

    auto wildcard = answer("nsec-wildcard");
    REQUIRE(wildcard.authority.size() == 2);
    const auto& owner = wildcard.authority[0].owner;
    CHECK(owner.text == "*.wild.nsec.dnsctl.test.");
    CHECK(owner.name.empty());
    // The expanded answer keeps the asked name; its RRSIG counts the wildcard's labels.
    CHECK(wildcard.answer[0].owner.is(name("a.wild.nsec.dnsctl.test")));
    CHECK(wildcard.answer[1].rrsig()->labels == 4);
}

TEST_CASE("parse_message: NSEC3 parameters and hashed next owner") {
    auto m = answer("nsec3-nxdomain");
    std::vector<const DnsRecord*> nsec3;
    for (const auto& record : m.authority) {
        if (record.type == rrtype::kNsec3) nsec3.push_back(&record);
    }
    REQUIRE(nsec3.size() >= 2);
    for (const auto* record : nsec3) {
        const auto* data = record->nsec3();
        REQUIRE(data);
        CHECK(data->hash_algorithm == 1);
        CHECK(data->flags == 0);
        CHECK(data->iterations == 1);
        CHECK(data->salt.size() == 4);
        CHECK(data->next_hashed.size() == 32);  // 20 bytes of SHA-1 in base32hex
        CHECK(data->next_hashed.find_first_not_of("0123456789abcdefghijklmnopqrstuv") == std::string::npos);
        CHECK(record->owner.text.size() == 32 + std::string(".nsec3.dnsctl.test.").size());
    }
    // An empty non-terminal has an NSEC3 with an empty type bitmap, and no salt is "-".
    auto empty = parse_record("0123456789abcdefghijklmnopqrstuv.example. 300 IN NSEC3 1 1 0 - "
                              "vutsrqponmlkjihgfedcba9876543210");
    REQUIRE(empty);
    REQUIRE(empty->nsec3());
    CHECK(empty->nsec3()->types.empty());
    CHECK(empty->nsec3()->salt.empty());
    CHECK(empty->nsec3()->flags == 1);  // opt-out
    CHECK(empty->nsec3()->next_hashed == "vutsrqponmlkjihgfedcba9876543210");

    auto param = answer("nsec3-nsec3param");
    auto records = param.rrset(DnsSection::answer, name("nsec3.dnsctl.test"), rrtype::kNsec3param);
    REQUIRE(records.size() == 1);
    REQUIRE(records[0].nsec3param());
    CHECK(records[0].nsec3param()->hash_algorithm == 1);
    CHECK(records[0].nsec3param()->iterations == 1);
    CHECK(records[0].nsec3param()->salt == nsec3[0]->nsec3()->salt);
}

TEST_CASE("parse_message: a truncated UDP answer and the full one over TCP") {
    auto udp = answer("nsec-big-udp");
    CHECK(udp.header.tc);
    CHECK(udp.answer.empty());
    CHECK(answer_wire("nsec-big-udp").size() <= 1232);
    auto tcp = answer("nsec-big-tcp");
    CHECK_FALSE(tcp.header.tc);
    CHECK(tcp.rrset(DnsSection::answer, name("big.nsec.dnsctl.test"), rrtype::kTxt).size() == 30);
    CHECK(answer_wire("nsec-big-tcp").size() > 1232);
}

TEST_CASE("parse_message: a referral has NS in authority and glue in additional, AA clear") {
    auto m = answer("nsec-referral");
    CHECK_FALSE(m.header.aa);
    CHECK(m.answer.empty());
    auto ns = m.rrset(DnsSection::authority, name("sub.nsec.dnsctl.test"), rrtype::kNs);
    REQUIRE(ns.size() == 1);
    CHECK(ns[0].ns()->target.is(name("ns.sub.nsec.dnsctl.test")));
    auto glue = m.rrset(DnsSection::additional, name("ns.sub.nsec.dnsctl.test"), rrtype::kA);
    REQUIRE(glue.size() == 1);
    CHECK(glue[0].address()->address == *IpAddress::parse("198.51.100.53"));
}

TEST_CASE("parse_message: a query built by ldns (drill)") {
    auto m = answer("ldns-query");
    CHECK_FALSE(m.header.qr);
    CHECK(m.header.rd);
    CHECK(m.answer.empty());
    REQUIRE(m.question.size() == 1);
    CHECK(m.question[0].name.is(name("www.nsec.dnsctl.test")));
    CHECK(m.question[0].type == rrtype::kAaaa);
    REQUIRE(m.edns);
    CHECK(m.edns->udp_size == 1232);
    CHECK(m.edns->dnssec_ok);
}

TEST_CASE("parse_message: the extended RCODE joins the OPT record's bits to the header's") {
    auto wire = answer_wire("nsec-soa");
    // The OPT record closes the message: name 0, type 41, class (UDP size), TTL (ext-rcode, version, flags), rdlen 0.
    const std::size_t opt = wire.size() - 11;
    REQUIRE(wire[opt] == 0);
    REQUIRE(wire[opt + 2] == 41);
    wire[opt + 5] = 1;  // extended RCODE bits: 1 << 4 = 16, BADVERS
    auto m = parse_message(wire);
    REQUIRE(m);
    CHECK(m->header.rcode == rcode::kBadVers);
    CHECK(rcode_name(m->header.rcode) == "BADVERS");
}

TEST_CASE("parse_message: what is not a DNS message is an invalid error") {
    std::vector<std::uint8_t> empty;
    CHECK(parse_message(empty).error().kind == ErrorKind::invalid);
    std::vector<std::uint8_t> short_header(11, 0);
    CHECK_FALSE(parse_message(short_header));
    // A header that promises one question, and no question.
    std::vector<std::uint8_t> missing{0x12, 0x34, 0x81, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0};
    CHECK_FALSE(parse_message(missing));
    // A question name that points at itself.
    std::vector<std::uint8_t> loop{0x12, 0x34, 0x81, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
    CHECK_FALSE(parse_message(loop));
    // The real answer cut short.
    auto wire = answer_wire("nsec-dnskey");
    wire.resize(wire.size() - 20);
    auto cut = parse_message(wire);
    REQUIRE_FALSE(cut);
    CHECK(cut.error().message.find("not a DNS message") != std::string::npos);
}

TEST_CASE("parse_message: random and mutated packets never crash it") {
    std::vector<std::vector<std::uint8_t>> seeds;
    for (const char* fixture : {"nsec-soa", "nsec-dnskey", "nsec-nxdomain", "nsec3-nxdomain", "nsec-txt",
                                "nsec-referral", "parent-ds-nsec", "nsec3-nsec3param", "nsec-big-tcp"}) {
        seeds.push_back(answer_wire(fixture));
    }
    std::mt19937 random(20261203);  // fixed: a failure reproduces
    auto below = [&](std::size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(random); };
    auto byte = [&] { return static_cast<std::uint8_t>(below(256)); };

    const auto start = std::chrono::steady_clock::now();
    int parsed = 0;
    int refused = 0;
    const int kCases = 12'000;
    for (int i = 0; i < kCases; ++i) {
        std::vector<std::uint8_t> packet;
        if (i % 4 == 0) {  // random bytes behind a plausible header
            packet.resize(12 + below(300));
            for (auto& b : packet) b = byte();
            packet[4] = 0;
            packet[5] = static_cast<std::uint8_t>(below(3));
            packet[6] = 0;
            packet[7] = static_cast<std::uint8_t>(below(4));
        } else {  // a real answer with a few bytes changed, cut, or a run repeated
            packet = seeds[below(seeds.size())];
            switch (below(3)) {
                case 0:
                    for (std::size_t n = 1 + below(4); n > 0; --n) packet[below(packet.size())] = byte();
                    break;
                case 1:
                    packet.resize(below(packet.size()));
                    packet.push_back(byte());
                    break;
                default: {
                    auto from = below(packet.size());
                    auto length = std::min<std::size_t>(1 + below(16), packet.size() - from);
                    std::vector<std::uint8_t> run(packet.begin() + static_cast<long>(from),
                                                  packet.begin() + static_cast<long>(from + length));
                    packet.insert(packet.begin() + static_cast<long>(below(packet.size())), run.begin(), run.end());
                }
            }
        }
        auto m = parse_message(packet);
        if (!m) {
            CHECK(m.error().kind == ErrorKind::invalid);
            ++refused;
            continue;
        }
        ++parsed;
        // Whatever parsed is usable: every record prints, wire forms parse again.
        for (const auto* section : {&m->answer, &m->authority, &m->additional}) {
            for (const auto& record : *section) {
                CHECK_FALSE(record.str().empty());
                auto again = parse_record_wire(record.wire);
                REQUIRE(again);
                CHECK(again->rdata() == record.rdata());
            }
        }
    }
    const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    INFO(parsed << " parsed, " << refused << " refused in " << elapsed << " s");
    CHECK(parsed + refused == kCases);
    CHECK(parsed > 1000);   // the mutations do not only produce garbage
    CHECK(refused > 1000);  // and not only valid messages
    WARN("fuzz: " << kCases << " packets (" << parsed << " parsed, " << refused << " refused) in " << elapsed << " s");
}

TEST_CASE("parse_record: presentation form, as keymgr and ldns-signzone print it") {
    auto ds = parse_record("nsec.dnsctl.test. DS 53629 13 2 7fbf8217b8969add463bb3355ef28f73dd55a903d14a391ec249bfb4080c77b3");
    REQUIRE(ds);
    CHECK(ds->owner.is(name("nsec.dnsctl.test")));
    CHECK(ds->ttl == 3600);  // the default when none is given
    REQUIRE(ds->ds());
    CHECK(ds->ds()->key_tag == 53629);
    CHECK(ds->ds()->digest_type == 2);
    CHECK(ds->ds()->digest.front() == 0x7f);
    auto again = parse_record_wire(ds->wire);
    REQUIRE(again);
    CHECK(again->str() == ds->str());

    CHECK(parse_record("not a record").error().kind == ErrorKind::invalid);
    CHECK_FALSE(parse_record("example. 3600 IN A 300.1.1.1"));
    CHECK_FALSE(parse_record_wire(std::vector<std::uint8_t>{0, 0, 1}));
}

TEST_CASE("parse_message: records of unknown types keep their rdata, without typed fields") {
    auto record = parse_record("example. 60 IN TYPE65280 \\# 3 010203");
    REQUIRE(record);
    CHECK(record->type == 65280);
    CHECK(std::holds_alternative<std::monostate>(record->data));
    CHECK(type_name(record->type) == "TYPE65280");
    CHECK(type_name(rrtype::kDnskey) == "DNSKEY");
    CHECK(rcode_name(rcode::kNxDomain) == "NXDOMAIN");
    CHECK(rcode_name(13) == "RCODE13");
}

TEST_CASE("parse_wire_name and to_wire_name: presentation forms") {
    CHECK(parse_wire_name("Example.COM")->text == "example.com.");
    CHECK(parse_wire_name("Example.COM")->is(name("example.com")));
    CHECK(parse_wire_name(".")->text == ".");
    CHECK(parse_wire_name(".")->name.empty());
    CHECK(to_wire_name(name("ns1.example.eu")).text == "ns1.example.eu.");
    CHECK(to_wire_name(DnsName()).text == ".");
}
