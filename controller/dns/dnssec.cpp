#include "dns/ldns_support.hpp"  // first: <stdbool.h> before ldns

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "dns/dnssec.hpp"

namespace dnsctl {

namespace {

std::string utc(std::int64_t unix_seconds) {
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    if (gmtime_r(&t, &tm) == nullptr) return fmt::format("@{}", unix_seconds);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string span_text(std::int64_t seconds) {
    bool negative = seconds < 0;
    std::int64_t s = negative ? -seconds : seconds;
    std::string text = s >= 86400 ? fmt::format("{}d {}h", s / 86400, s % 86400 / 3600)
                       : s >= 3600 ? fmt::format("{}h {}m", s / 3600, s % 3600 / 60)
                                   : fmt::format("{}s", s);
    return negative ? "-" + text : text;
}

std::string rrset_label(const DnsRecord& first) { return fmt::format("{} {}", first.owner.text, type_name(first.type)); }

bool is_subdomain(const std::string& child, const std::string& parent) {  // both presentation form, lower case
    if (parent == ".") return true;
    if (child == parent) return true;
    return child.size() > parent.size() && child.ends_with(parent) && child[child.size() - parent.size() - 1] == '.';
}

// A list of ldns records rebuilt from DnsRecords (owned by the list).
Result<ldns::RrList> to_list(std::span<const DnsRecord* const> records) {
    ldns::RrList list(ldns_rr_list_new());
    for (const auto* record : records) {
        auto rr = ldns::from_record(*record);
        if (!rr) return std::unexpected(rr.error());
        if (!ldns_rr_list_push_rr(list.get(), rr->get())) return fail(ErrorKind::internal, "out of memory");
        (void)rr->release();
    }
    return list;
}

Result<ldns::RrList> to_list(std::span<const DnsRecord> records) {
    std::vector<const DnsRecord*> pointers;
    for (const auto& record : records) pointers.push_back(&record);
    return to_list(pointers);
}

// How close a failed signature came to validating: the reason of the best
// candidate wins.
int rank(std::string_view reason) {
    if (reason == "SignatureExpired" || reason == "SignatureNotYetValid") return 5;
    if (reason == "BogusSignature") return 4;
    if (reason == "UnsupportedAlgorithm") return 3;
    if (reason == "KeyNotFound") return 2;
    return 1;
}

SignatureCheck judged(const RrsigData& sig, std::int64_t now) {
    SignatureCheck out;
    out.key_tag = sig.key_tag;
    out.algorithm = sig.algorithm;
    out.inception = rrsig_time(sig.inception, now);
    out.expiration = rrsig_time(sig.expiration, now);
    out.seconds_left = out.expiration - now;
    return out;
}

// NODATA with NSEC3 (RFC 5155 §8.5, and §8.7 for a wildcard): an NSEC3 owned
// by the hash of the name (or of the wildcard at its closest encloser)
// without the type or CNAME in its bitmap. Done here because
// ldns_dnssec_verify_denial_nsec3 leaks the hashed name on this path (1.8.3).
ldns_status nsec3_nodata(const ldns_rr* query, const ldns_rr_list* nsec3s, std::uint16_t qtype) {
    const ldns_rr* first = ldns_rr_list_rr(nsec3s, 0);
    ldns::Rdf zone(ldns_dname_left_chop(ldns_rr_owner(first)));
    if (!zone) return LDNS_STATUS_DNSSEC_NSEC_RR_NOT_COVERED;
    // 1: an NSEC3 owns the name and proves the type absent; 0: it owns the
    // name and lists the type; -1: no NSEC3 owns it.
    auto judge = [&](const ldns_rdf* name) {
        ldns::Rdf hashed(ldns_nsec3_hash_name_frm_nsec3(first, name));
        if (!hashed || ldns_dname_cat(hashed.get(), zone.get()) != LDNS_STATUS_OK) return -1;
        for (std::size_t i = 0; i < ldns_rr_list_rr_count(nsec3s); ++i) {
            const ldns_rr* nsec3 = ldns_rr_list_rr(nsec3s, i);
            if (ldns_dname_compare(hashed.get(), ldns_rr_owner(nsec3)) != 0) continue;
            const ldns_rdf* bitmap = ldns_nsec3_bitmap(nsec3);
            return !ldns_nsec_bitmap_covers_type(bitmap, static_cast<ldns_rr_type>(qtype)) &&
                           !ldns_nsec_bitmap_covers_type(bitmap, LDNS_RR_TYPE_CNAME)
                       ? 1
                       : 0;
        }
        return -1;
    };
    const int direct = judge(ldns_rr_owner(query));
    if (direct >= 0) return direct == 1 ? LDNS_STATUS_OK : LDNS_STATUS_DNSSEC_NSEC_RR_NOT_COVERED;
    ldns::Rdf encloser(
        ldns_dnssec_nsec3_closest_encloser(ldns_rr_owner(query), static_cast<ldns_rr_type>(qtype), nsec3s));
    ldns::Rdf wildcard(ldns_dname_new_frm_str("*"));
    if (!encloser || !wildcard || ldns_dname_cat(wildcard.get(), encloser.get()) != LDNS_STATUS_OK) {
        return LDNS_STATUS_DNSSEC_NSEC_RR_NOT_COVERED;
    }
    return judge(wildcard.get()) == 1 ? LDNS_STATUS_OK : LDNS_STATUS_DNSSEC_NSEC_WILDCARD_NOT_COVERED;
}

}  // namespace

std::int64_t rrsig_time(std::uint32_t value, std::int64_t now) {
    auto delta = static_cast<std::int32_t>(value - static_cast<std::uint32_t>(now));
    return now + delta;
}

SignatureCheck verify_rrset(std::span<const DnsRecord> rrset, std::span<const DnsRecord> rrsigs,
                            std::span<const DnsRecord> dnskeys, std::int64_t now) {
    SignatureCheck invalid;
    invalid.reason = "InvalidRrset";
    if (rrset.empty()) {
        invalid.message = "no records to verify";
        return invalid;
    }
    const auto& first = rrset.front();
    const std::string label = rrset_label(first);
    for (const auto& record : rrset) {
        if (record.owner.text != first.owner.text || record.type != first.type || record.klass != first.klass) {
            invalid.message = fmt::format("{}: the records to verify are not one RRset ({})", label, record.str());
            return invalid;
        }
    }
    auto rrset_list = to_list(rrset);
    if (!rrset_list) {
        invalid.message = fmt::format("{}: {}", label, rrset_list.error().message);
        return invalid;
    }

    // RFC 4034 §3.1.3: the label count leaves out the root and a leading "*".
    const ldns_rdf* owner_rdf = ldns_rr_owner(ldns_rr_list_rr(rrset_list->get(), 0));
    const auto owner_labels =
        static_cast<int>(ldns_dname_label_count(owner_rdf)) - (first.owner.text.starts_with("*.") ? 1 : 0);

    std::optional<SignatureCheck> best_valid;
    SignatureCheck best_failure;
    best_failure.reason = "NoSignature";
    best_failure.message = fmt::format("{}: no RRSIG over it", label);
    auto consider_failure = [&](SignatureCheck candidate) {
        if (rank(candidate.reason) > rank(best_failure.reason)) best_failure = std::move(candidate);
    };

    for (const auto& sig_record : rrsigs) {
        const RrsigData* sig = sig_record.rrsig();
        if (sig == nullptr || sig->type_covered != first.type || sig_record.owner.text != first.owner.text) continue;
        SignatureCheck candidate = judged(*sig, now);
        std::string who = fmt::format("{}: RRSIG by key {} (algorithm {}) of {}", label, sig->key_tag,
                                      sig->algorithm, sig->signer.text);

        if (!is_subdomain(first.owner.text, sig->signer.text) || sig->labels > owner_labels) {
            candidate.reason = "BogusSignature";
            candidate.message = fmt::format("{}: the signer or label count does not fit the owner", who);
            consider_failure(std::move(candidate));
            continue;
        }
        std::vector<const DnsRecord*> keys;
        for (const auto& key_record : dnskeys) {
            const DnskeyData* key = key_record.dnskey();
            if (key == nullptr || key_record.type != rrtype::kDnskey) continue;
            if (key_record.owner.text != sig->signer.text || !key->zone_key() || key->protocol != 3) continue;
            if (key->key_tag != sig->key_tag || key->algorithm != sig->algorithm) continue;
            keys.push_back(&key_record);
        }
        if (keys.empty()) {
            candidate.reason = "KeyNotFound";
            candidate.message = fmt::format("{}: no such zone key in the DNSKEY RRset of {}", who, sig->signer.text);
            consider_failure(std::move(candidate));
            continue;
        }
        auto key_list = to_list(keys);
        auto sig_rr = ldns::from_record(sig_record);
        if (!key_list || !sig_rr) {
            candidate.reason = "BogusSignature";
            candidate.message = fmt::format("{}: not in wire form", who);
            consider_failure(std::move(candidate));
            continue;
        }
        ldns::RrRefs good(ldns_rr_list_new());
        auto status = ldns_verify_rrsig_keylist_notime(rrset_list->get(), sig_rr->get(), key_list->get(), good.get());
        if (status == LDNS_STATUS_CRYPTO_UNKNOWN_ALGO || status == LDNS_STATUS_CRYPTO_ALGO_NOT_IMPL) {
            candidate.reason = "UnsupportedAlgorithm";
            candidate.message = fmt::format("{}: algorithm not supported", who);
            consider_failure(std::move(candidate));
            continue;
        }
        if (status != LDNS_STATUS_OK) {
            candidate.reason = "BogusSignature";
            candidate.message = fmt::format("{}: does not verify ({})", who, ldns::status_text(status));
            consider_failure(std::move(candidate));
            continue;
        }
        std::string window =
            fmt::format("valid from {} to {}", utc(candidate.inception), utc(candidate.expiration));
        if (now < candidate.inception) {
            candidate.reason = "SignatureNotYetValid";
            candidate.message = fmt::format("{}: not yet valid at {} ({})", who, utc(now), window);
            consider_failure(std::move(candidate));
            continue;
        }
        if (now > candidate.expiration) {
            candidate.reason = "SignatureExpired";
            candidate.message = fmt::format("{}: expired {} ago at {} ({})", who, span_text(-candidate.seconds_left),
                                            utc(now), window);
            consider_failure(std::move(candidate));
            continue;
        }
        candidate.status = DnssecStatus::pass;
        candidate.reason = "SignatureValid";
        candidate.message = fmt::format("{}: {}, {} left", who, window, span_text(candidate.seconds_left));
        if (!best_valid || candidate.expiration > best_valid->expiration) best_valid = std::move(candidate);
    }
    return best_valid ? *best_valid : best_failure;
}

SignatureCheck verify_rrset(const DnsMessage& answer, DnsSection section, const DnsName& owner, std::uint16_t type,
                            std::span<const DnsRecord> dnskeys, std::int64_t now) {
    auto records = answer.rrset(section, owner, type);
    if (records.empty()) {
        SignatureCheck out;
        out.reason = "InvalidRrset";
        out.message = fmt::format("{} {}: not in the answer", to_wire_name(owner).text, type_name(type));
        return out;
    }
    return verify_rrset(records, answer.rrsigs(section, owner, type), dnskeys, now);
}

Result<DnsRecord> compute_ds(const DnsRecord& dnskey, std::uint8_t digest_type) {
    ldns_hash hash{};
    switch (digest_type) {
        case 1:
            hash = LDNS_SHA1;
            break;
        case 2:
            hash = LDNS_SHA256;
            break;
        case 4:
            hash = LDNS_SHA384;
            break;
        default:
            return fail(ErrorKind::invalid, fmt::format("DS digest type {} is not supported", digest_type));
    }
    if (dnskey.type != rrtype::kDnskey || dnskey.dnskey() == nullptr) {
        return fail(ErrorKind::invalid, fmt::format("{} is not a DNSKEY", dnskey.str()));
    }
    auto key = ldns::from_record(dnskey);
    if (!key) return std::unexpected(key.error());
    ldns::Rr ds(ldns_key_rr2ds(key->get(), hash));
    if (!ds) return fail(ErrorKind::invalid, fmt::format("no DS for {}", dnskey.str()));
    return ldns::to_record(ds.get());
}

DsCheck match_ds(std::span<const DnsRecord> ds_rrset, std::span<const DnsRecord> dnskeys) {
    DsCheck out;
    std::vector<const DnsRecord*> ds_records;
    for (const auto& record : ds_rrset) {
        if (record.ds() != nullptr && record.type == rrtype::kDs) ds_records.push_back(&record);
    }
    std::vector<const DnsRecord*> ksks;
    for (const auto& record : dnskeys) {
        if (record.type == rrtype::kDnskey && record.dnskey() != nullptr && record.dnskey()->ksk()) {
            ksks.push_back(&record);
        }
    }
    if (ds_records.empty()) {
        out.reason = "NoDs";
        out.message = "no DS records";
        return out;
    }
    const std::string& zone = ds_records.front()->owner.text;
    if (ksks.empty()) {
        out.reason = "NoKsk";
        out.message = fmt::format("{}: the DNSKEY RRset holds no KSK (flags 257)", zone);
        return out;
    }

    int supported = 0;
    std::vector<std::string> matched_text;
    for (const auto* ds_record : ds_records) {
        const DsData& ds = *ds_record->ds();
        bool matched = false;
        if (ds.digest_type == 1 || ds.digest_type == 2 || ds.digest_type == 4) {
            ++supported;
            for (const auto* key_record : ksks) {
                const DnskeyData& key = *key_record->dnskey();
                if (key_record->owner.text != ds_record->owner.text || key.key_tag != ds.key_tag ||
                    key.algorithm != ds.algorithm) {
                    continue;
                }
                auto computed = compute_ds(*key_record, ds.digest_type);
                if (computed && computed->ds() != nullptr && computed->ds()->digest == ds.digest) {
                    matched = true;
                    if (std::find_if(out.matched_keys.begin(), out.matched_keys.end(), [&](const DnsRecord& r) {
                            return r.wire == key_record->wire;
                        }) == out.matched_keys.end()) {
                        out.matched_keys.push_back(*key_record);
                        matched_text.push_back(fmt::format("{} (algorithm {})", key.key_tag, key.algorithm));
                    }
                }
            }
        }
        if (!matched) out.unmatched_ds_tags.push_back(ds.key_tag);
    }

    std::vector<std::string> ksk_tags;
    for (const auto* key_record : ksks) ksk_tags.push_back(std::to_string(key_record->dnskey()->key_tag));
    std::vector<std::string> ds_tags;
    for (const auto* ds_record : ds_records) {
        ds_tags.push_back(fmt::format("{}/{}/{}", ds_record->ds()->key_tag, ds_record->ds()->algorithm,
                                      ds_record->ds()->digest_type));
    }
    if (!out.matched_keys.empty()) {
        out.status = DnssecStatus::pass;
        out.reason = "DsMatches";
        out.message = fmt::format("{}: DS matches KSK {}", zone, fmt::join(matched_text, ", "));
    } else if (supported == 0) {
        out.reason = "UnsupportedDigest";
        out.message = fmt::format("{}: no DS with a digest type dnsctl can compute (tag/alg/digest: {})", zone,
                                  fmt::join(ds_tags, " "));
    } else {
        out.reason = "DsMismatch";
        out.message = fmt::format("{}: no DS (tag/alg/digest: {}) matches a KSK of the DNSKEY RRset (tags: {})", zone,
                                  fmt::join(ds_tags, " "), fmt::join(ksk_tags, " "));
    }
    return out;
}

DenialCheck check_denial(const DnsMessage& answer, const DnsName& qname, std::uint16_t qtype,
                         std::span<const DnsRecord> dnskeys, std::int64_t now) {
    DenialCheck out;
    const WireName name = to_wire_name(qname);
    const std::string question = fmt::format("{} {}", name.text, type_name(qtype));

    const std::uint16_t code = answer.header.rcode;
    if (code != rcode::kNxDomain && code != rcode::kNoError) {
        out.reason = "UnexpectedRcode";
        out.message = fmt::format("{}: answered {}, not NXDOMAIN or NODATA", question, rcode_name(code));
        return out;
    }
    bool nodata = code == rcode::kNoError;
    if (nodata) {
        for (const auto& record : answer.answer) {
            if (record.type != rrtype::kRrsig) {
                out.reason = "NameExists";
                out.message = fmt::format("{}: answered with data ({})", question, record.str());
                return out;
            }
        }
    }

    std::vector<const DnsRecord*> nsecs;
    std::vector<const DnsRecord*> nsec3s;
    std::vector<const DnsRecord*> sigs;
    for (const auto& record : answer.authority) {
        if (record.type == rrtype::kNsec && record.nsec() != nullptr) nsecs.push_back(&record);
        if (record.type == rrtype::kNsec3 && record.nsec3() != nullptr) nsec3s.push_back(&record);
        if (record.type == rrtype::kRrsig && record.rrsig() != nullptr) sigs.push_back(&record);
    }
    if (nsecs.empty() && nsec3s.empty()) {
        out.reason = "DenialMissing";
        out.message = fmt::format("{}: {} without NSEC or NSEC3 records", question, nodata ? "NODATA" : "NXDOMAIN");
        return out;
    }
    out.kind = nsecs.empty() ? DenialKind::nsec3 : DenialKind::nsec;
    const auto& proof = nsecs.empty() ? nsec3s : nsecs;

    ldns::Rdf owner(ldns_dname_new_frm_str(name.text.c_str()));
    ldns::Rr query(ldns_rr_new());
    if (!owner || !query) {
        out.reason = "DenialNotCovered";
        out.message = fmt::format("{}: not a name", question);
        return out;
    }
    ldns_rr_set_owner(query.get(), owner.release());
    ldns_rr_set_type(query.get(), static_cast<ldns_rr_type>(qtype));
    ldns_rr_set_class(query.get(), LDNS_RR_CLASS_IN);

    auto proof_list = to_list(proof);
    auto sig_list = to_list(sigs);
    if (!proof_list || !sig_list) {
        out.reason = "DenialNotCovered";
        out.message = fmt::format("{}: the proof is not in wire form", question);
        return out;
    }

    ldns_status status = LDNS_STATUS_OK;
    std::string kind_text = out.kind == DenialKind::nsec ? "NSEC" : "NSEC3";
    if (out.kind == DenialKind::nsec) {
        // NXDOMAIN: an NSEC owned by the name itself says the name exists.
        if (!nodata) {
            for (const auto* record : nsecs) {
                if (record->owner.text == name.text) status = LDNS_STATUS_DNSSEC_NSEC_RR_NOT_COVERED;
            }
        }
        if (status == LDNS_STATUS_OK) status = ldns_dnssec_verify_denial(query.get(), proof_list->get(), sig_list->get());
    } else {
        const Nsec3Data& params = *nsec3s.front()->nsec3();
        for (const auto* record : nsec3s) {
            const Nsec3Data& n = *record->nsec3();
            if (n.hash_algorithm != 1) {
                out.reason = "Nsec3UnsupportedHash";
                out.message = fmt::format("{}: NSEC3 hash algorithm {} (only 1, SHA-1, exists)", question,
                                          n.hash_algorithm);
                return out;
            }
            if (n.iterations > kMaxNsec3Iterations) {
                out.reason = "Nsec3IterationsTooHigh";
                out.message = fmt::format("{}: NSEC3 with {} iterations (more than {})", question, n.iterations,
                                          kMaxNsec3Iterations);
                return out;
            }
            if (n.iterations != params.iterations || n.salt != params.salt) {
                out.reason = "DenialNotCovered";
                out.message = fmt::format("{}: NSEC3 records with different parameters", question);
                return out;
            }
        }
        status = nodata ? nsec3_nodata(query.get(), proof_list->get(), qtype)
                        : ldns_dnssec_verify_denial_nsec3(query.get(), proof_list->get(), sig_list->get(),
                                                          static_cast<ldns_pkt_rcode>(code),
                                                          static_cast<ldns_rr_type>(qtype), nodata);
    }
    if (status == LDNS_STATUS_DNSSEC_NSEC_WILDCARD_NOT_COVERED) {
        out.reason = "DenialWildcardNotCovered";
        out.message = fmt::format("{}: the {} records do not prove that no wildcard answers it", question, kind_text);
        return out;
    }
    if (status != LDNS_STATUS_OK) {
        out.reason = "DenialNotCovered";
        out.message = fmt::format("{}: the {} records do not prove the {} ({})", question, kind_text,
                                  nodata ? "missing type" : "missing name", ldns::status_text(status));
        return out;
    }

    // Every record of the proof must be signed by the zone.
    std::optional<SignatureCheck> weakest;
    std::vector<DnsRecord> authority_sigs;
    for (const auto* sig : sigs) authority_sigs.push_back(*sig);
    for (const auto* record : proof) {
        auto check = verify_rrset(std::span<const DnsRecord>(record, 1), authority_sigs, dnskeys, now);
        if (!check.ok()) {
            out.reason = check.reason;
            out.message = fmt::format("{}: the {} proof holds but its signature fails: {}", question, kind_text,
                                      check.message);
            out.signatures = std::move(check);
            return out;
        }
        if (!weakest || check.seconds_left < weakest->seconds_left) weakest = std::move(check);
    }
    out.status = DnssecStatus::pass;
    out.reason = "DenialValid";
    out.message = fmt::format("{}: {} proven by {} ({} records), signatures with {} left", question,
                              nodata ? "NODATA" : "NXDOMAIN", kind_text, proof.size(),
                              span_text(weakest ? weakest->seconds_left : 0));
    out.signatures = weakest.value_or(SignatureCheck{});
    return out;
}

}  // namespace dnsctl
