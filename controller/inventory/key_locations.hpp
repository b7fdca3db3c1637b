// Where each key path of an inventory sits in its file
// ("nameservers[ns1.example.eu].asn" -> inventory.yaml:40:10), so checks that
// run after loading (references, uniqueness, the policy) can point at the line.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "core/diagnostics.hpp"

namespace dnsctl {

class KeyLocations {
public:
    void record(std::string path, SourceLocation where);
    // The value's location; a path not recorded (a key left at its default)
    // falls back to its nearest recorded parent, then to the file itself.
    [[nodiscard]] SourceLocation at(std::string_view path) const;
    void set_fallback(SourceLocation where) { fallback_ = std::move(where); }

private:
    std::map<std::string, SourceLocation, std::less<>> where_;
    SourceLocation fallback_;
};

}  // namespace dnsctl
