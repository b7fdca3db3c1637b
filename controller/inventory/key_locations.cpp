#include "inventory/key_locations.hpp"

namespace dnsctl {

namespace {

// The parent of a key path: "a[x.y].b" -> "a[x.y]" -> "a" -> "".
std::string_view parent_path(std::string_view path) {
    if (path.ends_with(']')) {
        auto open = path.rfind('[');
        return open == std::string_view::npos ? std::string_view{} : path.substr(0, open);
    }
    auto cut = path.find_last_of(".]");
    if (cut == std::string_view::npos) return {};
    return path[cut] == ']' ? path.substr(0, cut + 1) : path.substr(0, cut);
}

}  // namespace

void KeyLocations::record(std::string path, SourceLocation where) { where_[std::move(path)] = std::move(where); }

SourceLocation KeyLocations::at(std::string_view path) const {
    while (!path.empty()) {
        if (auto it = where_.find(path); it != where_.end()) return it->second;
        path = parent_path(path);
    }
    return fallback_;
}

}  // namespace dnsctl
