#include "inventory/schema.hpp"

#include "core/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace dnsctl::schema {

namespace {

TypeSpec of(Kind kind) {
    TypeSpec t;
    t.kind = kind;
    return t;
}

}  // namespace

// Values are quoted in messages, shortened (never inside a character), control
// characters made visible.
std::string quote(std::string_view text) {
    constexpr std::size_t kMax = 80;
    std::size_t kept = utf8_prefix(text, kMax);
    std::string out = "'" + escape_control(text.substr(0, kept));
    if (kept < text.size()) out += "…";
    out += "'";
    return out;
}

namespace {

std::string joined(std::span<const std::string_view> words, std::string_view separator) {
    std::string out;
    for (std::size_t i = 0; i < words.size(); ++i) {
        if (i > 0) out += separator;
        out += words[i];
    }
    return out;
}

std::string key_names(const SectionInfo& info) {
    std::vector<std::string_view> names;
    for (const auto& key : info.keys) names.push_back(key.name);
    return joined(names, ", ");
}

bool is_label_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; }

bool valid_node_name(std::string_view text) {
    return !text.empty() && text.size() <= 63 && text.front() != '-' && text.back() != '-' &&
           std::all_of(text.begin(), text.end(), is_label_char);
}

bool valid_identifier(std::string_view text) {
    return !text.empty() && text.size() <= 63 && std::isalnum(static_cast<unsigned char>(text.front())) &&
           std::all_of(text.begin(), text.end(), [](char c) { return is_label_char(c) || c == '_' || c == '.'; });
}

bool all_hex(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

// Returns the problem with an https URL, or nothing.
std::optional<std::string> url_problem(std::string_view text, bool& may_echo) {
    may_echo = true;
    if (text.starts_with("http://")) {
        return std::string("plain http is refused: the Proxmox API is served over https (write https://…)");
    }
    if (!text.starts_with("https://")) return std::string("the URL must start with https://");
    std::string_view rest = text.substr(8);
    std::string_view authority = rest.substr(0, rest.find('/'));
    if (authority.find('@') != std::string_view::npos) {
        may_echo = false;
        return std::string("the URL must not carry credentials (user@ or user:password@): give token_id and "
                           "token_secret instead");
    }
    if (std::any_of(text.begin(), text.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); })) {
        return std::string("the URL contains white space");
    }
    std::string_view host = authority;
    std::optional<std::string_view> port;
    if (host.starts_with('[')) {
        auto close = host.find(']');
        if (close == std::string_view::npos) return std::string("the IPv6 address in the URL lacks its ']'");
        auto inner = host.substr(1, close - 1);
        if (inner.find(':') == std::string_view::npos || !IpAddress::parse(inner)) {
            return std::string("the bracketed host is not an IPv6 address");
        }
        auto after = host.substr(close + 1);
        if (!after.empty()) {
            if (!after.starts_with(':')) return std::string("unexpected text after the IPv6 address");
            port = after.substr(1);
        }
    } else {
        if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
            port = host.substr(colon + 1);
            host = host.substr(0, colon);
        }
        if (host.empty()) return std::string("the URL has no host");
        if (host.find(':') != std::string_view::npos || (!DnsName::parse(host) && !IpAddress::parse(host))) {
            return std::string("the URL's host is neither a host name nor an IP address (IPv6 goes in brackets)");
        }
    }
    if (port) {
        int value = 0;
        auto [ptr, ec] = std::from_chars(port->data(), port->data() + port->size(), value);
        if (port->empty() || ec != std::errc{} || ptr != port->data() + port->size() || value < 1 || value > 65535) {
            return std::string("the URL's port must be a number from 1 to 65535");
        }
    }
    return std::nullopt;
}

// Accepts 64 hex digits, or 32 colon-separated pairs; returns AB:CD:… form.
std::optional<std::string> normalize_fingerprint(std::string_view text) {
    std::string hex;
    if (text.find(':') != std::string_view::npos) {
        if (text.size() != 32 * 3 - 1) return std::nullopt;
        for (std::size_t i = 0; i < text.size(); ++i) {
            if (i % 3 == 2) {
                if (text[i] != ':') return std::nullopt;
            } else {
                hex += text[i];
            }
        }
    } else {
        hex = std::string(text);
    }
    if (hex.size() != 64 || !all_hex(hex)) return std::nullopt;
    std::string out;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        if (!out.empty()) out += ':';
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(hex[i])));
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(hex[i + 1])));
    }
    return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    // Optimal string alignment: insertions, deletions, substitutions and
    // transpositions of neighbours each cost one.
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.size()][b.size()];
}

std::string fold(std::string_view text) {
    std::string out;
    for (char c : text) out += c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

TypeSpec text() { return of(Kind::string); }
TypeSpec integer(std::int64_t min, std::int64_t max) {
    auto t = of(Kind::integer);
    t.min = min;
    t.max = max;
    return t;
}
TypeSpec boolean() { return of(Kind::boolean); }
TypeSpec choice(std::vector<std::string_view> words) {
    auto t = of(Kind::choice);
    t.choices = std::move(words);
    return t;
}
TypeSpec duration() { return of(Kind::duration); }
TypeSpec dns_name() { return of(Kind::dns_name); }
TypeSpec node_name() { return of(Kind::node_name); }
TypeSpec identifier() { return of(Kind::identifier); }
TypeSpec ip_interface() { return of(Kind::ip_interface); }
TypeSpec ip_address() { return of(Kind::ip_address); }
TypeSpec secret_ref() { return of(Kind::secret_ref); }
TypeSpec path() { return of(Kind::path); }
TypeSpec https_url() { return of(Kind::https_url); }
TypeSpec fingerprint() { return of(Kind::fingerprint); }
TypeSpec list_of(TypeSpec element, std::int64_t min_items) {
    auto t = of(Kind::list);
    t.min = min_items;
    t.element = std::make_shared<const TypeSpec>(std::move(element));
    return t;
}
TypeSpec section(const SectionInfo& section) {
    auto t = of(Kind::section);
    t.section = &section;
    return t;
}
TypeSpec map_of(Kind key, const SectionInfo& section, std::int64_t min_entries) {
    auto t = of(Kind::map);
    t.key = key;
    t.section = &section;
    t.min = min_entries;
    return t;
}

const KeyInfo* SectionInfo::find(std::string_view name) const {
    auto it = std::find_if(keys.begin(), keys.end(), [&](const KeyInfo& k) { return k.name == name; });
    return it == keys.end() ? nullptr : &*it;
}

std::string describe_expected(const TypeSpec& type) {
    switch (type.kind) {
    case Kind::string: return "a non-empty string";
    case Kind::integer: return fmt::format("an integer from {} to {}", type.min, type.max);
    case Kind::boolean: return "true or false";
    case Kind::choice: return "one of " + joined(type.choices, ", ");
    case Kind::duration: return "a duration such as 14d (a whole number with a unit s, m, h, d or w)";
    case Kind::dns_name: return "a domain name such as ns1.example.net";
    case Kind::node_name: return "a host name (letters, digits and '-', at most 63)";
    case Kind::identifier: return "a name (letters, digits, '-', '_' and '.', at most 63)";
    case Kind::ip_interface: return "an address with its prefix length, such as 198.51.100.10/24 or 2001:db8::10/64";
    case Kind::ip_address: return "an IP address such as 198.51.100.1 or 2001:db8::1";
    case Kind::secret_ref: return "a secret reference: env:VARIABLE or file:PATH";
    case Kind::path: return "a path (absolute, or relative to the inventory's folder)";
    case Kind::https_url: return "an https:// URL such as https://pve1.example.net:8006";
    case Kind::fingerprint: return "a SHA-256 fingerprint: 32 bytes in hex, optionally colon-separated (AB:CD:…)";
    case Kind::list:
        return type.element ? "a list, each item " + describe_expected(*type.element) : std::string("a list");
    case Kind::section:
        return type.section ? "a map with keys " + key_names(*type.section) : std::string("a map");
    case Kind::map:
        return fmt::format("a map of entries keyed by {}", type.key == Kind::dns_name ? "domain name" : "name");
    }
    return "a value";
}

std::string describe_type(const TypeSpec& type) {
    switch (type.kind) {
    case Kind::string: return "string";
    case Kind::integer: return fmt::format("integer {}..{}", type.min, type.max);
    case Kind::boolean: return "boolean";
    case Kind::choice: {
        std::string out = "one of ";
        for (std::size_t i = 0; i < type.choices.size(); ++i) {
            out += fmt::format("{}`{}`", i == 0 ? "" : ", ", type.choices[i]);
        }
        return out;
    }
    case Kind::duration: return "duration";
    case Kind::dns_name: return "domain name";
    case Kind::node_name: return "host name";
    case Kind::identifier: return "name";
    case Kind::ip_interface: return "address/prefix";
    case Kind::ip_address: return "IP address";
    case Kind::secret_ref: return "secret reference";
    case Kind::path: return "path";
    case Kind::https_url: return "https URL";
    case Kind::fingerprint: return "SHA-256 fingerprint";
    case Kind::list:
        if (type.element && type.element->kind == Kind::section && type.element->section) {
            return fmt::format("list of `{}`", type.element->section->title);
        }
        return type.element ? "list of " + describe_type(*type.element) : std::string("list");
    case Kind::section: return type.section ? fmt::format("`{}`", type.section->title) : std::string("section");
    case Kind::map:
        return fmt::format("map: {} → `{}`", type.key == Kind::dns_name ? "domain name" : "name",
                           type.section ? type.section->title : std::string("?"));
    }
    return "value";
}

std::string join_path(std::span<const std::string> segments) {
    std::string out;
    for (const auto& segment : segments) {
        if (!out.empty() && !segment.starts_with('[')) out += '.';
        out += segment;
    }
    return out;
}

std::optional<std::string_view> closest_match(std::string_view word, std::span<const std::string_view> candidates) {
    // A typo is a few edits away from a short name: longer words are not
    // compared (the comparison costs the product of the lengths).
    constexpr std::size_t kLongest = 64;
    if (word.size() > kLongest) return std::nullopt;
    std::string folded = fold(word);
    std::size_t allowed = folded.size() <= 4 ? 1 : folded.size() <= 8 ? 2 : 3;
    std::optional<std::string_view> best;
    std::size_t best_distance = allowed + 1;
    for (auto candidate : candidates) {
        auto distance = edit_distance(folded, fold(candidate));
        if (distance < best_distance) {
            best = candidate;
            best_distance = distance;
        }
    }
    return best;
}

void assign(std::string& out, const Scalar& value) { out = std::get<std::string>(value); }
void assign(int& out, const Scalar& value) { out = static_cast<int>(std::get<std::int64_t>(value)); }
void assign(Vmid& out, const Scalar& value) { out.value = static_cast<std::uint32_t>(std::get<std::int64_t>(value)); }
void assign(Asn& out, const Scalar& value) { out.value = static_cast<std::uint32_t>(std::get<std::int64_t>(value)); }
void assign(bool& out, const Scalar& value) { out = std::get<bool>(value); }
void assign(Duration& out, const Scalar& value) { out = std::get<Duration>(value); }
void assign(DnsName& out, const Scalar& value) { out = std::get<DnsName>(value); }
void assign(IpInterface& out, const Scalar& value) { out = std::get<IpInterface>(value); }
void assign(IpAddress& out, const Scalar& value) { out = std::get<IpAddress>(value); }
void assign(SecretRef& out, const Scalar& value) { out = std::get<SecretRef>(value); }
void assign(std::filesystem::path& out, const Scalar& value) { out = std::get<std::filesystem::path>(value); }

void schema_bug(std::string_view section, std::string_view key, std::string_view problem) {
    std::fprintf(stderr, "dnsctl: inventory schema bug in %.*s.%.*s: %.*s\n", static_cast<int>(section.size()),
                 section.data(), static_cast<int>(key.size()), key.data(), static_cast<int>(problem.size()),
                 problem.data());
    std::abort();
}

Walker::Walker(Diagnostics& diagnostics, std::filesystem::path base_dir, SourceLocation document)
    : diagnostics_(diagnostics), base_dir_(std::move(base_dir)) {
    section_where_.push_back(document);
    key_where_.push_back(document);
    locations_.set_fallback(std::move(document));
}

Walker::Scope::Scope(Walker& walker, std::string segment, SourceLocation key_where, SourceLocation value_where)
    : walker_(walker) {
    walker_.path_.push_back(std::move(segment));
    walker_.key_where_.push_back(std::move(key_where));
    walker_.locations_.record(walker_.current_path(), std::move(value_where));
}

Walker::Scope::~Scope() {
    walker_.path_.pop_back();
    walker_.key_where_.pop_back();
}

void Walker::error(const SourceLocation& where, std::string_view message) {
    std::string prefix = current_path();
    diagnostics_.error(where, prefix.empty() ? std::string(message) : fmt::format("{}: {}", prefix, message));
}

std::optional<Scalar> Walker::scalar(const DocNode& value, const KeyInfo& key) {
    return parse(value, key.type, key.checks);
}

std::optional<std::vector<Scalar>> Walker::scalar_list(const DocNode& value, const KeyInfo& key) {
    if (value.kind != DocNode::Kind::sequence) {
        error(value.where, fmt::format("expected {}, got {}", describe_expected(key.type), to_string(value.kind)));
        return std::nullopt;
    }
    if (static_cast<std::int64_t>(value.items.size()) < key.type.min) {
        error(value.where, fmt::format("needs at least {} item{}", key.type.min, key.type.min == 1 ? "" : "s"));
    }
    std::vector<Scalar> out;
    bool ok = true;
    for (std::size_t i = 0; i < value.items.size(); ++i) {
        Scope scope(*this, fmt::format("[{}]", i), value.items[i].where, value.items[i].where);
        auto parsed = parse(value.items[i], *key.type.element, key.checks);
        if (parsed) {
            out.push_back(std::move(*parsed));
        } else {
            ok = false;
        }
    }
    if (!ok) return std::nullopt;
    return out;
}

DocNode Walker::default_node(const KeyInfo& key) const {
    DocNode node;
    node.where = section_where_.back();
    std::string_view text = key.default_text;
    if (key.type.kind == Kind::list) {
        node.kind = DocNode::Kind::sequence;
        if (text.starts_with('[')) text.remove_prefix(1);
        if (text.ends_with(']')) text.remove_suffix(1);
        while (!text.empty()) {
            auto comma = text.find(',');
            auto item = text.substr(0, comma);
            while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
            while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
            if (!item.empty()) {
                DocNode child;
                child.kind = DocNode::Kind::scalar;
                child.text = std::string(item);
                child.where = node.where;
                node.items.push_back(std::move(child));
            }
            if (comma == std::string_view::npos) break;
            text.remove_prefix(comma + 1);
        }
        return node;
    }
    node.kind = DocNode::Kind::scalar;
    node.text = std::string(text);
    return node;
}

std::optional<Scalar> Walker::parse(const DocNode& value, const TypeSpec& type, std::span<const Check> checks) {
    const bool secret = type.kind == Kind::secret_ref;
    if (value.kind != DocNode::Kind::scalar) {
        // Never quote what was written: a misplaced secret must not be echoed.
        error(value.where, fmt::format("expected {}, got {}", describe_expected(type), to_string(value.kind)));
        return std::nullopt;
    }
    const std::string& text = value.text;
    auto reject = [&](std::string_view problem) {
        error(value.where, problem);
        return std::optional<Scalar>{};
    };
    auto expected_got = [&]() {
        return secret ? fmt::format("expected {}", describe_expected(type))
                      : fmt::format("expected {}, got {}", describe_expected(type), quote(text));
    };
    if (text.empty()) return reject(fmt::format("expected {}, got an empty value", describe_expected(type)));
    std::optional<Scalar> out;
    switch (type.kind) {
    case Kind::string:
        out = text;
        break;
    case Kind::integer: {
        std::int64_t number = 0;
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
        if (ec != std::errc{} || ptr != text.data() + text.size()) return reject(expected_got());
        if (number < type.min || number > type.max) {
            return reject(fmt::format("{} is out of range: expected an integer from {} to {}", quote(text), type.min,
                                      type.max));
        }
        out = number;
        break;
    }
    case Kind::boolean:
        if (text == "true" || text == "True" || text == "TRUE") {
            out = true;
        } else if (text == "false" || text == "False" || text == "FALSE") {
            out = false;
        } else {
            return reject(expected_got());
        }
        break;
    case Kind::choice:
        if (std::find(type.choices.begin(), type.choices.end(), text) == type.choices.end()) {
            auto message = expected_got();
            if (auto near = closest_match(text, type.choices)) message += fmt::format("; did you mean '{}'?", *near);
            return reject(message);
        }
        out = text;
        break;
    case Kind::duration: {
        auto parsed = parse_duration(text);
        if (!parsed) return reject(expected_got());
        out = *parsed;
        break;
    }
    case Kind::dns_name: {
        auto parsed = DnsName::parse(text);
        if (!parsed) return reject(parsed.error().message);
        out = *parsed;
        break;
    }
    case Kind::node_name:
        if (!valid_node_name(text)) return reject(expected_got());
        out = text;
        break;
    case Kind::identifier:
        if (!valid_identifier(text)) return reject(expected_got());
        out = text;
        break;
    case Kind::ip_interface: {
        auto parsed = IpInterface::parse(text);
        if (!parsed) return reject(fmt::format("{}; expected {}", parsed.error().message, describe_expected(type)));
        out = *parsed;
        break;
    }
    case Kind::ip_address: {
        if (text.find('/') != std::string::npos) {
            return reject(fmt::format("{} has a prefix length; expected an address alone, such as 198.51.100.1",
                                      quote(text)));
        }
        auto parsed = IpAddress::parse(text);
        if (!parsed) return reject(expected_got());
        out = *parsed;
        break;
    }
    case Kind::secret_ref: {
        // The value is never quoted: if it is not a reference, it is likely the secret itself.
        if (text.starts_with("env:")) {
            std::string_view name = std::string_view(text).substr(4);
            bool valid = !name.empty() && !std::isdigit(static_cast<unsigned char>(name.front())) &&
                         std::all_of(name.begin(), name.end(), [](char c) {
                             return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                         });
            if (!valid) {
                return reject("the variable name after env: must be letters, digits and '_', not starting with a "
                              "digit (value not shown)");
            }
            out = SecretRef{SecretRef::Kind::env, std::string(name)};
        } else if (text.starts_with("file:") && text.size() > 5) {
            std::filesystem::path file(text.substr(5));
            out = SecretRef{SecretRef::Kind::file, (base_dir_ / file).lexically_normal().string()};
        } else {
            return reject("an inline secret is not allowed (the value is not shown): put the secret in an "
                          "environment variable or a file and write `env:VARIABLE` or `file:PATH` here");
        }
        break;
    }
    case Kind::path:
        if (text.starts_with('~')) {
            return reject(fmt::format("{}: '~' is not expanded; write an absolute path or one relative to the "
                                      "inventory's folder",
                                      quote(text)));
        }
        out = (base_dir_ / std::filesystem::path(text)).lexically_normal();
        break;
    case Kind::https_url: {
        bool may_echo = true;
        if (auto problem = url_problem(text, may_echo)) {
            return reject(may_echo ? fmt::format("{}: {}", quote(text), *problem) : *problem);
        }
        out = text;
        break;
    }
    case Kind::fingerprint: {
        auto normalized = normalize_fingerprint(text);
        if (!normalized) return reject(expected_got());
        out = *normalized;
        break;
    }
    case Kind::list:
    case Kind::section:
    case Kind::map:
        return reject(fmt::format("expected {}, got a scalar", describe_expected(type)));
    }
    for (const auto& check : checks) {
        if (auto problem = check.run(*out)) return reject(*problem);
    }
    // No value of an inventory holds a control character (ESC, a newline, …)
    // or bytes that are not UTF-8: such text never reaches a table, a log line
    // or a VM's configuration. Checked last, so the checks above say what a
    // pasted private key or secret is; the value itself is not shown.
    if (escape_control(text) != text) {
        return reject(fmt::format("contains a control character or bytes that are not UTF-8 (value not shown); "
                                  "expected {}",
                                  describe_expected(type)));
    }
    return out;
}

std::optional<std::size_t> Walker::key_index(const SectionInfo& info, const DocEntry& entry) {
    for (std::size_t i = 0; i < info.keys.size(); ++i) {
        if (info.keys[i].name == entry.key) return i;
    }
    std::vector<std::string_view> names;
    for (const auto& key : info.keys) names.push_back(key.name);
    std::string message = fmt::format("unknown key {}", quote(entry.key));
    if (auto near = closest_match(entry.key, names)) {
        message += fmt::format("; did you mean '{}'?", *near);
    } else {
        message += fmt::format("; expected one of: {}", joined(names, ", "));
    }
    error(entry.key_where, message);
    return std::nullopt;
}

bool Walker::repeated(std::map<std::string, SourceLocation>& seen, const std::string& key,
                      const SourceLocation& where, std::string_view what) {
    auto [it, inserted] = seen.emplace(key, where);
    if (inserted) return false;
    error(where, fmt::format("{} {} appears twice (first at line {}); the second is ignored", what, quote(key),
                             it->second.line));
    return true;
}

void Walker::expect_map(const DocNode& value, const SourceLocation& owner, const SectionInfo& info) {
    if (value.kind == DocNode::Kind::null) {
        error(owner, fmt::format("needs keys: {}", key_names(info)));
    } else {
        error(value.where, fmt::format("expected a map with keys {}, got {}", key_names(info), to_string(value.kind)));
    }
}

const DocEntry* RuleContext::entry(std::string_view key) const {
    for (std::size_t i = 0; i < info_.keys.size(); ++i) {
        if (info_.keys[i].name == key) return given_[i];
    }
    return nullptr;
}

bool RuleContext::given(std::string_view key) const { return entry(key) != nullptr; }

void RuleContext::error(std::string_view key, std::string_view message) {
    const DocEntry* e = entry(key);
    SourceLocation where = owner_;
    if (e != nullptr) where = e->value.kind == DocNode::Kind::null ? e->key_where : e->value.where;
    std::vector<std::string> path = walker_.path_;
    path.emplace_back(key);
    walker_.diagnostics_.error(where, fmt::format("{}: {}", join_path(path), message));
}

void RuleContext::error(std::string_view message) { walker_.error(owner_, message); }

}  // namespace dnsctl::schema
