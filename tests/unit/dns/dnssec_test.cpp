// The DNSSEC checks on answers recorded from a knotd that signed the zones
// itself, and on a zone signed by ldns-signzone (tests/data/dns). `now` is the
// recording time (or a time derived from the signatures), never the clock.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <array>
#include <random>

#include "dns/dnssec.hpp"
#include "dns_fixtures.hpp"

using namespace dnsctl;
using dnsctl::test::answer;

namespace {

DnsName name(const char* text) { return *DnsName::parse(text); }

std::vector<DnsRecord> keys_of(const char* fixture, const char* zone) {
    return answer(fixture).rrset(DnsSection::answer, name(zone), rrtype::kDnskey);
}

// The record with a byte of its rdata changed (parsed again from the bytes).
DnsRecord tampered(const DnsRecord& record, std::size_t from_end = 1) {
    auto wire = record.wire;
    wire[wire.size() - from_end] ^= 0x01;
    return *parse_record_wire(wire);
}

// The message without the records of `type` owned by `owner` in the authority section.
DnsMessage without(DnsMessage m, std::uint16_t type, const std::string& owner) {
    std::erase_if(m.authority, [&](const DnsRecord& r) {
        bool covers = r.type == rrtype::kRrsig && r.rrsig()->type_covered == type;
        return (r.type == type || covers) && r.owner.text == owner;
    });
    return m;
}

}  // namespace

TEST_CASE("rrsig_time: 32-bit signature times read nearest to now (RFC 4034 serial arithmetic)") {
    CHECK(rrsig_time(1'700'000'000U, 1'700'000'100) == 1'700'000'000);
    // After 2106 the 32-bit value wraps; it still means the time near now.
    const std::int64_t later = 4'294'967'296LL + 1000;
    CHECK(rrsig_time(2000U, later) == later + 1000);
    CHECK(rrsig_time(4'294'967'000U, later) == 4'294'967'000LL);
}

TEST_CASE("verify_rrset: knotd's signature over SOA is valid at the recording time, with its window") {
    const auto now = test::recorded_at();
    auto keys = keys_of("nsec-dnskey", "nsec.dnsctl.test");
    auto soa = answer("nsec-soa");
    auto check = verify_rrset(soa, DnsSection::answer, name("nsec.dnsctl.test"), rrtype::kSoa, keys, now);
    INFO(check.message);
    CHECK(check.ok());
    CHECK(check.reason == "SignatureValid");
    const auto* sig = soa.answer[1].rrsig();
    CHECK(check.key_tag == sig->key_tag);
    CHECK(check.algorithm == 13);
    CHECK(check.inception == sig->inception);
    CHECK(check.expiration == sig->expiration);
    CHECK(check.seconds_left == check.expiration - now);
    CHECK(check.seconds_left > 13 * 86400);  // Knot signs for 14 days
    CHECK(check.message.find("nsec.dnsctl.test. SOA") != std::string::npos);
    CHECK(check.message.find("left") != std::string::npos);
}

TEST_CASE("verify_rrset: every signed RRset knotd served validates") {
    const auto now = test::recorded_at();
    auto nsec_keys = keys_of("nsec-dnskey", "nsec.dnsctl.test");
    auto nsec3_keys = keys_of("nsec3-dnskey", "nsec3.dnsctl.test");
    auto parent_keys = keys_of("parent-dnskey", "dnsctl.test");
    struct Case {
        const char* fixture;
        const char* owner;
        std::uint16_t type;
        const std::vector<DnsRecord>* keys;
    };
    for (const auto& c : {Case{"nsec-dnskey", "nsec.dnsctl.test", rrtype::kDnskey, &nsec_keys},
                          Case{"nsec-ns", "nsec.dnsctl.test", rrtype::kNs, &nsec_keys},
                          Case{"nsec-ns1-a", "ns1.nsec.dnsctl.test", rrtype::kA, &nsec_keys},
                          Case{"nsec-ns1-aaaa", "ns1.nsec.dnsctl.test", rrtype::kAaaa, &nsec_keys},
                          Case{"nsec-txt", "txt.nsec.dnsctl.test", rrtype::kTxt, &nsec_keys},
                          Case{"nsec-big-tcp", "big.nsec.dnsctl.test", rrtype::kTxt, &nsec_keys},
                          Case{"nsec-wildcard", "a.wild.nsec.dnsctl.test", rrtype::kTxt, &nsec_keys},
                          Case{"nsec3-soa", "nsec3.dnsctl.test", rrtype::kSoa, &nsec3_keys},
                          Case{"nsec3-nsec3param", "nsec3.dnsctl.test", rrtype::kNsec3param, &nsec3_keys},
                          Case{"parent-ds-nsec", "nsec.dnsctl.test", rrtype::kDs, &parent_keys},
                          Case{"parent-dnskey", "dnsctl.test", rrtype::kDnskey, &parent_keys}}) {
        auto check = verify_rrset(answer(c.fixture), DnsSection::answer, name(c.owner), c.type, *c.keys, now);
        INFO(c.fixture << ": " << check.message);
        CHECK(check.reason == "SignatureValid");
    }
}

TEST_CASE("verify_rrset: past the expiration the signature is expired, before the inception not yet valid") {
    auto keys = keys_of("nsec-dnskey", "nsec.dnsctl.test");
    auto soa = answer("nsec-soa");
    const auto now = test::recorded_at();
    const auto expiration = rrsig_time(soa.answer[1].rrsig()->expiration, now);
    const auto inception = rrsig_time(soa.answer[1].rrsig()->inception, now);

    auto last = verify_rrset(soa, DnsSection::answer, name("nsec.dnsctl.test"), rrtype::kSoa, keys, expiration);
    CHECK(last.reason == "SignatureValid");
    CHECK(last.seconds_left == 0);

    auto expired = verify_rrset(soa, DnsSection::answer, name("nsec.dnsctl.test"), rrtype::kSoa, keys, expiration + 1);
    INFO(expired.message);
    CHECK_FALSE(expired.ok());
    CHECK(expired.reason == "SignatureExpired");
    CHECK(expired.seconds_left == -1);
    CHECK(expired.message.find("expired") != std::string::npos);

    auto early = verify_rrset(soa, DnsSection::answer, name("nsec.dnsctl.test"), rrtype::kSoa, keys, inception - 1);
    CHECK(early.reason == "SignatureNotYetValid");
}

TEST_CASE("verify_rrset: changed rdata or a changed signature is bogus") {
    const auto now = test::recorded_at();
    auto keys = keys_of("nsec-dnskey", "nsec.dnsctl.test");
    auto soa = answer("nsec-soa");
    const auto& soa_record = soa.answer[0];
    const auto& sig = soa.answer[1];

    std::vector<DnsRecord> changed_serial{tampered(soa_record, 17)};  // the serial's last byte: 2 -> 3
    REQUIRE(changed_serial[0].soa()->serial == 3);
    auto bogus = verify_rrset(changed_serial, std::vector<DnsRecord>{sig}, keys, now);
    INFO(bogus.message);
    CHECK(bogus.reason == "BogusSignature");
    CHECK_FALSE(bogus.ok());

    auto bad_sig = verify_rrset(std::vector<DnsRecord>{soa_record}, std::vector<DnsRecord>{tampered(sig)}, keys, now);
    CHECK(bad_sig.reason == "BogusSignature");

    // A tampered address in a real packet.
    auto wire = test::answer_wire("nsec-ns1-a");
    auto a = answer("nsec-ns1-a");
    const std::array<std::uint8_t, 4> loopback{127, 0, 0, 1};
    auto at = std::search(wire.begin(), wire.end(), loopback.begin(), loopback.end());
    REQUIRE(at != wire.end());
    at[3] = 2;
    auto changed = parse_message(wire);
    REQUIRE(changed);
    CHECK(changed->answer[0].address()->address == *IpAddress::parse("127.0.0.2"));
    CHECK(verify_rrset(*changed, DnsSection::answer, name("ns1.nsec.dnsctl.test"), rrtype::kA, keys, now).reason ==
          "BogusSignature");
}

TEST_CASE("verify_rrset: another zone's keys, no keys, no signature") {
    const auto now = test::recorded_at();
    auto soa = answer("nsec-soa");
    auto other_keys = keys_of("nsec3-dnskey", "nsec3.dnsctl.test");
    auto wrong = verify_rrset(soa, DnsSection::answer, name("nsec.dnsctl.test"), rrtype::kSoa, other_keys, now);
    INFO(wrong.message);
    CHECK(wrong.reason == "KeyNotFound");
    CHECK(verify_rrset(soa, DnsSection::answer, name("nsec.dnsctl.test"), rrtype::kSoa, {}, now).reason ==
          "KeyNotFound");

    // Only the KSK: the ZSK signed the SOA.
    auto keys = keys_of("nsec-dnskey", "nsec.dnsctl.test");
    std::erase_if(keys, [](const DnsRecord& r) { return !r.dnskey()->ksk(); });
    CHECK(verify_rrset(soa, DnsSection::answer, name("nsec.dnsctl.test"), rrtype::kSoa, keys, now).reason ==
          "KeyNotFound");

    auto unsigned_soa =
        verify_rrset(std::vector<DnsRecord>{soa.answer[0]}, {}, keys_of("nsec-dnskey", "nsec.dnsctl.test"), now);
    CHECK(unsigned_soa.reason == "NoSignature");
    CHECK(unsigned_soa.key_tag == 0);
    // An RRSIG over another type does not count.
    auto ns = answer("nsec-ns");
    auto ns_sig = ns.rrsigs(DnsSection::answer, name("nsec.dnsctl.test"), rrtype::kNs);
    CHECK(verify_rrset(std::vector<DnsRecord>{soa.answer[0]}, ns_sig, keys_of("nsec-dnskey", "nsec.dnsctl.test"), now)
              .reason == "NoSignature");
}

TEST_CASE("verify_rrset: the best signature wins: one valid among bogus ones is enough") {
    const auto now = test::recorded_at();
    auto keys = keys_of("nsec-dnskey", "nsec.dnsctl.test");
    auto soa = answer("nsec-soa");
    std::vector<DnsRecord> sigs{tampered(soa.answer[1]), soa.answer[1]};
    auto check = verify_rrset(std::vector<DnsRecord>{soa.answer[0]}, sigs, keys, now);
    CHECK(check.reason == "SignatureValid");
    // Expired beats bogus as the reason: it says what is closest to right.
    auto later = verify_rrset(std::vector<DnsRecord>{soa.answer[0]}, sigs, keys, check.expiration + 10);
    CHECK(later.reason == "SignatureExpired");
}

TEST_CASE("verify_rrset: records of several RRsets, or none, are refused") {
    auto soa = answer("nsec-soa");
    auto ns = answer("nsec-ns");
    std::vector<DnsRecord> mixed{soa.answer[0], ns.answer[0]};
    CHECK(verify_rrset(mixed, {}, {}, 0).reason == "InvalidRrset");
    CHECK(verify_rrset(std::vector<DnsRecord>{}, {}, {}, 0).reason == "InvalidRrset");
    CHECK(verify_rrset(soa, DnsSection::answer, name("nsec.dnsctl.test"), rrtype::kNs, {}, 0).reason ==
          "InvalidRrset");
}

TEST_CASE("verify_rrset: an algorithm ldns cannot verify") {
    auto key = parse_record("alg.test. 3600 IN DNSKEY 256 3 253 AwEAAaetidLzsKWUt4swWR8yu0wPHPiUi8LUsAD0QPWU+wzt89epO6tH");
    REQUIRE(key);
    auto rrset = parse_record("alg.test. 3600 IN A 198.51.100.1");
    auto sig = parse_record(fmt::format("alg.test. 3600 IN RRSIG A 253 2 3600 20300101000000 20200101000000 {} "
                                        "alg.test. AAAA",
                                        key->dnskey()->key_tag));
    REQUIRE(sig);
    auto check = verify_rrset(std::vector<DnsRecord>{*rrset}, std::vector<DnsRecord>{*sig},
                              std::vector<DnsRecord>{*key}, 1'800'000'000);
    INFO(check.message);
    CHECK(check.reason == "UnsupportedAlgorithm");
}

TEST_CASE("verify_rrset: a zone signed by ldns-signzone with RSASHA256, inside and after its window") {
    auto zone = test::records_in("answers/rsa.dnsctl.test.signed");
    auto keys = test::only(zone, rrtype::kDnskey);
    REQUIRE(keys.size() == 2);
    auto sigs = test::only(zone, rrtype::kRrsig);
    const std::int64_t inside = 1'738'368'000;  // 2025-02-01, inside 2025-01-01 … 2025-04-01
    for (auto [owner, type] : {std::pair{"rsa.dnsctl.test.", rrtype::kSoa}, std::pair{"rsa.dnsctl.test.", rrtype::kNs},
                               std::pair{"rsa.dnsctl.test.", rrtype::kDnskey},
                               std::pair{"www.rsa.dnsctl.test.", rrtype::kA}}) {
        auto check = verify_rrset(test::only(zone, type, owner), sigs, keys, inside);
        INFO(owner << " " << type << ": " << check.message);
        CHECK(check.reason == "SignatureValid");
        CHECK(check.algorithm == 8);
        CHECK(check.expiration == 1'743'465'600);  // 2025-04-01T00:00:00Z
    }
    CHECK(verify_rrset(test::only(zone, rrtype::kSoa), sigs, keys, 1'743'465'601).reason == "SignatureExpired");
}

TEST_CASE("compute_ds: SHA-256 and SHA-384 digests of the KSK equal keymgr's and ldns-key2ds's") {
    auto keys = keys_of("nsec-dnskey", "nsec.dnsctl.test");
    auto ksk = std::find_if(keys.begin(), keys.end(), [](const DnsRecord& r) { return r.dnskey()->ksk(); });
    REQUIRE(ksk != keys.end());
    auto expected = test::only(test::records_in("answers/ds.txt"), rrtype::kDs, "nsec.dnsctl.test.");
    REQUIRE(expected.size() == 2);
    for (const auto& ds : expected) {
        auto computed = compute_ds(*ksk, ds.ds()->digest_type);
        REQUIRE(computed);
        CHECK(computed->ds()->key_tag == ds.ds()->key_tag);
        CHECK(computed->ds()->algorithm == 13);
        CHECK(computed->ds()->digest == ds.ds()->digest);
    }

    auto zone = test::records_in("answers/rsa.dnsctl.test.signed");
    auto rsa_keys = test::only(zone, rrtype::kDnskey);
    auto rsa_ksk = std::find_if(rsa_keys.begin(), rsa_keys.end(), [](const DnsRecord& r) { return r.dnskey()->ksk(); });
    for (const auto& ds : test::records_in("answers/rsa-ds.txt")) {
        auto computed = compute_ds(*rsa_ksk, ds.ds()->digest_type);
        REQUIRE(computed);
        CHECK(computed->ds()->digest == ds.ds()->digest);
    }

    CHECK(compute_ds(*ksk, 3).error().kind == ErrorKind::invalid);
    CHECK_FALSE(compute_ds(answer("nsec-soa").answer[0], 2));
}

TEST_CASE("match_ds: the parent's DS matches the child's KSK, and that KSK signs the DNSKEY RRset") {
    const auto now = test::recorded_at();
    auto ds = answer("parent-ds-nsec").rrset(DnsSection::answer, name("nsec.dnsctl.test"), rrtype::kDs);
    auto dnskey = answer("nsec-dnskey");
    auto keys = dnskey.rrset(DnsSection::answer, name("nsec.dnsctl.test"), rrtype::kDnskey);
    auto check = match_ds(ds, keys);
    INFO(check.message);
    CHECK(check.status == DnssecStatus::pass);
    CHECK(check.reason == "DsMatches");
    REQUIRE(check.matched_keys.size() == 1);
    CHECK(check.matched_keys[0].dnskey()->ksk());
    CHECK(check.unmatched_ds_tags.empty());
    // The chain: the DNSKEY RRset verifies with the matched KSK alone.
    auto chain = verify_rrset(keys, dnskey.rrsigs(DnsSection::answer, name("nsec.dnsctl.test"), rrtype::kDnskey),
                              check.matched_keys, now);
    CHECK(chain.reason == "SignatureValid");
}

TEST_CASE("match_ds: a changed digest, another zone's DS, no DS, no KSK") {
    auto ds = answer("parent-ds-nsec").rrset(DnsSection::answer, name("nsec.dnsctl.test"), rrtype::kDs);
    auto keys = keys_of("nsec-dnskey", "nsec.dnsctl.test");

    std::vector<DnsRecord> changed;
    for (const auto& record : ds) changed.push_back(tampered(record));
    auto mismatch = match_ds(changed, keys);
    INFO(mismatch.message);
    CHECK(mismatch.status == DnssecStatus::fail);
    CHECK(mismatch.reason == "DsMismatch");
    CHECK(mismatch.unmatched_ds_tags.size() == 2);
    CHECK(mismatch.message.find("nsec.dnsctl.test.") != std::string::npos);

    auto other = answer("parent-ds-nsec3").rrset(DnsSection::answer, name("nsec3.dnsctl.test"), rrtype::kDs);
    CHECK(match_ds(other, keys).reason == "DsMismatch");

    // One DS left from a rollover does not spoil the match.
    auto with_stale = ds;
    with_stale.push_back(changed[0]);
    auto rollover = match_ds(with_stale, keys);
    CHECK(rollover.reason == "DsMatches");
    CHECK(rollover.unmatched_ds_tags.size() == 1);

    CHECK(match_ds({}, keys).reason == "NoDs");
    std::vector<DnsRecord> zsk_only = keys;
    std::erase_if(zsk_only, [](const DnsRecord& r) { return r.dnskey()->ksk(); });
    CHECK(match_ds(ds, zsk_only).reason == "NoKsk");

    auto gost = parse_record(fmt::format("nsec.dnsctl.test. 3600 IN DS {} 13 3 {}", ds[0].ds()->key_tag,
                                         std::string(64, 'a')));
    REQUIRE(gost);
    CHECK(match_ds(std::vector<DnsRecord>{*gost}, keys).reason == "UnsupportedDigest");
}

TEST_CASE("check_denial: knotd's NSEC proofs of NXDOMAIN and NODATA are valid") {
    const auto now = test::recorded_at();
    auto keys = keys_of("nsec-dnskey", "nsec.dnsctl.test");
    auto nx = check_denial(answer("nsec-nxdomain"), name("nx-7f3k.nsec.dnsctl.test"), rrtype::kA, keys, now);
    INFO(nx.message);
    CHECK(nx.ok());
    CHECK(nx.reason == "DenialValid");
    CHECK(nx.kind == DenialKind::nsec);
    CHECK(nx.signatures.reason == "SignatureValid");
    CHECK(nx.signatures.seconds_left > 13 * 86400);

    auto nodata = check_denial(answer("nsec-nodata"), name("www.nsec.dnsctl.test"), rrtype::kTxt, keys, now);
    INFO(nodata.message);
    CHECK(nodata.reason == "DenialValid");
}

TEST_CASE("check_denial: NSEC proofs that do not prove what is asked") {
    const auto now = test::recorded_at();
    auto keys = keys_of("nsec-dnskey", "nsec.dnsctl.test");
    auto nxdomain = answer("nsec-nxdomain");

    // Another name: "zzz" sorts after every NSEC of this answer.
    CHECK(check_denial(nxdomain, name("zzz.nsec.dnsctl.test"), rrtype::kA, keys, now).reason == "DenialNotCovered");
    // Without the apex NSEC nothing shows that *.nsec.dnsctl.test is absent.
    auto no_wildcard = without(nxdomain, rrtype::kNsec, "nsec.dnsctl.test.");
    CHECK(check_denial(no_wildcard, name("nx-7f3k.nsec.dnsctl.test"), rrtype::kA, keys, now).reason ==
          "DenialWildcardNotCovered");
    // Without any NSEC.
    auto bare = without(without(nxdomain, rrtype::kNsec, "nsec.dnsctl.test."), rrtype::kNsec, "ns1.nsec.dnsctl.test.");
    auto missing = check_denial(bare, name("nx-7f3k.nsec.dnsctl.test"), rrtype::kA, keys, now);
    CHECK(missing.reason == "DenialMissing");
    CHECK(missing.kind == DenialKind::none);
    // NODATA for a type the name has (www has A).
    CHECK(check_denial(answer("nsec-nodata"), name("www.nsec.dnsctl.test"), rrtype::kA, keys, now).reason ==
          "DenialNotCovered");
    // An NXDOMAIN whose NSEC is owned by the name: the name exists.
    auto exists = answer("nsec-nodata");
    exists.header.rcode = rcode::kNxDomain;
    CHECK(check_denial(exists, name("www.nsec.dnsctl.test"), rrtype::kTxt, keys, now).reason == "DenialNotCovered");
    // Data in the answer is no denial; nor is SERVFAIL.
    CHECK(check_denial(answer("nsec-soa"), name("nsec.dnsctl.test"), rrtype::kSoa, keys, now).reason == "NameExists");
    auto servfail = nxdomain;
    servfail.header.rcode = rcode::kServFail;
    CHECK(check_denial(servfail, name("nx-7f3k.nsec.dnsctl.test"), rrtype::kA, keys, now).reason ==
          "UnexpectedRcode");
}

TEST_CASE("check_denial: the signatures over the NSEC proof must hold") {
    const auto now = test::recorded_at();
    auto keys = keys_of("nsec-dnskey", "nsec.dnsctl.test");
    auto nxdomain = answer("nsec-nxdomain");
    auto valid = check_denial(nxdomain, name("nx-7f3k.nsec.dnsctl.test"), rrtype::kA, keys, now);
    REQUIRE(valid.ok());

    auto late = check_denial(nxdomain, name("nx-7f3k.nsec.dnsctl.test"), rrtype::kA, keys,
                             valid.signatures.expiration + 1);
    INFO(late.message);
    CHECK(late.reason == "SignatureExpired");
    CHECK(late.kind == DenialKind::nsec);
    CHECK(late.signatures.seconds_left == -1);

    auto other_keys = keys_of("nsec3-dnskey", "nsec3.dnsctl.test");
    CHECK(check_denial(nxdomain, name("nx-7f3k.nsec.dnsctl.test"), rrtype::kA, other_keys, now).reason ==
          "KeyNotFound");

    // The NSEC of ns1 with its type bitmap changed (the last byte: AAAA -> AAAA and one more type).
    auto changed = nxdomain;
    for (auto& record : changed.authority) {
        if (record.type == rrtype::kNsec && record.owner.text == "ns1.nsec.dnsctl.test.") record = tampered(record);
    }
    auto bogus = check_denial(changed, name("nx-7f3k.nsec.dnsctl.test"), rrtype::kA, keys, now);
    INFO(bogus.message);
    CHECK(bogus.reason == "BogusSignature");

    // The RRSIGs over the proof removed.
    auto unsigned_proof = nxdomain;
    std::erase_if(unsigned_proof.authority,
                  [](const DnsRecord& r) { return r.type == rrtype::kRrsig && r.rrsig()->type_covered == rrtype::kNsec; });
    CHECK(check_denial(unsigned_proof, name("nx-7f3k.nsec.dnsctl.test"), rrtype::kA, keys, now).reason ==
          "NoSignature");
}

TEST_CASE("check_denial: knotd's NSEC3 proofs of NXDOMAIN and NODATA are valid") {
    const auto now = test::recorded_at();
    auto keys = keys_of("nsec3-dnskey", "nsec3.dnsctl.test");
    auto nx = check_denial(answer("nsec3-nxdomain"), name("nx-7f3k.nsec3.dnsctl.test"), rrtype::kA, keys, now);
    INFO(nx.message);
    CHECK(nx.reason == "DenialValid");
    CHECK(nx.kind == DenialKind::nsec3);
    CHECK(nx.signatures.seconds_left > 13 * 86400);

    auto nodata = check_denial(answer("nsec3-nodata"), name("www.nsec3.dnsctl.test"), rrtype::kTxt, keys, now);
    INFO(nodata.message);
    CHECK(nodata.reason == "DenialValid");
    CHECK(nodata.kind == DenialKind::nsec3);
}

TEST_CASE("check_denial: NODATA from a wildcard, with NSEC and with NSEC3 (RFC 5155 8.7)") {
    const auto now = test::recorded_at();
    auto nsec_keys = keys_of("nsec-dnskey", "nsec.dnsctl.test");
    auto nsec = check_denial(answer("nsec-wildcard-nodata"), name("a.wild.nsec.dnsctl.test"), rrtype::kA, nsec_keys,
                             now);
    INFO(nsec.message);
    CHECK(nsec.reason == "DenialValid");

    auto keys = keys_of("nsec3-dnskey", "nsec3.dnsctl.test");
    auto m = answer("nsec3-wildcard-nodata");
    auto valid = check_denial(m, name("a.wild.nsec3.dnsctl.test"), rrtype::kA, keys, now);
    INFO(valid.message);
    CHECK(valid.reason == "DenialValid");
    CHECK(valid.kind == DenialKind::nsec3);
    // The wildcard has TXT: no NODATA for TXT.
    CHECK(check_denial(m, name("a.wild.nsec3.dnsctl.test"), rrtype::kTxt, keys, now).reason ==
          "DenialWildcardNotCovered");
    // Each of the three NSEC3 records (the wildcard's, the closest encloser's —
    // an empty non-terminal with an empty bitmap —, the one covering the next
    // closer name) is needed.
    std::vector<std::string> owners;
    bool empty_bitmap = false;
    for (const auto& r : m.authority) {
        if (r.type != rrtype::kNsec3) continue;
        owners.push_back(r.owner.text);
        if (r.nsec3()->types.empty()) empty_bitmap = true;
    }
    CHECK(owners.size() == 3);
    CHECK(empty_bitmap);
    for (const auto& owner : owners) {
        auto partial = check_denial(without(m, rrtype::kNsec3, owner), name("a.wild.nsec3.dnsctl.test"), rrtype::kA,
                                    keys, now);
        INFO(owner << ": " << partial.message);
        CHECK_FALSE(partial.ok());
    }
}

TEST_CASE("check_denial: NSEC3 proofs that do not prove what is asked, or cost too much") {
    const auto now = test::recorded_at();
    auto keys = keys_of("nsec3-dnskey", "nsec3.dnsctl.test");
    auto nxdomain = answer("nsec3-nxdomain");

    // Other names hash elsewhere: the proof's NSEC3 records cover some of them
    // by chance (the zone is small, its hash intervals wide), not the others.
    int not_proven = 0;
    for (int i = 0; i < 20; ++i) {
        auto other = check_denial(nxdomain, name(fmt::format("other-{}.nsec3.dnsctl.test", i).c_str()), rrtype::kA,
                                  keys, now);
        if (other.ok()) continue;
        ++not_proven;
        INFO(other.message);
        CHECK((other.reason == "DenialNotCovered" || other.reason == "DenialWildcardNotCovered"));
    }
    CHECK(not_proven > 0);

    // Each NSEC3 record is needed: without one of them the proof falls.
    std::vector<std::string> owners;
    for (const auto& r : nxdomain.authority) {
        if (r.type == rrtype::kNsec3) owners.push_back(r.owner.text);
    }
    REQUIRE(owners.size() >= 2);
    for (const auto& owner : owners) {
        auto partial = without(nxdomain, rrtype::kNsec3, owner);
        auto check = check_denial(partial, name("nx-7f3k.nsec3.dnsctl.test"), rrtype::kA, keys, now);
        INFO(owner << ": " << check.message);
        CHECK_FALSE(check.ok());
        CHECK((check.reason == "DenialNotCovered" || check.reason == "DenialWildcardNotCovered"));
    }

    // NODATA for a type www has.
    CHECK(check_denial(answer("nsec3-nodata"), name("www.nsec3.dnsctl.test"), rrtype::kA, keys, now).reason ==
          "DenialNotCovered");

    // Expired signatures over the proof.
    auto valid = check_denial(nxdomain, name("nx-7f3k.nsec3.dnsctl.test"), rrtype::kA, keys, now);
    CHECK(check_denial(nxdomain, name("nx-7f3k.nsec3.dnsctl.test"), rrtype::kA, keys, valid.signatures.expiration + 1)
              .reason == "SignatureExpired");

    // Iterations beyond the bound are refused before any hashing.
    auto costly = nxdomain;
    for (auto& record : costly.authority) {
        if (record.type != rrtype::kNsec3) continue;
        auto wire = record.wire;
        // The rdata starts after the owner (its wire length) and 10 bytes: hash, flags, iterations (2 bytes).
        std::size_t owner_length = 0;
        while (wire[owner_length] != 0) owner_length += wire[owner_length] + 1;
        owner_length += 1;
        wire[owner_length + 10 + 2] = 0x03;  // iterations 0x03xx > 150
        record = *parse_record_wire(wire);
        REQUIRE(record.nsec3()->iterations > kMaxNsec3Iterations);
    }
    CHECK(check_denial(costly, name("nx-7f3k.nsec3.dnsctl.test"), rrtype::kA, keys, now).reason ==
          "Nsec3IterationsTooHigh");
}

TEST_CASE("dnssec checks: mutated signed answers give a reason, never a crash") {
    const auto now = test::recorded_at();
    struct Seed {
        const char* fixture;
        const char* qname;
        std::uint16_t qtype;
        std::vector<DnsRecord> keys;
    };
    std::vector<Seed> seeds{
        {"nsec-nxdomain", "nx-7f3k.nsec.dnsctl.test", rrtype::kA, keys_of("nsec-dnskey", "nsec.dnsctl.test")},
        {"nsec-nodata", "www.nsec.dnsctl.test", rrtype::kTxt, keys_of("nsec-dnskey", "nsec.dnsctl.test")},
        {"nsec3-nxdomain", "nx-7f3k.nsec3.dnsctl.test", rrtype::kA, keys_of("nsec3-dnskey", "nsec3.dnsctl.test")},
        {"nsec3-nodata", "www.nsec3.dnsctl.test", rrtype::kTxt, keys_of("nsec3-dnskey", "nsec3.dnsctl.test")},
        {"nsec-dnskey", "nsec.dnsctl.test", rrtype::kDnskey, keys_of("nsec-dnskey", "nsec.dnsctl.test")},
    };
    std::mt19937 random(4034);
    auto below = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(random); };
    int valid = 0;
    int judged = 0;
    for (int i = 0; i < 3000; ++i) {
        const auto& seed = seeds[below(seeds.size())];
        auto wire = test::answer_wire(seed.fixture);
        for (std::size_t n = 1 + below(3); n > 0; --n) wire[12 + below(wire.size() - 12)] = static_cast<std::uint8_t>(below(256));
        auto m = parse_message(wire);
        if (!m) continue;
        ++judged;
        auto denial = check_denial(*m, name(seed.qname), seed.qtype, seed.keys, now);
        CHECK_FALSE(denial.reason.empty());
        CHECK_FALSE(denial.message.empty());
        if (denial.ok()) ++valid;
        for (const auto* section : {&m->answer, &m->authority}) {
            for (const auto& record : *section) {
                if (record.type == rrtype::kRrsig) continue;
                auto check = verify_rrset(std::vector<DnsRecord>{record}, *section, seed.keys, now);
                CHECK_FALSE(check.reason.empty());
            }
        }
        auto ds = match_ds(m->answer, m->answer);
        CHECK_FALSE(ds.reason.empty());
    }
    CHECK(judged > 500);
    CHECK(valid < judged);  // the mutations do break proofs
}
