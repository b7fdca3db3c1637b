// Test support: small servers on 127.0.0.1 that misbehave on purpose, to see
// the probe ignore strays, time out, and read answers in pieces. Each one
// serves from its own thread until destroyed.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <thread>
#include <vector>

namespace dnsctl::integration {

// The reply to a query made by hand, as tests need it: the query with QR and
// AA set (its question and OPT record stay).
std::vector<std::uint8_t> echo_answer(std::span<const std::uint8_t> query);

// A UDP socket on 127.0.0.1 that never answers; counts what arrives.
class SilentUdpServer {
public:
    SilentUdpServer();
    ~SilentUdpServer();
    SilentUdpServer(const SilentUdpServer&) = delete;
    SilentUdpServer& operator=(const SilentUdpServer&) = delete;
    [[nodiscard]] std::uint16_t port() const { return port_; }
    int received();  // datagrams waiting in the socket (read and counted)

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

// A UDP server on 127.0.0.1: for each query, sends what `reply` returns, in
// order, each datagram from the server's socket unless marked `from_other`
// (then from another socket, so another source port).
struct Datagram {
    std::vector<std::uint8_t> bytes;
    bool from_other = false;
};
class ScriptedUdpServer {
public:
    using Reply = std::function<std::vector<Datagram>(std::span<const std::uint8_t> query)>;
    explicit ScriptedUdpServer(Reply reply);
    ~ScriptedUdpServer();
    ScriptedUdpServer(const ScriptedUdpServer&) = delete;
    ScriptedUdpServer& operator=(const ScriptedUdpServer&) = delete;
    [[nodiscard]] std::uint16_t port() const { return port_; }

private:
    int fd_ = -1;
    int other_fd_ = -1;
    std::uint16_t port_ = 0;
    Reply reply_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// A TCP server on 127.0.0.1: reads one length-framed query per connection,
// then writes the framed answer `reply` returns, `chunk` bytes at a time with
// a short pause between pieces.
class ScriptedTcpServer {
public:
    using Reply = std::function<std::vector<std::uint8_t>(std::span<const std::uint8_t> query)>;
    ScriptedTcpServer(Reply reply, std::size_t chunk);
    ~ScriptedTcpServer();
    ScriptedTcpServer(const ScriptedTcpServer&) = delete;
    ScriptedTcpServer& operator=(const ScriptedTcpServer&) = delete;
    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] int connections() const { return connections_; }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
    Reply reply_;
    std::size_t chunk_;
    std::atomic<bool> stop_{false};
    std::atomic<int> connections_{0};
    std::thread thread_;
};

}  // namespace dnsctl::integration
