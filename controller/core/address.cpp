#include "core/address.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <optional>
#include <utility>

namespace dnsctl {

namespace {

constexpr std::string_view kForms =
    "vm[<cluster>/<vmid>], host[<fqdn>], file[<host>:<absolute path>], service[<host>/<name>] or "
    "zone[<host>/<zone>]";

struct Form {
    ResourceKind kind;
    std::string_view word;
};
constexpr std::array<Form, 5> kKinds = {{
    {ResourceKind::vm, "vm"},
    {ResourceKind::host, "host"},
    {ResourceKind::file, "file"},
    {ResourceKind::service, "service"},
    {ResourceKind::zone, "zone"},
}};

bool name_chars(std::string_view text, std::string_view extra) {
    if (text.empty() || text.size() > 64) return false;
    return std::all_of(text.begin(), text.end(), [extra](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
    });
}

Result<Vmid> parse_vmid(std::string_view text) {
    std::uint32_t id = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc{} || ptr != text.data() + text.size() || id < Vmid::kMin || id > Vmid::kMax) {
        return fail(ErrorKind::invalid, "the VMID is not a number from 100 to 999999999");
    }
    return Vmid{id};
}

Result<DnsName> parse_host(std::string_view text) {
    if (text.empty()) return fail(ErrorKind::invalid, "no host");
    auto name = DnsName::parse(text);
    if (!name) return fail(ErrorKind::invalid, fmt::format("host: {}", name.error().message));
    return name;
}

// "<host><separator><rest>", split at the first separator.
std::optional<std::pair<std::string_view, std::string_view>> split_once(std::string_view inner, char separator) {
    auto at = inner.find(separator);
    if (at == std::string_view::npos) return std::nullopt;
    return std::pair{inner.substr(0, at), inner.substr(at + 1)};
}

Result<Address> parse_inner(ResourceKind kind, std::string_view inner) {
    switch (kind) {
        case ResourceKind::vm: {
            auto slash = inner.rfind('/');
            if (slash == std::string_view::npos) return fail(ErrorKind::invalid, "no '/' between cluster and VMID");
            auto cluster = inner.substr(0, slash);
            if (!valid_cluster_name(cluster)) {
                return fail(ErrorKind::invalid, "the cluster is not a name (letters, digits, '-', '_', '.')");
            }
            auto vmid = parse_vmid(inner.substr(slash + 1));
            if (!vmid) return std::unexpected(vmid.error());
            return Address(VmRef{std::string(cluster), *vmid});
        }
        case ResourceKind::host: {
            auto host = parse_host(inner);
            if (!host) return std::unexpected(host.error());
            return Address(HostRef{*host});
        }
        case ResourceKind::file: {
            auto parts = split_once(inner, ':');
            if (!parts) return fail(ErrorKind::invalid, "no ':' between host and path");
            auto host = parse_host(parts->first);
            if (!host) return std::unexpected(host.error());
            if (!valid_absolute_path(parts->second)) {
                return fail(ErrorKind::invalid,
                            "the path is not absolute and normalised (no '.', '..' or empty segments, no control "
                            "characters, no trailing '/')");
            }
            return Address(FileRef{*host, std::string(parts->second)});
        }
        case ResourceKind::service: {
            auto parts = split_once(inner, '/');
            if (!parts) return fail(ErrorKind::invalid, "no '/' between host and service");
            auto host = parse_host(parts->first);
            if (!host) return std::unexpected(host.error());
            if (!valid_service_name(parts->second)) {
                return fail(ErrorKind::invalid, "the service is not a unit name (letters, digits, '-', '_', '.', '@')");
            }
            return Address(ServiceRef{*host, std::string(parts->second)});
        }
        case ResourceKind::zone: {
            auto parts = split_once(inner, '/');
            if (!parts) return fail(ErrorKind::invalid, "no '/' between host and zone");
            auto host = parse_host(parts->first);
            if (!host) return std::unexpected(host.error());
            auto zone = DnsName::parse(parts->second);
            if (!zone) return fail(ErrorKind::invalid, fmt::format("zone: {}", zone.error().message));
            return Address(ZoneRef{*host, *zone});
        }
    }
    return fail(ErrorKind::invalid, "unknown kind");
}

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

std::string_view to_string(ResourceKind kind) {
    for (const auto& form : kKinds) {
        if (form.kind == kind) return form.word;
    }
    return "?";
}

bool valid_cluster_name(std::string_view name) { return name_chars(name, "-_."); }

bool valid_service_name(std::string_view name) { return name_chars(name, "-_.@"); }

bool valid_absolute_path(std::string_view path) {
    if (path.empty() || path.front() != '/' || path.size() > 4096) return false;
    if (path.size() > 1 && path.back() == '/') return false;
    if (std::any_of(path.begin(), path.end(), [](char c) {
            auto u = static_cast<unsigned char>(c);
            return u < 0x20 || u == 0x7f;
        })) {
        return false;
    }
    std::size_t start = 1;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        auto segment = path.substr(start, end - start);
        if (path.size() > 1 && (segment.empty() || segment == "." || segment == "..")) return false;
        start = end + 1;
    }
    return true;
}

Result<Address> Address::parse(std::string_view text) {
    auto bad = [&](std::string_view why) {
        return fail(ErrorKind::invalid,
                    fmt::format("'{}' is not a resource address ({}); expected {}", text, why, kForms));
    };
    auto open = text.find('[');
    if (open == std::string_view::npos || !text.ends_with("]")) return bad("no <kind>[…] around it");
    auto word = text.substr(0, open);
    const Form* form = nullptr;
    for (const auto& candidate : kKinds) {
        if (candidate.word == word) form = &candidate;
    }
    if (form == nullptr) return bad(fmt::format("unknown kind '{}'", word));
    auto parsed = parse_inner(form->kind, text.substr(open + 1, text.size() - open - 2));
    if (!parsed) return bad(parsed.error().message);
    return parsed;
}

std::string Address::str() const {
    return std::visit(Overloaded{
                          [](const VmRef& r) { return fmt::format("vm[{}/{}]", r.cluster, r.vmid.value); },
                          [](const HostRef& r) { return fmt::format("host[{}]", r.host.str()); },
                          [](const FileRef& r) { return fmt::format("file[{}:{}]", r.host.str(), r.path); },
                          [](const ServiceRef& r) { return fmt::format("service[{}/{}]", r.host.str(), r.name); },
                          [](const ZoneRef& r) { return fmt::format("zone[{}/{}]", r.host.str(), r.zone.str()); },
                      },
                      value_);
}

}  // namespace dnsctl
