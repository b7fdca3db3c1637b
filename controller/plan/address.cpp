#include "plan/address.hpp"

#include <fmt/format.h>

#include <charconv>

namespace dnsctl {

std::string vm_address(std::string_view cluster, Vmid vmid) { return fmt::format("vm[{}/{}]", cluster, vmid.value); }

std::string VmAddress::str() const { return vm_address(cluster, vmid); }

Result<VmAddress> VmAddress::parse(std::string_view text) {
    auto bad = [&](std::string_view why) {
        return fail(ErrorKind::invalid, fmt::format("'{}' is not a VM address ({}); expected vm[<cluster>/<vmid>]",
                                                    text, why));
    };
    constexpr std::string_view kOpen = "vm[";
    if (!text.starts_with(kOpen) || !text.ends_with("]")) return bad("no vm[…] around it");
    auto inner = text.substr(kOpen.size(), text.size() - kOpen.size() - 1);
    auto slash = inner.rfind('/');
    if (slash == std::string_view::npos || slash == 0) return bad("no cluster");
    auto id_text = inner.substr(slash + 1);
    std::uint32_t id = 0;
    auto [ptr, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
    if (ec != std::errc{} || ptr != id_text.data() + id_text.size() || id < Vmid::kMin || id > Vmid::kMax) {
        return bad("the VMID is not a number from 100 to 999999999");
    }
    return VmAddress{std::string(inner.substr(0, slash)), Vmid{id}};
}

}  // namespace dnsctl
