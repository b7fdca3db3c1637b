// The ldns adapter for master files: reads a zone file at load time and
// returns the facts the inventory checks need, with every problem found
// (file line numbers, 1-based).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/types.hpp"
#include "inventory/model.hpp"

namespace dnsctl {

struct ZoneFileProblem {
    int line = 0;    // 1-based; a problem of the whole zone ("no SOA") sits at 1:1
    int column = 0;  // 1-based: where the record starts; 0 when the file could not be read
    std::string message;
};

struct ZoneFileReport {
    std::optional<ZoneFacts> facts;  // set when the file parsed without problems
    std::vector<ZoneFileProblem> problems;
    bool unreadable = false;         // the file could not be read (problems says why): missing, not a
                                     // regular file, or larger than limits::kZoneFileBytes
};

// Reads `file` as the master file of `origin` (relative names are relative to
// it). Refuses $INCLUDE. Requires one SOA at the apex, at least one apex NS,
// and no record outside the zone.
ZoneFileReport read_zone_file(const std::filesystem::path& file, const DnsName& origin);

}  // namespace dnsctl
