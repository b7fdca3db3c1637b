#include "inventory/yaml_document.hpp"

#include <fmt/format.h>
#include <yaml-cpp/anchor.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <sstream>

#include "core/diagnostics.hpp"
#include "inventory/limits.hpp"

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

SourceLocation location(const std::string& file, const YAML::Mark& mark) {
    if (mark.is_null()) return {file, 0, 0};
    return {file, mark.line + 1, mark.column + 1};  // yaml-cpp counts from 0
}

// Builds the DocNode tree from the parser's events. yaml-cpp's own node graph
// is never built: it shares aliased nodes, so walking it expands every alias
// with no bound, and it costs far more memory per value than a DocNode.
// Here each alias is expanded as a copy counted against the document's budget
// of values, so a few hundred bytes of nested aliases ("billion laughs") are
// refused at the alias that would pass the bound.
class Builder final : public YAML::EventHandler {
public:
    // Thrown to stop the parser once nothing more is wanted from it: a bound
    // was hit (what follows would cost time for nothing) or a second document
    // began.
    struct Done {};

    Builder(const std::string& file, Diagnostics& diagnostics) : file_(file), diagnostics_(diagnostics) {}

    // The first document, or nothing when a bound refused the file.
    std::optional<DocNode> result() {
        if (refused_ || stopped_) return std::nullopt;
        if (!root_) {
            DocNode empty;
            empty.where = SourceLocation{file_, 1, 1};
            return empty;
        }
        return std::move(root_);
    }

    void OnDocumentStart(const YAML::Mark&) override { ++documents_; }
    void OnDocumentEnd() override {}

    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        if (!open_for(mark)) return;
        DocNode node;
        node.kind = DocNode::Kind::null;
        // yaml-cpp marks an empty value at the next token: an empty value sits
        // at its key (or its list), a null key where it is written.
        node.where = awaiting_value() ? fallback() : located(mark);
        if (!count(1, node.where, nullptr)) return;
        add(std::move(node), anchor, 1);
    }

    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        if (!open_for(mark)) return;
        SourceLocation where = located(mark);
        std::string name = anchor_names_.contains(anchor) ? "*" + anchor_names_[anchor] : std::string("the alias");
        auto it = anchored_.find(anchor);
        if (it == anchored_.end()) {
            stop(where, fmt::format("{} refers to a list or map that contains it (a recursive alias)", name));
            return;
        }
        const auto& [node, values] = it->second;
        if (!count(values, where, &name)) return;
        DocNode copy = node;
        copy.where = where;
        add(std::move(copy), YAML::NullAnchor, values);
    }

    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  const std::string& value) override {
        if (!open_for(mark)) return;
        DocNode node;
        node.kind = DocNode::Kind::scalar;
        node.where = located(mark);
        if (!count(1, node.where, nullptr)) return;
        if (value.size() > limits::kScalarBytes) {
            diagnostics_.error(node.where, fmt::format("a value of {} bytes: the limit is {} bytes",
                                                       group_thousands(value.size()),
                                                       group_thousands(limits::kScalarBytes)));
            refused_ = true;
        } else {
            node.text = value;
        }
        add(std::move(node), anchor, 1);
    }

    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value) override {
        open(mark, anchor, DocNode::Kind::sequence);
    }
    void OnSequenceEnd() override { close(); }

    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value) override {
        open(mark, anchor, DocNode::Kind::map);
    }
    void OnMapEnd() override { close(); }

    void OnAnchor(const YAML::Mark&, const std::string& name) override { pending_anchor_name_ = name; }

private:
    // A list or map being read.
    struct Open {
        DocNode node;
        YAML::anchor_t anchor = YAML::NullAnchor;
        std::size_t values_before = 0;  // the document's count when it opened
        bool has_key = false;           // map: a key was read, its value comes next
        bool key_valid = false;
        std::string key;
        SourceLocation key_where;
    };

    // Whether events build the first document; reports the start of a second
    // and stops there.
    bool open_for(const YAML::Mark& mark) {
        if (documents_ > 1) {
            diagnostics_.error(located(mark), "a second YAML document (after `---`): an inventory is one document");
            throw Done{};
        }
        return !stopped_;
    }

    [[nodiscard]] bool awaiting_value() const {
        return !stack_.empty() && stack_.back().node.kind == DocNode::Kind::map && stack_.back().has_key;
    }

    // Where a value without a position of its own sits.
    [[nodiscard]] SourceLocation fallback() const {
        if (stack_.empty()) return SourceLocation{file_, 1, 1};
        const Open& parent = stack_.back();
        if (parent.node.kind == DocNode::Kind::map && parent.has_key) return parent.key_where;
        return parent.node.where;
    }

    [[nodiscard]] SourceLocation located(const YAML::Mark& mark) const {
        SourceLocation where = location(file_, mark);
        if (where.line == 0) return fallback();
        return where;
    }

    [[noreturn]] void stop(const SourceLocation& where, std::string message) {
        diagnostics_.error(where, std::move(message));
        stopped_ = true;
        throw Done{};
    }

    // Counts `values` more values into the document; refuses past the bound.
    bool count(std::size_t values, const SourceLocation& where, const std::string* alias) {
        if (values_ + values <= limits::kDocumentValues) {
            values_ += values;
            return true;
        }
        if (alias != nullptr) {
            stop(where, fmt::format("{} expands to {} values, which takes the document past the limit of {} values "
                                    "(aliases are expanded)",
                                    *alias, group_thousands(values), group_thousands(limits::kDocumentValues)));
        } else {
            stop(where, fmt::format("the document has more than {} values (lists, maps and scalars)",
                                    group_thousands(limits::kDocumentValues)));
        }
        return false;
    }

    void open(const YAML::Mark& mark, YAML::anchor_t anchor, DocNode::Kind kind) {
        if (!open_for(mark)) return;
        Open entry;
        entry.node.kind = kind;
        entry.node.where = located(mark);
        entry.anchor = anchor;
        if (anchor != YAML::NullAnchor) anchor_names_[anchor] = pending_anchor_name_;
        if (static_cast<int>(stack_.size()) >= limits::kNestingDepth) {
            stop(entry.node.where, fmt::format("nesting deeper than {} levels of lists and maps", limits::kNestingDepth));
            return;
        }
        if (!count(1, entry.node.where, nullptr)) return;
        entry.values_before = values_ - 1;
        stack_.push_back(std::move(entry));
    }

    void close() {
        if (documents_ > 1 || stopped_ || stack_.empty()) return;
        Open entry = std::move(stack_.back());
        stack_.pop_back();
        add(std::move(entry.node), entry.anchor, values_ - entry.values_before);
    }

    // Places a complete value in its parent (or as the document).
    void add(DocNode node, YAML::anchor_t anchor, std::size_t values) {
        if (anchor != YAML::NullAnchor) {
            if (node.kind != DocNode::Kind::sequence && node.kind != DocNode::Kind::map) {
                anchor_names_[anchor] = pending_anchor_name_;
            }
            anchored_.insert_or_assign(anchor, std::pair{node, values});
        }
        if (stack_.empty()) {
            root_ = std::move(node);
            return;
        }
        Open& parent = stack_.back();
        std::size_t entries =
            parent.node.kind == DocNode::Kind::sequence ? parent.node.items.size() : parent.node.entries.size();
        if (entries >= limits::kCollectionEntries && !(parent.node.kind == DocNode::Kind::map && !parent.has_key)) {
            stop(parent.node.where, fmt::format("{} with more than {} entries", to_string(parent.node.kind),
                                                group_thousands(limits::kCollectionEntries)));
            return;
        }
        if (parent.node.kind == DocNode::Kind::sequence) {
            parent.node.items.push_back(std::move(node));
            return;
        }
        if (!parent.has_key) {
            parent.has_key = true;
            parent.key_valid = node.kind == DocNode::Kind::scalar;
            parent.key_where = node.where;
            if (parent.key_valid) {
                parent.key = std::move(node.text);
            } else {
                diagnostics_.error(node.where, "a map key must be a plain name, not a list or a map");
            }
            return;
        }
        parent.has_key = false;
        if (!parent.key_valid) return;
        DocEntry entry;
        entry.key = std::move(parent.key);
        entry.key_where = parent.key_where;
        entry.value = std::move(node);
        parent.node.entries.push_back(std::move(entry));
    }

    const std::string& file_;
    Diagnostics& diagnostics_;
    std::vector<Open> stack_;
    std::optional<DocNode> root_;
    std::map<YAML::anchor_t, std::pair<DocNode, std::size_t>> anchored_;  // the value and its count
    std::map<YAML::anchor_t, std::string> anchor_names_;
    std::string pending_anchor_name_;
    std::size_t values_ = 0;
    int documents_ = 0;
    bool refused_ = false;  // a value past a bound: reported, the walk would only add noise
    bool stopped_ = false;  // a bound that ends reading (budget, depth, recursion)
};

}  // namespace

std::optional<DocNode> parse_yaml_document(std::string_view text, const std::string& file, Diagnostics& diagnostics) {
    Builder builder(file, diagnostics);
    try {
        std::istringstream stream{std::string(text)};
        YAML::Parser parser(stream);
        // The second document is read only to report where it starts.
        for (int i = 0; i < 2 && parser.HandleNextDocument(builder); ++i) {
        }
    } catch (const Builder::Done&) {
        // What was wanted is read (or refused): the rest is not parsed.
    } catch (const YAML::ParserException& e) {
        diagnostics.error(location(file, e.mark), fmt::format("invalid YAML: {}", e.msg));
        return std::nullopt;
    } catch (const YAML::Exception& e) {
        diagnostics.error(location(file, e.mark), fmt::format("cannot read YAML: {}", e.msg));
        return std::nullopt;
    }
    return builder.result();
}

}  // namespace dnsctl
