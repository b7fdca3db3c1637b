#include "inventory/yaml_document.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace dnsctl {

std::string_view to_string(DocNode::Kind kind) {
    switch (kind) {
    case DocNode::Kind::null: return "nothing";
    case DocNode::Kind::scalar: return "a scalar";
    case DocNode::Kind::sequence: return "a list";
    case DocNode::Kind::map: return "a map";
    }
    return "nothing";
}

namespace {

// Aliases can point at an enclosing node; a depth bound keeps a recursive
// document from recursing forever.
constexpr int kMaxDepth = 64;

SourceLocation location(const std::string& file, const YAML::Mark& mark) {
    if (mark.is_null()) return {file, 0, 0};
    return {file, mark.line + 1, mark.column + 1};  // yaml-cpp counts from 0
}

class Converter {
public:
    Converter(const std::string& file, Diagnostics& diagnostics) : file_(file), diagnostics_(diagnostics) {}

    DocNode convert(const YAML::Node& node, SourceLocation fallback, int depth) {
        DocNode out;
        out.where = location(file_, node.Mark());
        if (out.where.line == 0) out.where = fallback;
        if (depth > kMaxDepth) {
            diagnostics_.error(out.where, fmt::format("nesting deeper than {} levels (a recursive alias?)", kMaxDepth));
            return out;
        }
        switch (node.Type()) {
        case YAML::NodeType::Undefined:
        case YAML::NodeType::Null:
            out.kind = DocNode::Kind::null;
            out.where = fallback;  // yaml-cpp marks an empty value at the next token
            break;
        case YAML::NodeType::Scalar:
            out.kind = DocNode::Kind::scalar;
            out.text = node.Scalar();
            break;
        case YAML::NodeType::Sequence:
            out.kind = DocNode::Kind::sequence;
            for (const auto& item : node) out.items.push_back(convert(item, out.where, depth + 1));
            break;
        case YAML::NodeType::Map:
            out.kind = DocNode::Kind::map;
            for (auto it = node.begin(); it != node.end(); ++it) {
                SourceLocation key_where = location(file_, it->first.Mark());
                if (key_where.line == 0) key_where = out.where;
                if (!it->first.IsScalar()) {
                    diagnostics_.error(key_where, "a map key must be a plain name, not a list or a map");
                    continue;
                }
                DocEntry entry;
                entry.key = it->first.Scalar();
                entry.key_where = key_where;
                entry.value = convert(it->second, key_where, depth + 1);
                out.entries.push_back(std::move(entry));
            }
            break;
        }
        return out;
    }

private:
    const std::string& file_;
    Diagnostics& diagnostics_;
};

}  // namespace

std::optional<DocNode> parse_yaml_document(std::string_view text, const std::string& file, Diagnostics& diagnostics) {
    YAML::Node root;
    try {
        auto documents = YAML::LoadAll(std::string(text));
        if (documents.size() > 1) {
            diagnostics.error(location(file, documents[1].Mark()),
                              "a second YAML document (after `---`): an inventory is one document");
        }
        if (!documents.empty()) root = documents.front();
    } catch (const YAML::ParserException& e) {
        diagnostics.error(location(file, e.mark), fmt::format("invalid YAML: {}", e.msg));
        return std::nullopt;
    } catch (const YAML::Exception& e) {
        diagnostics.error(location(file, e.mark), fmt::format("cannot read YAML: {}", e.msg));
        return std::nullopt;
    }
    try {
        return Converter(file, diagnostics).convert(root, SourceLocation{file, 1, 1}, 0);
    } catch (const YAML::Exception& e) {
        diagnostics.error(location(file, e.mark), fmt::format("cannot read YAML: {}", e.msg));
        return std::nullopt;
    }
}

}  // namespace dnsctl
