// The schema walker on a toy schema: every kind, defaults, required keys,
// unknown and repeated keys, maps, lists, rules, and where problems are reported.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "inventory/schema.hpp"
#include "inventory/yaml_document.hpp"

using namespace dnsctl;
using namespace dnsctl::schema;

namespace {

enum class Color { red, green };
constexpr std::pair<std::string_view, Color> kColors[] = {{"red", Color::red}, {"green", Color::green}};

struct Inner {
    int low = 0;
    int high = 0;
    SourceLocation where;
};

struct Item {
    DnsName name;
    std::string label;
    SourceLocation where;
};

struct Toy {
    std::string text;
    int count = -1;
    bool enabled = false;
    Duration wait{0};
    DnsName domain;
    std::string node;
    std::string id;
    IpInterface iface;
    IpAddress address;
    SecretRef secret;
    std::filesystem::path file;
    std::string url;
    std::string pin;
    Color color = Color::red;
    std::optional<int> limit;
    std::vector<std::string> tags;
    Inner inner;
    std::optional<Inner> extra;
    std::vector<Item> items;
    std::vector<Inner> ranges;
};

const Section<Inner>& inner_section() {
    static const Section<Inner> s = [] {
        Section<Inner> s("inner", "a range");
        s.add({.name = "low", .type = integer(0, 100), .default_text = "1"}, &Inner::low);
        s.add({.name = "high", .type = integer(0, 100), .default_text = "10"}, &Inner::high);
        s.rule({"low", "high"}, "low <= high", [](const Inner& r, RuleContext& ctx) {
            if (r.low > r.high) ctx.error("high", "must not be below low");
        });
        return s;
    }();
    return s;
}

const Section<Item>& item_section() {
    static const Section<Item> s = [] {
        Section<Item> s("items.<name>", "an item");
        s.add({.name = "label", .type = text(), .required = true, .example = "hello"}, &Item::label);
        return s;
    }();
    return s;
}

const Section<Toy>& toy_section() {
    static const Section<Toy> s = [] {
        Section<Toy> s("toy", "everything");
        s.add({.name = "text", .type = text(), .required = true, .example = "hi"}, &Toy::text);
        s.add({.name = "count", .type = integer(1, 10), .default_text = "3"}, &Toy::count);
        s.add({.name = "enabled", .type = boolean(), .default_text = "true"}, &Toy::enabled);
        s.add({.name = "wait", .type = duration(), .default_text = "2h"}, &Toy::wait);
        s.add({.name = "domain", .type = dns_name()}, &Toy::domain);
        s.add({.name = "node", .type = node_name()}, &Toy::node);
        s.add({.name = "id", .type = identifier()}, &Toy::id);
        s.add({.name = "iface", .type = ip_interface()}, &Toy::iface);
        s.add({.name = "address", .type = ip_address()}, &Toy::address);
        s.add({.name = "secret", .type = secret_ref()}, &Toy::secret);
        s.add({.name = "file", .type = path()}, &Toy::file);
        s.add({.name = "url", .type = https_url()}, &Toy::url);
        s.add({.name = "pin", .type = fingerprint()}, &Toy::pin);
        s.add_choice({.name = "color", .default_text = "green"}, &Toy::color, kColors);
        s.add({.name = "limit",
               .type = integer(0, 1000),
               .checks = {{"even", [](const Scalar& v) -> std::optional<std::string> {
                               if (std::get<std::int64_t>(v) % 2 == 0) return std::nullopt;
                               return std::string("must be even");
                           }}}},
              &Toy::limit);
        s.add({.name = "tags", .type = list_of(text()), .default_text = "[a, b]"}, &Toy::tags);
        s.add_section({.name = "inner"}, &Toy::inner, inner_section());
        s.add_section({.name = "extra"}, &Toy::extra, inner_section());
        s.add_map({.name = "items", .type = map_of(Kind::dns_name, item_section().info(), 1)}, &Toy::items,
                  &Item::name, item_section());
        s.add_list({.name = "ranges", .type = list_of(section(inner_section().info()))}, &Toy::ranges,
                   inner_section());
        return s;
    }();
    return s;
}

struct Walked {
    Toy toy;
    Diagnostics diagnostics;
    KeyLocations locations;
};

Walked walk(std::string_view yaml) {
    Walked out;
    auto document = parse_yaml_document(yaml, "toy.yaml", out.diagnostics);
    REQUIRE(document);
    Walker walker(out.diagnostics, "/base", SourceLocation{"toy.yaml", 1, 1});
    walker.walk(*document, toy_section(), out.toy);
    out.locations = walker.locations();
    out.diagnostics.sort();
    return out;
}

std::string all(const Diagnostics& diagnostics) {
    std::string out;
    for (const auto& d : diagnostics.items()) out += d.format() + "\n";
    return out;
}

// The single error of a walk, as "line:col: message".
std::string only_error(const Walked& w) {
    INFO(all(w.diagnostics));
    REQUIRE(w.diagnostics.error_count() == 1);
    const auto& d = w.diagnostics.items()[0];
    return std::to_string(d.where.line) + ":" + std::to_string(d.where.column) + ": " + d.message;
}

}  // namespace

TEST_CASE("schema walker: every scalar kind reaches its typed field") {
    auto w = walk(R"(text: hello
count: 7
enabled: false
wait: 14d
domain: NS1.Example.EU.
node: pve-1
id: local_lvm.2
iface: 198.51.100.10/24
address: 2001:db8::1
secret: file:secrets/token
file: ../x/y.pem
url: https://[2001:db8::2]:8006
pin: 0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef
color: red
limit: 42
tags: [x, y, z]
items:
  a.example.eu: {label: first}
)");
    INFO(all(w.diagnostics));
    REQUIRE(w.diagnostics.empty());
    const Toy& t = w.toy;
    CHECK(t.text == "hello");
    CHECK(t.count == 7);
    CHECK_FALSE(t.enabled);
    CHECK(t.wait == Duration(14 * 86400));
    CHECK(t.domain.str() == "ns1.example.eu");
    CHECK(t.node == "pve-1");
    CHECK(t.id == "local_lvm.2");
    CHECK(t.iface.str() == "198.51.100.10/24");
    CHECK(t.address.str() == "2001:db8::1");
    CHECK(t.secret.kind == SecretRef::Kind::file);
    CHECK(t.secret.target == "/base/secrets/token");
    CHECK(t.file == "/x/y.pem");
    CHECK(t.url == "https://[2001:db8::2]:8006");
    CHECK(t.pin == "01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF");
    CHECK(t.color == Color::red);
    CHECK(t.limit == 42);
    CHECK(t.tags == std::vector<std::string>{"x", "y", "z"});
    REQUIRE(t.items.size() == 1);
    CHECK(t.items[0].name.str() == "a.example.eu");
    CHECK(t.items[0].label == "first");
    CHECK(t.items[0].where.line == 18);
    CHECK(t.items[0].where.column == 3);
}

TEST_CASE("schema walker: absent keys take their defaults, nested sections included, optional ones stay empty") {
    auto w = walk("text: hi\nitems: {a.example.eu: {label: x}}\n");
    INFO(all(w.diagnostics));
    REQUIRE(w.diagnostics.empty());
    CHECK(w.toy.count == 3);
    CHECK(w.toy.enabled);
    CHECK(w.toy.wait == Duration(7200));
    CHECK(w.toy.color == Color::green);
    CHECK(w.toy.tags == std::vector<std::string>{"a", "b"});
    CHECK(w.toy.inner.low == 1);
    CHECK(w.toy.inner.high == 10);
    CHECK_FALSE(w.toy.limit);
    CHECK_FALSE(w.toy.extra);
    CHECK(w.toy.ranges.empty());
}

TEST_CASE("schema walker: an empty value counts as absent, unless the key is required") {
    auto w = walk("text: hi\ncount:\nitems: {a.example.eu: {label: x}}\n");
    INFO(all(w.diagnostics));
    CHECK(w.diagnostics.empty());
    CHECK(w.toy.count == 3);

    auto missing = walk("text:\nitems: {a.example.eu: {label: x}}\n");
    CHECK(only_error(missing) == "1:1: text: needs a value: a non-empty string");
}

TEST_CASE("schema walker: a missing required key is reported at its section, with an example") {
    auto w = walk("count: 2\nitems: {a.example.eu: {}}\n");
    INFO(all(w.diagnostics));
    REQUIRE(w.diagnostics.error_count() == 2);
    CHECK(w.diagnostics.items()[0].format() ==
          "toy.yaml:1:1: error: missing required key 'text' (a non-empty string), e.g. `text: hi`");
    CHECK(w.diagnostics.items()[1].format() ==
          "toy.yaml:2:9: error: items[a.example.eu]: missing required key 'label' (a non-empty string), e.g. "
          "`label: hello`");
}

TEST_CASE("schema walker: unknown keys are rejected with a suggestion when one is close") {
    auto near = walk("text: hi\ncuont: 2\nitems: {a.example.eu: {label: x}}\n");
    CHECK(only_error(near) == "2:1: unknown key 'cuont'; did you mean 'count'?");
    auto dashed = walk("text: hi\nitems: {a.example.eu: {label: x}}\ninner: {Low: 2}\n");
    CHECK(only_error(dashed) == "3:9: inner: unknown key 'Low'; did you mean 'low'?");
    auto far = walk("text: hi\nitems: {a.example.eu: {label: x}}\ninner: {zzzzzz: 2}\n");
    CHECK(only_error(far) == "3:9: inner: unknown key 'zzzzzz'; expected one of: low, high");
}

TEST_CASE("schema walker: a key or entry given twice is reported at the second") {
    auto key = walk("text: hi\ncount: 2\ncount: 3\nitems: {a.example.eu: {label: x}}\n");
    CHECK(only_error(key) == "3:1: key 'count' appears twice (first at line 2); the second is ignored");
    CHECK(key.toy.count == 2);
    auto entry = walk("text: hi\nitems:\n  a.example.eu: {label: x}\n  A.EXAMPLE.EU.: {label: y}\n");
    CHECK(only_error(entry) == "4:3: items: entry 'a.example.eu' appears twice (first at line 3); the second is "
                               "ignored");
    CHECK(entry.toy.items.size() == 1);
}

TEST_CASE("schema walker: type errors name the key path, the value and what is expected") {
    struct Case {
        std::string_view yaml;
        std::string_view error;
    };
    const Case cases[] = {
        {"count: 11", "1:8: count: '11' is out of range: expected an integer from 1 to 10"},
        {"count: 3.5", "1:8: count: expected an integer from 1 to 10, got '3.5'"},
        {"count: 99999999999999999999", "1:8: count: expected an integer from 1 to 10, got '99999999999999999999'"},
        {"count: {a: 1}", "1:8: count: expected an integer from 1 to 10, got a map"},
        {"enabled: yes", "1:10: enabled: expected true or false, got 'yes'"},
        {"wait: 5 minutes", "1:7: wait: expected a duration such as 14d"},
        {"domain: a..b", "1:9: domain: 'a..b' is not a valid domain name"},
        {"node: -pve", "1:7: node: expected a host name (letters, digits and '-', at most 63), got '-pve'"},
        {"id: my storage", "1:5: id: expected a name (letters, digits, '-', '_' and '.', at most 63), got 'my storage'"},
        {"iface: 198.51.100.10", "1:8: iface: '198.51.100.10' needs a prefix length"},
        {"address: 198.51.100.1/24", "1:10: address: '198.51.100.1/24' has a prefix length"},
        {"address: fe80::zz", "1:10: address: expected an IP address such as 198.51.100.1 or 2001:db8::1, got "
                              "'fe80::zz'"},
        {"file: ~/key", "1:7: file: '~/key': '~' is not expanded"},
        {"url: https://pve:99999", "1:6: url: 'https://pve:99999': the URL's port must be a number from 1 to 65535"},
        {"url: https://", "1:6: url: 'https://': the URL has no host"},
        {"url: https://2001:db8::1:8006", "the URL's host is neither a host name nor an IP address (IPv6 goes in "
                                          "brackets)"},
        {"pin: 0123:4567", "1:6: pin: expected a SHA-256 fingerprint"},
        {"color: gren", "1:8: color: expected one of red, green, got 'gren'; did you mean 'green'?"},
        {"limit: 3", "1:8: limit: must be even"},
        {"tags: x", "1:7: tags: expected a list, each item a non-empty string, got a scalar"},
        {"tags: [a, [b]]", "1:11: tags[1]: expected a non-empty string, got a list"},
        {"inner: 5", "1:8: inner: expected a map with keys low, high, got a scalar"},
        {"items: {}", "1:8: items: needs at least 1 entry"},
        {"items: {ns_1..x: {label: a}}", "1:9: items: 'ns_1..x' is not a valid domain name"},
        {"ranges: [{low: 1}, {low: x}]", "1:26: ranges[1].low: expected an integer from 0 to 100, got 'x'"},
    };
    for (const auto& c : cases) {
        // The case sits on line 1, so its columns read naturally.
        std::string yaml = std::string(c.yaml) + "\ntext: hi\n";
        if (c.yaml.find("items:") == std::string_view::npos) yaml += "items: {a.example.eu: {label: x}}\n";
        auto w = walk(yaml);
        INFO(c.yaml);
        CHECK_THAT(only_error(w), Catch::Contains(std::string(c.error)));
    }
}

TEST_CASE("schema walker: a value that is not a secret reference is never quoted") {
    const char* secrets[] = {"secret: hunter2-value", "secret: env:not a name hunter2-value",
                             "secret: \"env:\"", "secret: [hunter2-value]"};
    for (const char* line : secrets) {
        auto w = walk(std::string(line) + "\ntext: hi\nitems: {a.example.eu: {label: x}}\n");
        INFO(line);
        auto message = only_error(w);
        CHECK(message.find("hunter2") == std::string::npos);
        CHECK(message.find("secret:") != std::string::npos);
    }
    auto inline_secret = walk("secret: hunter2-value\ntext: hi\nitems: {a.example.eu: {label: x}}\n");
    CHECK_THAT(only_error(inline_secret), Catch::Contains("an inline secret is not allowed") &&
                                              Catch::Contains("`env:VARIABLE` or `file:PATH`"));
    auto env = walk("secret: env:DNSCTL_X\ntext: hi\nitems: {a.example.eu: {label: x}}\n");
    CHECK(env.diagnostics.empty());
    CHECK(env.toy.secret.describe() == "env:DNSCTL_X");
}

TEST_CASE("schema walker: URLs with credentials are refused without being quoted") {
    auto w = walk("url: https://root:pa55@pve:8006\ntext: hi\nitems: {a.example.eu: {label: x}}\n");
    auto message = only_error(w);
    CHECK(message.find("pa55") == std::string::npos);
    CHECK_THAT(message, Catch::Contains("must not carry credentials"));
}

TEST_CASE("schema walker: rules run on clean keys only and report at the key") {
    auto broken = walk("text: hi\nitems: {a.example.eu: {label: x}}\ninner:\n  low: 20\n  high: 5\n");
    CHECK(only_error(broken) == "5:9: inner.high: must not be below low");
    // `low` itself is wrong: the rule stays quiet instead of piling on.
    auto skipped = walk("text: hi\nitems: {a.example.eu: {label: x}}\ninner:\n  low: 200\n  high: 5\n");
    CHECK(only_error(skipped) == "4:8: inner.low: '200' is out of range: expected an integer from 0 to 100");
    // Rules see defaults too: high defaults to 10.
    auto defaulted = walk("text: hi\nitems: {a.example.eu: {label: x}}\nranges:\n  - low: 50\n");
    CHECK(only_error(defaulted) == "4:5: ranges[0].high: must not be below low");
}

TEST_CASE("schema walker: an optional section with errors stays absent") {
    auto w = walk("text: hi\nitems: {a.example.eu: {label: x}}\nextra: {low: 500}\n");
    CHECK(w.diagnostics.error_count() == 1);
    CHECK_FALSE(w.toy.extra);
    auto ok = walk("text: hi\nitems: {a.example.eu: {label: x}}\nextra: {low: 5}\n");
    REQUIRE(ok.toy.extra);
    CHECK(ok.toy.extra->low == 5);
    CHECK(ok.toy.extra->high == 10);
    CHECK(ok.toy.extra->where.line == 3);
}

TEST_CASE("schema walker: every problem of a document is reported in one walk") {
    auto w = walk("cuont: 1\nenabled: maybe\nitems: {a.example.eu: {}}\ninner: {low: 9, high: 2}\ncolor: blue\n");
    INFO(all(w.diagnostics));
    CHECK(w.diagnostics.error_count() == 6);  // unknown key, bool, label, rule, choice, missing text
}

TEST_CASE("schema walker: key locations fall back to the nearest recorded parent") {
    auto w = walk("text: hi\nitems:\n  a.example.eu:\n    label: x\n");
    CHECK(w.locations.at("items[a.example.eu].label").line == 4);
    CHECK(w.locations.at("items[a.example.eu].label").column == 12);
    CHECK(w.locations.at("items[a.example.eu].nothing").line == 3);
    CHECK(w.locations.at("items[b.example.eu]").line == 3);  // the value of `items`
    CHECK(w.locations.at("nowhere").line == 1);
}

TEST_CASE("schema: closest_match folds case and dashes and refuses distant words") {
    const std::string_view keys[] = {"token_secret", "token_id", "datacenter", "vlan"};
    CHECK(closest_match("token-secret", keys) == "token_secret");
    CHECK(closest_match("datacentre", keys) == "datacenter");
    CHECK(closest_match("VLAN", keys) == "vlan");
    CHECK(closest_match("vlna", keys) == "vlan");
    CHECK_FALSE(closest_match("storage", keys));
    CHECK_FALSE(closest_match("x", keys));
}

TEST_CASE("schema: paths join keys with dots and entries with brackets") {
    const std::vector<std::string> segments = {"nameservers", "[ns1.example.eu]", "ipv4", "address"};
    CHECK(join_path(segments) == "nameservers[ns1.example.eu].ipv4.address");
    const std::vector<std::string> list = {"asn_sources", "[0]", "[1]"};
    CHECK(join_path(list) == "asn_sources[0][1]");
}

TEST_CASE("yaml adapter: locations are 1-based, empty values sit at their key, parse errors at the parser's mark") {
    Diagnostics diagnostics;
    auto doc = parse_yaml_document("a: 1\nb:\n  c: x\nd:\n", "f.yaml", diagnostics);
    REQUIRE(doc);
    REQUIRE(doc->entries.size() == 3);
    CHECK(doc->entries[0].key_where.format() == "f.yaml:1:1");
    CHECK(doc->entries[0].value.where.format() == "f.yaml:1:4");
    CHECK(doc->entries[1].value.entries[0].value.where.format() == "f.yaml:3:6");
    CHECK(doc->entries[2].value.kind == DocNode::Kind::null);
    CHECK(doc->entries[2].value.where.format() == "f.yaml:4:1");

    auto bad = parse_yaml_document("a: 1\n b: 2\n", "g.yaml", diagnostics);
    CHECK_FALSE(bad);
    REQUIRE(diagnostics.error_count() == 1);
    CHECK(diagnostics.items()[0].format() == "g.yaml:2:3: error: invalid YAML: illegal map value");

    Diagnostics complex;
    auto with_complex_key = parse_yaml_document("? [a, b]\n: 1\nc: 2\n", "h.yaml", complex);
    REQUIRE(with_complex_key);
    CHECK(with_complex_key->entries.size() == 1);
    REQUIRE(complex.error_count() == 1);
    CHECK(complex.items()[0].message == "a map key must be a plain name, not a list or a map");
}

TEST_CASE("yaml adapter: a second document is an error, a recursive alias does not recurse forever") {
    Diagnostics two;
    auto doc = parse_yaml_document("a: 1\n---\nb: 2\n", "two.yaml", two);
    REQUIRE(doc);
    CHECK(doc->entries.size() == 1);
    REQUIRE(two.error_count() == 1);
    CHECK(two.items()[0].format() == "two.yaml:3:1: error: a second YAML document (after `---`): an inventory is one "
                                     "document");

    Diagnostics recursive;
    auto loop = parse_yaml_document("a: &x\n  b: *x\n", "loop.yaml", recursive);
    CHECK_FALSE(loop);
    CHECK(recursive.error_count() == 1);

    Diagnostics empty;
    auto nothing = parse_yaml_document("# only a comment\n", "empty.yaml", empty);
    REQUIRE(nothing);
    CHECK(nothing->kind == DocNode::Kind::null);
    CHECK(empty.empty());
}

TEST_CASE("schema walker: a map entry with no value takes every default") {
    auto w = walk("text: hi\nitems:\n  a.example.eu:\n");
    INFO(all(w.diagnostics));
    // label is required: reported at the entry.
    CHECK(only_error(w) == "3:3: items[a.example.eu]: missing required key 'label' (a non-empty string), e.g. "
                           "`label: hello`");
    REQUIRE(w.toy.items.size() == 1);
}
