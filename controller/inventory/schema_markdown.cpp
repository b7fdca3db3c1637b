// Renders the key reference of inventory/README.md from the schema, so the
// documentation cannot drift from what the loader accepts.
#include <fmt/format.h>

#include <set>
#include <vector>

#include "inventory/inventory_schema.hpp"

namespace dnsctl {

namespace {

std::string cell(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '|') {
            out += "\\|";
        } else if (c == '\n') {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

std::string code(std::string_view text) { return text.empty() ? std::string() : fmt::format("`{}`", cell(text)); }

void collect(const schema::SectionInfo& info, std::vector<const schema::SectionInfo*>& order,
             std::set<const schema::SectionInfo*>& seen) {
    if (!seen.insert(&info).second) return;
    order.push_back(&info);
    for (const auto& key : info.keys) {
        const schema::SectionInfo* nested = key.type.section;
        if (key.type.kind == schema::Kind::list && key.type.element) nested = key.type.element->section;
        if (nested != nullptr) collect(*nested, order, seen);
    }
}

}  // namespace

std::string render_schema_markdown(const schema::SectionInfo& root) {
    std::vector<const schema::SectionInfo*> order;
    std::set<const schema::SectionInfo*> seen;
    collect(root, order, seen);

    std::string out;
    for (const auto* info : order) {
        out += fmt::format("### `{}`\n\n{}\n\n", info->title, info->doc);
        out += "| key | type | required | default | example | meaning |\n";
        out += "|---|---|---|---|---|---|\n";
        for (const auto& key : info->keys) {
            std::string meaning(key.doc);
            for (const auto& check : key.checks) meaning += fmt::format(" Must be {}.", check.doc);
            out += fmt::format("| `{}` | {} | {} | {} | {} | {} |\n", key.name, cell(schema::describe_type(key.type)),
                               key.required ? "yes" : "no", code(key.default_text), code(key.example), cell(meaning));
        }
        if (!info->rules.empty()) {
            out += "\nRules:\n";
            for (auto rule : info->rules) out += fmt::format("- {}\n", rule);
        }
        out += "\n";
    }
    return out;
}

}  // namespace dnsctl
