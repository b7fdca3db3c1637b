#include "dns/dns_backend.hpp"

namespace dnsctl {

std::string_view to_string(ServerRole role) { return role == ServerRole::primary ? "primary" : "secondary"; }

}  // namespace dnsctl
