// ldns inside the dns module: owning handles for ldns objects and the
// conversions between ldns records and dnsctl's DnsRecord.
//
// Private to controller/dns/*.cpp. Never include it from a header that other
// modules include: ldns 1.8 #defines true/false/bool in C++ unless
// <stdbool.h> came first, so every translation unit that includes this file
// includes it before anything else.
#pragma once

#include <stdbool.h>  // before ldns: see above
#include <ldns/ldns.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "dns/message.hpp"

namespace dnsctl::ldns {

struct PktFree {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct RrFree {
    void operator()(ldns_rr* r) const { ldns_rr_free(r); }
};
struct RrListDeepFree {  // the list and the records in it
    void operator()(ldns_rr_list* l) const { ldns_rr_list_deep_free(l); }
};
struct RrListFree {  // the list only: the records belong to someone else
    void operator()(ldns_rr_list* l) const { ldns_rr_list_free(l); }
};
struct RdfFree {
    void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
struct BufferFree {
    void operator()(ldns_buffer* b) const { ldns_buffer_free(b); }
};
struct MallocFree {  // strings and wire buffers ldns hands out
    void operator()(void* p) const { std::free(p); }
};

using Pkt = std::unique_ptr<ldns_pkt, PktFree>;
using Rr = std::unique_ptr<ldns_rr, RrFree>;
using RrList = std::unique_ptr<ldns_rr_list, RrListDeepFree>;
using RrRefs = std::unique_ptr<ldns_rr_list, RrListFree>;
using Rdf = std::unique_ptr<ldns_rdf, RdfFree>;
using Buffer = std::unique_ptr<ldns_buffer, BufferFree>;
using CString = std::unique_ptr<char, MallocFree>;
using Bytes = std::unique_ptr<std::uint8_t, MallocFree>;

inline std::string status_text(ldns_status status) { return ldns_get_errorstr_by_id(status); }

// An ldns record as a DnsRecord (wire form, typed fields); `scratch` is a
// buffer to reuse for the wire form (one of its own when null).
Result<DnsRecord> to_record(const ldns_rr* rr, ldns_buffer* scratch = nullptr);
// A DnsRecord back as an ldns record, rebuilt from its wire form.
Result<Rr> from_record(const DnsRecord& record);
// A name's presentation form as a WireName.
WireName to_wire_name(const ldns_rdf* dname);

}  // namespace dnsctl::ldns
