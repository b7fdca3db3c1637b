// dnsctl entry point: global library initialisation, plugin registration, then
// the command table in cli/commands.cpp.
#include "cli/commands.hpp"
#include "plugins.hpp"

int main(int argc, char** argv) {
    return dnsctl::run_cli(argc, argv);
}
