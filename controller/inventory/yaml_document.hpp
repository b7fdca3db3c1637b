// The YAML adapter: yaml-cpp turns text into a DocNode tree. Parser errors and
// unsupported constructs (complex keys) become diagnostics with file:line:col.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/diagnostics.hpp"
#include "inventory/document.hpp"

namespace dnsctl {

// `file` names the source in locations. Returns nothing when the text is not
// YAML (yaml-cpp stops at the first syntax error, so that is the only one).
std::optional<DocNode> parse_yaml_document(std::string_view text, const std::string& file, Diagnostics& diagnostics);

}  // namespace dnsctl
