// Resource addresses of the VM layer: vm[<cluster>/<vmid>] (DESIGN §5). Used
// in plans, JSON and `--replace ADDR`.
#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/types.hpp"

namespace dnsctl {

struct VmAddress {
    std::string cluster;
    Vmid vmid;

    static Result<VmAddress> parse(std::string_view text);  // "vm[th2/101]"
    [[nodiscard]] std::string str() const;
    friend auto operator<=>(const VmAddress&, const VmAddress&) = default;
};

std::string vm_address(std::string_view cluster, Vmid vmid);

}  // namespace dnsctl
