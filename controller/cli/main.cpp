// dnsctl entry point: process-wide set-up, then the command table in
// cli/commands.cpp. Plugins are registered here, explicitly, once the
// commands that use them exist (plugins/plugins.hpp); validate needs none.
#include "cli/commands.hpp"

int main(int argc, char** argv) { return dnsctl::run_cli(argc, argv); }
