#pragma once

namespace dnsctl {

// Parses the command line and runs one command; returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace dnsctl
