#include "plugins.hpp"

namespace dnsctl {

struct PluginRegistry {};

void register_builtin_plugins(PluginRegistry&) {}

}  // namespace dnsctl
