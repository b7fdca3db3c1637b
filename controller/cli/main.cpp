// dnsctl entry point: process-wide set-up, then the command table in
// cli/commands.cpp. Plugins are registered here, explicitly, once the
// commands that use them exist (plugins/plugins.hpp); validate needs none.
#include "cli/commands.hpp"
#include "proxmox/cpprest_proxmox_api.hpp"

int main(int argc, char** argv) {
    // Before any thread: the system trust (the operator's SSL_CERT_FILE /
    // SSL_CERT_DIR, else OpenSSL's defaults) is recorded for the clusters that
    // name neither pin nor CA file, then OpenSSL's default CA bundle is no
    // longer loaded for every connection.
    dnsctl::skip_default_ca_loading();
    return dnsctl::run_cli(argc, argv);
}
