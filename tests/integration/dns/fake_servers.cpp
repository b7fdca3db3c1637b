#include "fake_servers.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

namespace dnsctl::integration {

namespace {

int bound_socket(int type, std::uint16_t& port) {
    int fd = socket(AF_INET, type, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        close(fd);
        throw std::runtime_error("bind failed");
    }
    socklen_t length = sizeof address;
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
    return fd;
}

bool readable(int fd, int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, timeout_ms) > 0;
}

bool read_exactly(int fd, std::uint8_t* data, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
        if (!readable(fd, 2000)) return false;
        ssize_t n = recv(fd, data + done, size - done, 0);
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

}  // namespace

std::vector<std::uint8_t> echo_answer(std::span<const std::uint8_t> query) {
    std::vector<std::uint8_t> answer(query.begin(), query.end());
    if (answer.size() > 2) answer[2] |= 0x84;  // QR, AA
    return answer;
}

SilentUdpServer::SilentUdpServer() { fd_ = bound_socket(SOCK_DGRAM, port_); }

SilentUdpServer::~SilentUdpServer() { close(fd_); }

int SilentUdpServer::received() {
    int count = 0;
    std::uint8_t buffer[2048];
    while (recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT) >= 0) ++count;
    return count;
}

ScriptedUdpServer::ScriptedUdpServer(Reply reply) : reply_(std::move(reply)) {
    fd_ = bound_socket(SOCK_DGRAM, port_);
    std::uint16_t other_port = 0;
    other_fd_ = bound_socket(SOCK_DGRAM, other_port);
    thread_ = std::thread([this] {
        std::uint8_t buffer[4096];
        while (!stop_) {
            if (!readable(fd_, 50)) continue;
            sockaddr_in from{};
            socklen_t length = sizeof from;
            ssize_t n = recvfrom(fd_, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &length);
            if (n <= 0) continue;
            for (const auto& datagram : reply_(std::span<const std::uint8_t>(buffer, static_cast<std::size_t>(n)))) {
                sendto(datagram.from_other ? other_fd_ : fd_, datagram.bytes.data(), datagram.bytes.size(), 0,
                       reinterpret_cast<sockaddr*>(&from), length);
            }
        }
    });
}

ScriptedUdpServer::~ScriptedUdpServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
    close(other_fd_);
}

ScriptedTcpServer::ScriptedTcpServer(Reply reply, std::size_t chunk) : reply_(std::move(reply)), chunk_(chunk) {
    fd_ = bound_socket(SOCK_STREAM, port_);
    listen(fd_, 16);
    thread_ = std::thread([this] {
        while (!stop_) {
            if (!readable(fd_, 50)) continue;
            int connection = accept(fd_, nullptr, nullptr);
            if (connection < 0) continue;
            ++connections_;
            int on = 1;
            setsockopt(connection, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);  // each piece its own segment
            std::uint8_t prefix[2];
            std::vector<std::uint8_t> query;
            if (read_exactly(connection, prefix, 2)) {
                query.resize(static_cast<std::size_t>(prefix[0] << 8 | prefix[1]));
                if (read_exactly(connection, query.data(), query.size())) {
                    auto answer = reply_(query);
                    std::vector<std::uint8_t> framed{static_cast<std::uint8_t>(answer.size() >> 8),
                                                     static_cast<std::uint8_t>(answer.size() & 0xff)};
                    framed.insert(framed.end(), answer.begin(), answer.end());
                    for (std::size_t at = 0; at < framed.size() && !stop_; at += chunk_) {
                        send(connection, framed.data() + at, std::min(chunk_, framed.size() - at), MSG_NOSIGNAL);
                        std::this_thread::sleep_for(std::chrono::milliseconds(2));
                    }
                }
            }
            close(connection);
        }
    });
}

ScriptedTcpServer::~ScriptedTcpServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
}

}  // namespace dnsctl::integration
