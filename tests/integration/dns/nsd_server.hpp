// Test support: an NSD of our own on 127.0.0.1 and ::1 (an unprivileged
// port, a temporary folder, no remote control) serving zone files as they
// are (presigned ones included). Stopped by its PID; the folder is removed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace dnsctl::integration {

struct NsdZone {
    std::string name;
    std::filesystem::path file;
};

class NsdServer {
public:
    // Starts nsd and waits (20 s at most) until every zone answers SOA.
    explicit NsdServer(std::vector<NsdZone> zones);
    ~NsdServer();
    NsdServer(const NsdServer&) = delete;
    NsdServer& operator=(const NsdServer&) = delete;

    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] std::string log() const;

private:
    TempDir dir_;
    std::uint16_t port_ = 0;
    std::unique_ptr<ChildProcess> nsd_;
};

}  // namespace dnsctl::integration
