// ldns lives in this translation unit only: ldns 1.8.3 defines bool/true/false
// for C++ unless <stdbool.h> came first.
#include <stdbool.h>
#include <ldns/ldns.h>

#include "inventory/zone_file.hpp"

#include "core/input_file.hpp"
#include "core/text.hpp"
#include "inventory/limits.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace dnsctl {

namespace {

constexpr std::size_t kMaxProblems = 50;

struct RdfFree {
    void operator()(ldns_rdf* rdf) const { ldns_rdf_deep_free(rdf); }
};
struct RrFree {
    void operator()(ldns_rr* rr) const { ldns_rr_free(rr); }
};
struct FileClose {
    void operator()(FILE* file) const { std::fclose(file); }
};
using RdfPtr = std::unique_ptr<ldns_rdf, RdfFree>;
using RrPtr = std::unique_ptr<ldns_rr, RrFree>;
using FilePtr = std::unique_ptr<FILE, FileClose>;

std::string rdf_text(const ldns_rdf* rdf) {
    char* text = ldns_rdf2str(rdf);
    if (text == nullptr) return {};
    std::string out(text);
    std::free(text);
    return out;
}

bool same_name(const ldns_rdf* a, const ldns_rdf* b) { return ldns_dname_compare(a, b) == 0; }

bool in_zone(const ldns_rdf* owner, const ldns_rdf* apex) {
    return same_name(owner, apex) || ldns_dname_is_subdomain(owner, apex);
}

std::uint32_t rdf_u32(const ldns_rr* rr, std::size_t index) {
    const ldns_rdf* rdf = ldns_rr_rdf(rr, index);
    return rdf == nullptr ? 0 : ldns_rdf2native_int32(rdf);
}

class Reader {
public:
    Reader(const DnsName& origin, const std::string& text, ZoneFileReport& report)
        : origin_(origin), text_(text), report_(report) {
        line_starts_.push_back(0);
        for (std::size_t i = 0; i < text_.size(); ++i) {
            if (text_[i] == '\n') line_starts_.push_back(i + 1);
        }
    }

    // A problem of the record being read (at its start).
    void problem(std::string message) { problem(record_line_, record_column_, std::move(message)); }

    void problem(int line, int column, std::string message) {
        if (report_.problems.size() < kMaxProblems) report_.problems.push_back({line, column, std::move(message)});
    }

    void read(FILE* stream) {
        RdfPtr apex(ldns_dname_new_frm_str(origin_.fqdn().c_str()));
        if (!apex) {
            problem(1, 1, fmt::format("zone name {} cannot be used as an origin", origin_.str()));
            return;
        }
        ldns_rdf* origin = ldns_rdf_clone(apex.get());  // ldns replaces it on $ORIGIN
        ldns_rdf* previous = nullptr;                   // ldns replaces it on each owner
        std::uint32_t default_ttl = 3600;
        int line = 0;
        while (!std::feof(stream) && report_.problems.size() < kMaxProblems) {
            long start = std::ftell(stream);
            ldns_rr* raw = nullptr;
            ldns_status status = ldns_rr_new_frm_fp_l(&raw, stream, &default_ttl, &origin, &previous, &line);
            RrPtr rr(raw);
            locate_record(start, line);
            switch (status) {
            case LDNS_STATUS_OK:
                if (rr) record(rr.get(), apex.get());
                break;
            case LDNS_STATUS_SYNTAX_EMPTY:
            case LDNS_STATUS_SYNTAX_TTL:
            case LDNS_STATUS_SYNTAX_ORIGIN:
                break;
            case LDNS_STATUS_SYNTAX_INCLUDE:
                problem("$INCLUDE is not supported: keep the zone in one file");
                break;
            default:
                problem(fmt::format("{}: {}", ldns_get_errorstr_by_id(status), line_text(record_line_)));
                break;
            }
        }
        ldns_rdf_deep_free(origin);
        if (previous != nullptr) ldns_rdf_deep_free(previous);
    }

    void finish() {
        // Problems of the whole zone sit at the top of its file.
        if (!soa_seen_) problem(1, 1, fmt::format("no SOA record at the zone apex {}", origin_.fqdn()));
        if (soa_seen_ && facts_.apex_ns.empty()) {
            problem(1, 1, fmt::format("no NS record at the zone apex {}", origin_.fqdn()));
        }
        std::sort(facts_.apex_ns.begin(), facts_.apex_ns.end());
        facts_.apex_ns.erase(std::unique(facts_.apex_ns.begin(), facts_.apex_ns.end()), facts_.apex_ns.end());
        if (report_.problems.empty()) report_.facts = std::move(facts_);
    }

private:
    // Where the record read from byte `start` begins: its first character
    // that is neither blank nor part of a comment. `ldns_line` (the line ldns
    // stopped at) is the answer when the position cannot be found.
    void locate_record(long start, int ldns_line) {
        record_line_ = ldns_line;
        record_column_ = 1;
        if (start < 0 || static_cast<std::size_t>(start) >= text_.size()) return;
        std::size_t i = static_cast<std::size_t>(start);
        while (i < text_.size()) {
            char c = text_[i];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                ++i;
            } else if (c == ';') {
                auto end = text_.find('\n', i);
                i = end == std::string::npos ? text_.size() : end;
            } else {
                break;
            }
        }
        if (i >= text_.size()) return;
        auto next = std::upper_bound(line_starts_.begin(), line_starts_.end(), i);
        auto index = static_cast<std::size_t>(next - line_starts_.begin()) - 1;
        record_line_ = static_cast<int>(index + 1);
        record_column_ = static_cast<int>(i - line_starts_[index] + 1);
    }

    void record(const ldns_rr* rr, const ldns_rdf* apex) {
        const ldns_rdf* owner = ldns_rr_owner(rr);
        ldns_rr_type type = ldns_rr_get_type(rr);
        if (!in_zone(owner, apex)) {
            problem(fmt::format("{} is outside the zone {}", rdf_text(owner), origin_.fqdn()));
            return;
        }
        ++facts_.record_count;
        facts_.max_ttl = std::max(facts_.max_ttl, ldns_rr_ttl(rr));
        bool at_apex = same_name(owner, apex);
        if (type == LDNS_RR_TYPE_SOA) {
            if (!at_apex) {
                problem(fmt::format("SOA record at {}, not at the zone apex {}", rdf_text(owner), origin_.fqdn()));
            } else if (soa_seen_) {
                problem("a second SOA record at the apex");
            } else {
                soa_seen_ = true;
                facts_.soa_mname = name_of(ldns_rr_rdf(rr, 0));
                facts_.soa_rname = name_of(ldns_rr_rdf(rr, 1));
                facts_.soa_serial = rdf_u32(rr, 2);
                facts_.soa_refresh = rdf_u32(rr, 3);
                facts_.soa_retry = rdf_u32(rr, 4);
                facts_.soa_expire = rdf_u32(rr, 5);
                facts_.soa_minimum = rdf_u32(rr, 6);
            }
        } else if (type == LDNS_RR_TYPE_NS && at_apex) {
            facts_.apex_ns.push_back(name_of(ldns_rr_rdf(rr, 0)));
        }
    }

    DnsName name_of(const ldns_rdf* rdf) {
        if (rdf == nullptr) return {};
        std::string text = rdf_text(rdf);
        auto name = DnsName::parse(text);
        if (!name) {
            problem(name.error().message);
            return {};
        }
        return *name;
    }

    // The text of a line (1-based), quoted and shortened, to show with an error.
    std::string line_text(int line) const {
        std::size_t start = 0;
        for (int i = 1; i < line && start != std::string::npos; ++i) {
            start = text_.find('\n', start);
            if (start != std::string::npos) ++start;
        }
        if (start == std::string::npos || start >= text_.size()) return "(end of file)";
        auto end = text_.find('\n', start);
        std::string content = text_.substr(start, end == std::string::npos ? std::string::npos : end - start);
        constexpr std::size_t kMax = 100;
        if (content.size() > kMax) content = content.substr(0, utf8_prefix(content, kMax)) + "…";
        return "`" + escape_control(content) + "`";
    }

    const DnsName& origin_;
    const std::string& text_;
    std::vector<std::size_t> line_starts_;  // byte offset of each line
    int record_line_ = 0;
    int record_column_ = 0;
    ZoneFileReport& report_;
    ZoneFacts facts_;
    bool soa_seen_ = false;
};

}  // namespace

ZoneFileReport read_zone_file(const std::filesystem::path& file, const DnsName& origin) {
    ZoneFileReport report;
    auto content = read_input_file(file, limits::kZoneFileBytes);
    if (!content) {
        report.problems.push_back({0, 0, content.error().message});
        report.unreadable = true;
        return report;
    }
    std::string text = std::move(*content);
    // ldns counts a line when it reads its newline: end the last line with one.
    if (text.empty() || text.back() != '\n') text += '\n';

    FilePtr stream(fmemopen(text.data(), text.size(), "r"));
    if (!stream) {
        report.problems.push_back({0, 0, fmt::format("cannot read the zone file: {}", std::strerror(errno))});
        report.unreadable = true;
        return report;
    }
    Reader reader(origin, text, report);
    reader.read(stream.get());
    reader.finish();
    return report;
}

}  // namespace dnsctl
