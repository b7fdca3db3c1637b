// The inventory schema as data, and the walker that checks a document against it.
//
// A schema is a set of sections; a section is a table of keys (name, type,
// required, default, doc text, example, checks) plus rules that relate keys of
// one section. Each key row also says where its value goes in the typed model,
// so a new key is one row (and one model field), never new walking logic.
//
// The walker reports every problem it meets as `file:line:col: message`, the
// message naming the key path, the value and what was expected, and carries on,
// so one run shows everything that is wrong with a file.
#pragma once

#include <concepts>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/diagnostics.hpp"
#include "core/secret.hpp"
#include "core/types.hpp"
#include "inventory/document.hpp"
#include "inventory/key_locations.hpp"

namespace dnsctl::schema {

enum class Kind {
    string,        // any non-empty text
    integer,       // whole number within [min, max]
    boolean,       // true | false
    choice,        // one of a fixed set of words
    duration,      // 90s, 30m, 12h, 14d, 2w
    dns_name,      // a domain name (FQDN), stored lower-case without the trailing dot
    node_name,     // a host name label: letters, digits, '-' (a Proxmox node)
    identifier,    // a name of our own: letters, digits, '-', '_', '.'
    ip_interface,  // address with prefix length: 198.51.100.10/24
    ip_address,    // 198.51.100.1, 2001:db8::1
    secret_ref,    // env:NAME or file:PATH, never the secret itself
    path,          // relative to the inventory's folder; made absolute
    https_url,     // https://host[:port][/path]
    fingerprint,   // SHA-256 certificate fingerprint, stored as AB:CD:…
    list,          // sequence of `element`
    section,       // map with the fixed keys of `section`
    map,           // map from names (of kind `key`) to `section`
};

struct SectionInfo;

struct TypeSpec {
    Kind kind = Kind::string;
    std::int64_t min = 0;                    // integer: smallest value; list, map: fewest entries
    std::int64_t max = 0;                    // integer: largest value
    std::vector<std::string_view> choices;   // choice
    std::shared_ptr<const TypeSpec> element; // list
    Kind key = Kind::identifier;             // map: kind of the entry names
    const SectionInfo* section = nullptr;    // section, map, list of sections
};

TypeSpec text();
TypeSpec integer(std::int64_t min, std::int64_t max);
TypeSpec boolean();
TypeSpec choice(std::vector<std::string_view> words);
TypeSpec duration();
TypeSpec dns_name();
TypeSpec node_name();
TypeSpec identifier();
TypeSpec ip_interface();
TypeSpec ip_address();
TypeSpec secret_ref();
TypeSpec path();
TypeSpec https_url();
TypeSpec fingerprint();
TypeSpec list_of(TypeSpec element, std::int64_t min_items = 0);
TypeSpec section(const SectionInfo& section);
TypeSpec map_of(Kind key, const SectionInfo& section, std::int64_t min_entries = 0);

// A parsed scalar value. Which alternative depends on the kind:
// string, choice, node_name, identifier, https_url, fingerprint -> std::string;
// integer -> int64; boolean -> bool; duration -> Duration; dns_name -> DnsName;
// ip_interface -> IpInterface; ip_address -> IpAddress; secret_ref -> SecretRef;
// path -> absolute std::filesystem::path.
using Scalar = std::variant<std::string, std::int64_t, bool, Duration, DnsName, IpInterface, IpAddress, SecretRef,
                            std::filesystem::path>;

// A check beyond the type: returns the problem, or nothing. The message must
// not quote the value when the value might be a secret.
struct Check {
    std::string_view doc;  // for the documentation: "at least two labels"
    std::function<std::optional<std::string>(const Scalar&)> run;
};

struct KeyInfo {
    std::string_view name;
    TypeSpec type;
    bool required = false;
    std::string_view default_text;  // used as if written in the file when the key is absent
    std::string_view doc;
    std::string_view example;       // YAML text of a value
    std::vector<Check> checks;
};

struct SectionInfo {
    std::string title;  // "clusters.<name>.tls": where the section sits, for headings
    std::string_view doc;
    std::vector<KeyInfo> keys;
    std::vector<std::string_view> rules;  // what the cross-key rules require, for the documentation

    [[nodiscard]] const KeyInfo* find(std::string_view name) const;
};

// "an integer from 100 to 999999999": used in messages after "expected".
std::string describe_expected(const TypeSpec& type);
// "integer 100–999999999": the type column of the documentation.
std::string describe_type(const TypeSpec& type);

// Path segments: "clusters", "[th2]", "api_url" join to "clusters[th2].api_url".
std::string join_path(std::span<const std::string> segments);

// The closest candidate to `word` if it looks like a typo of one, else nothing.
std::optional<std::string_view> closest_match(std::string_view word, std::span<const std::string_view> candidates);

// A value for a message: quoted, at most 80 bytes (cut on a character
// boundary, then "…"), control characters escaped.
std::string quote(std::string_view text);

class Walker;
class RuleContext;

template <class T>
using Binder = std::function<void(T& target, Walker& walker, const DocNode* value, const KeyInfo& key)>;

template <class T>
struct Rule {
    std::vector<std::string_view> keys;  // runs only when these keys were read without error
    std::string_view doc;
    std::function<void(const T&, RuleContext&)> check;
};

// Which model types a kind may be stored in; checked when a row is added, so a
// schema row that does not fit its field aborts on first use of the schema.
template <class M>
constexpr bool kind_fits(Kind kind) {
    if constexpr (std::is_same_v<M, std::string>) {
        return kind == Kind::string || kind == Kind::choice || kind == Kind::node_name ||
               kind == Kind::identifier || kind == Kind::https_url || kind == Kind::fingerprint;
    } else if constexpr (std::is_same_v<M, int> || std::is_same_v<M, Vmid> || std::is_same_v<M, Asn>) {
        return kind == Kind::integer;
    } else if constexpr (std::is_same_v<M, bool>) {
        return kind == Kind::boolean;
    } else if constexpr (std::is_same_v<M, Duration>) {
        return kind == Kind::duration;
    } else if constexpr (std::is_same_v<M, DnsName>) {
        return kind == Kind::dns_name;
    } else if constexpr (std::is_same_v<M, IpInterface>) {
        return kind == Kind::ip_interface;
    } else if constexpr (std::is_same_v<M, IpAddress>) {
        return kind == Kind::ip_address;
    } else if constexpr (std::is_same_v<M, SecretRef>) {
        return kind == Kind::secret_ref;
    } else if constexpr (std::is_same_v<M, std::filesystem::path>) {
        return kind == Kind::path;
    } else {
        return false;
    }
}

void assign(std::string& out, const Scalar& value);
void assign(int& out, const Scalar& value);
void assign(Vmid& out, const Scalar& value);
void assign(Asn& out, const Scalar& value);
void assign(bool& out, const Scalar& value);
void assign(Duration& out, const Scalar& value);
void assign(DnsName& out, const Scalar& value);
void assign(IpInterface& out, const Scalar& value);
void assign(IpAddress& out, const Scalar& value);
void assign(SecretRef& out, const Scalar& value);
void assign(std::filesystem::path& out, const Scalar& value);
template <class M>
void assign(std::optional<M>& out, const Scalar& value) {
    M item{};
    assign(item, value);
    out = std::move(item);
}

[[noreturn]] void schema_bug(std::string_view section, std::string_view key, std::string_view problem);

template <class T>
class Section;

class Walker {
public:
    Walker(Diagnostics& diagnostics, std::filesystem::path base_dir, SourceLocation document);

    // Walks a whole document (the root map) into `target`.
    template <class T>
    void walk(const DocNode& root, const Section<T>& section, T& target);

    // For binders. `value` is the node of the key being bound; these report
    // problems themselves and return nothing when the value is unusable.
    std::optional<Scalar> scalar(const DocNode& value, const KeyInfo& key);
    std::optional<std::vector<Scalar>> scalar_list(const DocNode& value, const KeyInfo& key);
    // The default of an absent key, as a node (location: the enclosing section).
    [[nodiscard]] DocNode default_node(const KeyInfo& key) const;

    // `owner` is taken by value: callers pass locations held by the walker's
    // own stacks, which grow (and move) while the section is walked.
    template <class U>
    void section_into(const DocNode& value, const Section<U>& section, U& target, SourceLocation owner);
    template <class U>
    void map_into(const DocNode& value, const KeyInfo& key, const Section<U>& section, std::vector<U>& out,
                  const std::function<void(U&, const Scalar&)>& set_name);
    template <class U>
    void list_into(const DocNode& value, const KeyInfo& key, const Section<U>& section, std::vector<U>& out);

    void error(const SourceLocation& where, std::string_view message);  // prefixed with the current key path
    [[nodiscard]] std::string current_path() const { return join_path(path_); }
    // Copies, never references: the stacks behind them grow while a section is
    // walked, which moves their elements.
    [[nodiscard]] SourceLocation section_location() const { return section_where_.back(); }
    // Where the key being bound is written (its name, not its value).
    [[nodiscard]] SourceLocation key_location() const { return key_where_.back(); }
    [[nodiscard]] const KeyLocations& locations() const { return locations_; }
    [[nodiscard]] Diagnostics& diagnostics() { return diagnostics_; }
    [[nodiscard]] const std::filesystem::path& base_dir() const { return base_dir_; }

private:
    friend class RuleContext;

    class Scope {
    public:
        // Enters a key (or entry): records where its value sits under the new path.
        Scope(Walker& walker, std::string segment, SourceLocation key_where, SourceLocation value_where);
        ~Scope();
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;

    private:
        Walker& walker_;
    };

    std::optional<Scalar> parse(const DocNode& value, const TypeSpec& type, std::span<const Check> checks);
    // Reports an unknown key (with a suggestion); returns the index otherwise.
    std::optional<std::size_t> key_index(const SectionInfo& info, const DocEntry& entry);
    // Reports a repeated key; returns true if `entry` repeats an earlier one.
    bool repeated(std::map<std::string, SourceLocation>& seen, const std::string& key,
                  const SourceLocation& where, std::string_view what);
    void expect_map(const DocNode& value, const SourceLocation& owner, const SectionInfo& info);
    [[nodiscard]] std::size_t error_count() const { return diagnostics_.error_count(); }

    Diagnostics& diagnostics_;
    std::filesystem::path base_dir_;
    std::vector<std::string> path_;
    std::vector<SourceLocation> section_where_;
    std::vector<SourceLocation> key_where_;
    KeyLocations locations_;
};

// What a rule sees of the section instance it checks.
class RuleContext {
public:
    RuleContext(Walker& walker, const SectionInfo& info, std::span<const DocEntry* const> given,
                SourceLocation owner)
        : walker_(walker), info_(info), given_(given), owner_(std::move(owner)) {}

    // Whether the key was written in the file (as opposed to defaulted).
    [[nodiscard]] bool given(std::string_view key) const;
    // Reports a problem at the key's value (or at the section when absent),
    // prefixed with the key's path.
    void error(std::string_view key, std::string_view message);
    // Reports a problem about the section as a whole.
    void error(std::string_view message);

private:
    [[nodiscard]] const DocEntry* entry(std::string_view key) const;

    Walker& walker_;
    const SectionInfo& info_;
    std::span<const DocEntry* const> given_;
    SourceLocation owner_;
};

template <class T>
class Section {
public:
    Section(std::string title, std::string_view doc) {
        info_.title = std::move(title);
        info_.doc = doc;
    }

    [[nodiscard]] const SectionInfo& info() const { return info_; }
    [[nodiscard]] const std::vector<Binder<T>>& binders() const { return binders_; }
    [[nodiscard]] const std::vector<Rule<T>>& rules() const { return rules_; }

    // A row with its own binder.
    void add(KeyInfo key, Binder<T> bind) {
        if (info_.find(key.name) != nullptr) schema_bug(info_.title, key.name, "key listed twice");
        info_.keys.push_back(std::move(key));
        binders_.push_back(std::move(bind));
    }

    // A scalar stored where `locate` points (a field, or an optional field).
    template <class F>
        requires std::invocable<F, T&>
    void add_at(KeyInfo key, F locate) {
        using M = std::remove_reference_t<std::invoke_result_t<F, T&>>;
        check_fits<M>(key);
        add(std::move(key), [locate](T& target, Walker& walker, const DocNode* value, const KeyInfo& k) {
            if (value == nullptr) {
                if (k.default_text.empty()) return;
                if (auto parsed = walker.scalar(walker.default_node(k), k)) assign(locate(target), *parsed);
                return;
            }
            if (auto parsed = walker.scalar(*value, k)) assign(locate(target), *parsed);
        });
    }

    // A scalar stored in a member (or an optional member) of T or of a base of T.
    template <class C, class M>
        requires std::derived_from<T, C>
    void add(KeyInfo key, M C::*member) {
        add_at(std::move(key), [member](T& target) -> M& { return target.*member; });
    }

    // A list of scalars.
    template <class C, class M>
        requires std::derived_from<T, C>
    void add(KeyInfo key, std::vector<M> C::*member) {
        if (key.type.kind != Kind::list || !key.type.element || !kind_fits<M>(key.type.element->kind)) {
            schema_bug(info_.title, key.name, "the list's element kind does not fit the model field");
        }
        add(std::move(key), [member](T& target, Walker& walker, const DocNode* value, const KeyInfo& k) {
            std::optional<std::vector<Scalar>> items;
            if (value != nullptr) {
                items = walker.scalar_list(*value, k);
            } else if (!k.default_text.empty()) {
                items = walker.scalar_list(walker.default_node(k), k);
            }
            if (!items) return;
            auto& out = target.*member;
            out.clear();
            for (const auto& item : *items) {
                M converted{};
                assign(converted, item);
                out.push_back(std::move(converted));
            }
        });
    }

    // One word of a fixed set, stored as an enum.
    template <class C, class E, std::size_t N>
        requires std::derived_from<T, C>
    void add_choice(KeyInfo key, E C::*member, const std::pair<std::string_view, E> (&names)[N]) {
        key.type = choice({});
        for (const auto& [word, value] : names) key.type.choices.push_back(word);
        std::vector<std::pair<std::string_view, E>> table(std::begin(names), std::end(names));
        add(std::move(key), [member, table](T& target, Walker& walker, const DocNode* value, const KeyInfo& k) {
            std::optional<Scalar> parsed;
            if (value != nullptr) {
                parsed = walker.scalar(*value, k);
            } else if (!k.default_text.empty()) {
                parsed = walker.scalar(walker.default_node(k), k);
            }
            if (!parsed) return;
            for (const auto& [word, e] : table) {
                if (word == std::get<std::string>(*parsed)) target.*member = e;
            }
        });
    }

    // A nested section stored in a member. When absent, its keys' defaults apply.
    template <class C, class U>
        requires std::derived_from<T, C>
    void add_section(KeyInfo key, U C::*member, const Section<U>& nested) {
        key.type = section(nested.info());
        add(std::move(key), [member, &nested](T& target, Walker& walker, const DocNode* value, const KeyInfo&) {
            if (value != nullptr) {
                walker.section_into(*value, nested, target.*member, walker.key_location());
            } else {
                DocNode empty;
                empty.kind = DocNode::Kind::map;
                empty.where = walker.section_location();
                walker.section_into(empty, nested, target.*member, empty.where);
            }
        });
    }

    // A nested section that may be absent altogether. Set only when it was
    // read without error.
    template <class C, class U>
        requires std::derived_from<T, C>
    void add_section(KeyInfo key, std::optional<U> C::*member, const Section<U>& nested) {
        key.type = section(nested.info());
        add(std::move(key), [member, &nested](T& target, Walker& walker, const DocNode* value, const KeyInfo&) {
            if (value == nullptr) return;
            U item{};
            auto before = walker.diagnostics().error_count();
            walker.section_into(*value, nested, item, walker.key_location());
            // A section with errors stays absent rather than half-filled with defaults.
            if (walker.diagnostics().error_count() == before) target.*member = std::move(item);
        });
    }

    // A map from names to sections, stored as a vector in file order; the
    // entry's name goes to `name_member` of each element.
    template <class C, class U, class B, class N>
        requires std::derived_from<T, C> && std::derived_from<U, B>
    void add_map(KeyInfo key, std::vector<U> C::*member, N B::*name_member, const Section<U>& nested) {
        if (key.type.kind != Kind::map || key.type.section != &nested.info() || !kind_fits<N>(key.type.key)) {
            schema_bug(info_.title, key.name, "map type does not fit the model field");
        }
        add(std::move(key), [member, name_member, &nested](T& target, Walker& walker, const DocNode* value,
                                                          const KeyInfo& k) {
            if (value == nullptr) return;
            std::function<void(U&, const Scalar&)> set_name = [name_member](U& item, const Scalar& name) {
                assign(item.*name_member, name);
            };
            walker.map_into(*value, k, nested, target.*member, set_name);
        });
    }

    // A list of sections.
    template <class C, class U>
        requires std::derived_from<T, C>
    void add_list(KeyInfo key, std::vector<U> C::*member, const Section<U>& nested) {
        if (key.type.kind != Kind::list || !key.type.element || key.type.element->section != &nested.info()) {
            schema_bug(info_.title, key.name, "list type does not fit the model field");
        }
        add(std::move(key), [member, &nested](T& target, Walker& walker, const DocNode* value, const KeyInfo& k) {
            if (value == nullptr) return;
            walker.list_into(*value, k, nested, target.*member);
        });
    }

    void rule(std::vector<std::string_view> keys, std::string_view doc, std::function<void(const T&, RuleContext&)> check) {
        for (auto name : keys) {
            if (info_.find(name) == nullptr) schema_bug(info_.title, name, "rule names an unknown key");
        }
        info_.rules.push_back(doc);
        rules_.push_back({std::move(keys), doc, std::move(check)});
    }

private:
    template <class M>
    struct Stored {
        using type = M;
    };
    template <class M>
    struct Stored<std::optional<M>> {
        using type = M;
    };
    template <class M>
    void check_fits(const KeyInfo& key) const {
        if (!kind_fits<typename Stored<M>::type>(key.type.kind)) {
            schema_bug(info_.title, key.name, "kind does not fit the model field");
        }
    }

    SectionInfo info_;
    std::vector<Binder<T>> binders_;
    std::vector<Rule<T>> rules_;
};

template <class T>
void Walker::walk(const DocNode& root, const Section<T>& section, T& target) {
    section_into(root, section, target, root.where);
}

template <class U>
void Walker::section_into(const DocNode& value, const Section<U>& section, U& target, SourceLocation owner) {
    const SectionInfo& info = section.info();
    if (value.kind != DocNode::Kind::map) {
        expect_map(value, owner, info);
        return;
    }
    section_where_.push_back(owner);
    std::vector<const DocEntry*> given(info.keys.size(), nullptr);
    std::vector<bool> failed(info.keys.size(), false);
    std::map<std::string, SourceLocation> seen;
    for (const DocEntry& entry : value.entries) {
        if (repeated(seen, entry.key, entry.key_where, "key")) continue;
        auto index = key_index(info, entry);
        if (!index) continue;
        const KeyInfo& key = info.keys[*index];
        given[*index] = &entry;
        Scope scope(*this, std::string(key.name), entry.key_where,
                    entry.value.kind == DocNode::Kind::null ? entry.key_where : entry.value.where);
        auto before = error_count();
        if (entry.value.kind == DocNode::Kind::null) {
            if (key.required) {
                error(entry.key_where, "needs a value: " + describe_expected(key.type));
            } else {
                section.binders()[*index](target, *this, nullptr, key);
            }
        } else {
            section.binders()[*index](target, *this, &entry.value, key);
        }
        failed[*index] = error_count() != before;
    }
    for (std::size_t i = 0; i < info.keys.size(); ++i) {
        if (given[i] != nullptr) continue;
        const KeyInfo& key = info.keys[i];
        if (key.required) {
            std::string message = "missing required key '" + std::string(key.name) + "' (" +
                                  describe_expected(key.type) + ")";
            if (!key.example.empty() && key.type.kind != Kind::section && key.type.kind != Kind::map &&
                key.type.kind != Kind::list) {
                message += ", e.g. `" + std::string(key.name) + ": " + std::string(key.example) + "`";
            }
            error(owner, message);
            failed[i] = true;
            continue;
        }
        Scope scope(*this, std::string(key.name), owner, owner);
        auto before = error_count();
        section.binders()[i](target, *this, nullptr, key);
        failed[i] = error_count() != before;
    }
    RuleContext context(*this, info, given, owner);
    for (const auto& rule : section.rules()) {
        bool usable = true;
        for (auto name : rule.keys) {
            for (std::size_t i = 0; i < info.keys.size(); ++i) {
                if (info.keys[i].name == name && failed[i]) usable = false;
            }
        }
        if (usable) rule.check(target, context);
    }
    if constexpr (requires { target.where; }) {
        if (target.where.line == 0) target.where = owner;
    }
    section_where_.pop_back();
}

template <class U>
void Walker::map_into(const DocNode& value, const KeyInfo& key, const Section<U>& section, std::vector<U>& out,
                      const std::function<void(U&, const Scalar&)>& set_name) {
    if (value.kind != DocNode::Kind::map) {
        error(value.where, "expected " + describe_expected(key.type) + ", got " + std::string(to_string(value.kind)));
        return;
    }
    if (static_cast<std::int64_t>(value.entries.size()) < key.type.min) {
        error(value.where, "needs at least " + std::to_string(key.type.min) + " entr" +
                               (key.type.min == 1 ? "y" : "ies"));
    }
    TypeSpec name_type;
    name_type.kind = key.type.key;
    std::map<std::string, SourceLocation> seen;
    for (const DocEntry& entry : value.entries) {
        DocNode name_node;
        name_node.kind = DocNode::Kind::scalar;
        name_node.text = entry.key;
        name_node.where = entry.key_where;
        auto name = parse(name_node, name_type, {});
        if (!name) continue;
        std::string normalized =
            std::holds_alternative<DnsName>(*name) ? std::get<DnsName>(*name).str() : std::get<std::string>(*name);
        if (repeated(seen, normalized, entry.key_where, "entry")) continue;
        Scope scope(*this, "[" + normalized + "]", entry.key_where, entry.key_where);
        U item{};
        set_name(item, *name);
        if constexpr (requires { item.where; }) item.where = entry.key_where;
        if (entry.value.kind == DocNode::Kind::null) {
            // `name:` alone: an entry with every key at its default.
            DocNode empty;
            empty.kind = DocNode::Kind::map;
            empty.where = entry.key_where;
            section_into(empty, section, item, entry.key_where);
        } else {
            section_into(entry.value, section, item, entry.key_where);
        }
        out.push_back(std::move(item));
    }
}

template <class U>
void Walker::list_into(const DocNode& value, const KeyInfo& key, const Section<U>& section, std::vector<U>& out) {
    if (value.kind != DocNode::Kind::sequence) {
        error(value.where, "expected " + describe_expected(key.type) + ", got " + std::string(to_string(value.kind)));
        return;
    }
    if (static_cast<std::int64_t>(value.items.size()) < key.type.min) {
        error(value.where, "needs at least " + std::to_string(key.type.min) + " item" +
                               (key.type.min == 1 ? "" : "s"));
    }
    for (std::size_t i = 0; i < value.items.size(); ++i) {
        const DocNode& item_node = value.items[i];
        Scope scope(*this, "[" + std::to_string(i) + "]", item_node.where, item_node.where);
        U item{};
        if constexpr (requires { item.where; }) item.where = item_node.where;
        section_into(item_node, section, item, item_node.where);
        out.push_back(std::move(item));
    }
}

}  // namespace dnsctl::schema
