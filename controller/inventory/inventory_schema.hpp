// Inventory format v1 as data: every section and key, its type, default,
// documentation, example and checks, and where it goes in the model. Add a key
// here (and its field in model.hpp); the walker and the documentation follow.
#pragma once

#include <string>

#include "inventory/model.hpp"
#include "inventory/schema.hpp"

namespace dnsctl {

const schema::Section<Inventory>& inventory_schema();

// The key reference of inventory/README.md (Markdown), rendered from the schema.
std::string render_schema_markdown(const schema::SectionInfo& root);

}  // namespace dnsctl
