#!/bin/sh
# Installs what building and running dnsctl needs on Debian 12. Idempotent.
set -eu
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: run as root (it calls apt-get)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
    build-essential cmake ninja-build pkg-config ca-certificates \
    libcpprest-dev libboost-dev libboost-system-dev \
    libyaml-cpp-dev libssh2-1-dev libspdlog-dev libfmt-dev \
    catch2 libldns-dev libkainjow-mustache-dev libcli11-dev \
    nlohmann-json3-dev libpsl-dev libssl-dev openssl openssh-client
