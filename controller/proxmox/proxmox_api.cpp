#include "proxmox/proxmox_api.hpp"

#include <fmt/format.h>

namespace dnsctl {

bool TaskStatus::succeeded() const {
    if (running) return false;
    if (exitstatus == "OK") return true;
    // "WARNINGS: <n>" means the task succeeded with warnings.
    constexpr std::string_view prefix = "WARNINGS: ";
    if (exitstatus.rfind(prefix, 0) != 0 || exitstatus.size() == prefix.size()) return false;
    for (std::size_t i = prefix.size(); i < exitstatus.size(); ++i) {
        if (exitstatus[i] < '0' || exitstatus[i] > '9') return false;
    }
    return true;
}

Result<std::string> upid_node(const std::string& upid) {
    // UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:
    if (upid.rfind("UPID:", 0) != 0) return fail(ErrorKind::invalid, fmt::format("'{}' is not a UPID", upid));
    auto end = upid.find(':', 5);
    if (end == std::string::npos || end == 5) return fail(ErrorKind::invalid, fmt::format("'{}' is not a UPID", upid));
    return upid.substr(5, end - 5);
}

}  // namespace dnsctl
