// The HTTP(S) front of pve-sim on Boost.Beast: one listener per cluster (TLS
// with the cluster's certificate, or plain HTTP as a debug option), one for
// the admin API, keep-alive connections, any number of requests in flight
// across connections. Beast (not cpprest's listener) because pve-sim must
// bind port 0 and reset connections on purpose.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <optional>
#include <string>

#include "simulator.hpp"

namespace pvesim {

class AsioScheduler final : public Scheduler {
public:
    explicit AsioScheduler(boost::asio::io_context& io) : io_(io) {}
    void at(TimePoint when, std::function<void()> task) override;

private:
    boost::asio::io_context& io_;
};

class Server {
public:
    Server(boost::asio::io_context& io, Simulator& simulator);
    ~Server();

    // Starts accepting for `cluster`; TLS when `tls` is given. Returns the bound port.
    std::optional<int> listen_cluster(const std::string& cluster, const std::string& host, int port,
                                      std::shared_ptr<boost::asio::ssl::context> tls, std::string& error);
    std::optional<int> listen_admin(const std::string& host, int port, std::string& error);
    void stop();

private:
    struct Listener;
    boost::asio::io_context& io_;
    Simulator& simulator_;
    std::vector<std::shared_ptr<Listener>> listeners_;
};

// A TLS server context with the certificate and key from PEM files.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const std::string& certificate, const std::string& key,
                                                            std::string& error);

}  // namespace pvesim
