// A parsed YAML document as plain values with source locations. The YAML
// parser's own node type stays inside yaml_document.cpp; the schema walker and
// its tests work on this tree.
#pragma once

#include <string>
#include <vector>

#include "core/diagnostics.hpp"

namespace dnsctl {

struct DocEntry;

struct DocNode {
    enum class Kind { null, scalar, sequence, map };

    Kind kind = Kind::null;
    std::string text;               // scalar
    SourceLocation where;           // 1-based
    std::vector<DocNode> items;     // sequence, in file order
    std::vector<DocEntry> entries;  // map, in file order; duplicate keys are kept
};

struct DocEntry {
    std::string key;
    SourceLocation key_where;
    DocNode value;
};

std::string_view to_string(DocNode::Kind kind);  // "nothing", "a scalar", "a list", "a map"

}  // namespace dnsctl
