// dnsctl entry point: process-wide set-up, then the command table in
// cli/commands.cpp. Plugins are registered here, explicitly, once the
// commands that use them exist (plugins/plugins.hpp); validate needs none.
#include "cli/commands.hpp"
#include "proxmox/cpprest_proxmox_api.hpp"

int main(int argc, char** argv) {
    // Before any thread: every Proxmox connection names its own trust (pin or
    // CA file), so OpenSSL's default CA bundle is never loaded per connection.
    dnsctl::skip_default_ca_loading();
    return dnsctl::run_cli(argc, argv);
}
