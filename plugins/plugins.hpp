// Explicit plugin registration, called from main() (never static initialisers).
#pragma once

namespace dnsctl {

struct PluginRegistry;

void register_builtin_plugins(PluginRegistry& registry);

}  // namespace dnsctl
