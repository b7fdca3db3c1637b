#!/bin/sh
# The whole test suite on a fresh Debian 12 machine: installs the build and
# test packages, builds, and runs every test (unit, pve-sim, conformance,
# integration) under ctest. Run as root.
set -eu
cd "$(dirname "$0")/.."
build_dir=${DNSCTL_BUILD_DIR:-build}

scripts/install-deps.sh
scripts/install-test-deps.sh

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDNSCTL_WERROR=ON
cmake --build "$build_dir" -j "$(nproc)"
cd "$build_dir"
ctest --output-on-failure -j "$(nproc)" --timeout 600
