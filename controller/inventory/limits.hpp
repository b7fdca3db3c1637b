// The bounds on what an inventory may hold (DESIGN §10b). Every input is
// hostile until checked: a file past these is refused with a located message
// instead of costing gigabytes. inventory/README.md lists them for operators.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dnsctl::limits {

// The inventory file: a regular file of at most 4 MiB (the reference estate
// is 5 KiB; 10,000 zones take about 700 KiB).
constexpr std::uintmax_t kInventoryBytes = 4 * 1024 * 1024;
// Each zone's master file: a regular file of at most 32 MiB.
constexpr std::uintmax_t kZoneFileBytes = 32 * 1024 * 1024;
// One scalar (a value or a key), in bytes.
constexpr std::size_t kScalarBytes = 4096;
// Entries of one list or map.
constexpr std::size_t kCollectionEntries = 20'000;
// Values in the whole document, aliases expanded (each key, scalar, list and
// map counts one; 10,000 zones take about 60,000): a few aliases cannot expand
// into billions, and parsing stays well under a second.
constexpr std::size_t kDocumentValues = 100'000;
// Nesting of lists and maps.
constexpr int kNestingDepth = 64;

}  // namespace dnsctl::limits
