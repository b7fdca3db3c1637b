#include "server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <ctime>
#include <iostream>

namespace pvesim {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(300);
constexpr auto kHandshakeTimeout = std::chrono::seconds(30);
constexpr auto kNoAnswerHold = std::chrono::minutes(10);
constexpr std::size_t kBodyLimit = 4 * 1024 * 1024;

std::string http_date() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buffer[64];
    std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buffer;
}

using Handler = std::function<void(HttpRequest, std::function<void(Action)>)>;

template <class Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
public:
    template <class... Args>
    Connection(Handler handler, bool pve_headers, Args&&... args)
        : stream_(std::forward<Args>(args)...), handler_(std::move(handler)), pve_headers_(pve_headers) {}

    void run() {
        net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->start(); });
    }

private:
    static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

    auto& lowest() { return beast::get_lowest_layer(stream_); }

    void start() {
        if constexpr (kTls) {
            lowest().expires_after(kHandshakeTimeout);
            stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
                if (ec) return self->close_hard();
                self->read();
            });
        } else {
            read();
        }
    }

    void read() {
        parser_.emplace();
        parser_->body_limit(kBodyLimit);
        lowest().expires_after(kIdleTimeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(beast::error_code ec) {
        if (ec) return close();
        auto& req = parser_->get();
        HttpRequest request;
        request.method = std::string(req.method_string());
        request.target = std::string(req.target());
        for (const auto& field : req) {
            std::string name(field.name_string());
            std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
            request.headers[name] = std::string(field.value());
        }
        request.body = std::move(req.body());
        keep_alive_ = req.keep_alive();
        version_ = req.version();
        lowest().expires_never();
        auto self = this->shared_from_this();
        handler_(std::move(request), [self](Action action) {
            net::post(self->stream_.get_executor(), [self, action = std::move(action)]() mutable { self->on_action(std::move(action)); });
        });
    }

    void on_action(Action action) {
        switch (action.kind) {
            case Action::Kind::reset: return close_hard();
            case Action::Kind::no_answer: return hold();
            case Action::Kind::reply: break;
        }
        auto& reply = action.reply;
        res_ = {};
        res_.version(version_);
        res_.result(static_cast<unsigned>(reply.status));
        res_.reason(reply.reason);
        if (pve_headers_) {
            res_.set(http::field::server, "pve-api-daemon/3.0");
            res_.set(http::field::cache_control, "max-age=0");
            res_.set(http::field::pragma, "no-cache");
            res_.set(http::field::expires, http_date());
        }
        res_.set(http::field::date, http_date());
        if (!reply.content_type.empty()) res_.set(http::field::content_type, reply.content_type);
        for (const auto& [name, value] : reply.headers) res_.set(name, value);
        res_.body() = std::move(reply.body);
        res_.keep_alive(keep_alive_);
        res_.prepare_payload();
        lowest().expires_after(kIdleTimeout);
        http::async_write(stream_, res_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return self->close_hard();
            if (!self->keep_alive_) return self->close();
            self->read();
        });
    }

    // "No answer": keep the connection open until the client gives up.
    void hold() {
        lowest().expires_after(kNoAnswerHold);
        stream_.async_read_some(net::buffer(scratch_), [self = this->shared_from_this()](beast::error_code, std::size_t) {
            self->close_hard();
        });
    }

    // TCP RST: linger 0, then close.
    void close_hard() {
        beast::error_code ignored;
        auto& socket = lowest().socket();
        socket.set_option(net::socket_base::linger(true, 0), ignored);
        socket.close(ignored);
    }

    void close() {
        if constexpr (kTls) {
            lowest().expires_after(std::chrono::seconds(5));
            stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
                beast::error_code ignored;
                self->lowest().socket().close(ignored);
            });
        } else {
            beast::error_code ignored;
            lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
            lowest().socket().close(ignored);
        }
    }

    Stream stream_;
    Handler handler_;
    bool pve_headers_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> res_;
    bool keep_alive_ = true;
    unsigned version_ = 11;
    std::array<char, 512> scratch_{};
};

}  // namespace

void AsioScheduler::at(TimePoint when, std::function<void()> task) {
    auto timer = std::make_shared<net::steady_timer>(io_, when);
    timer->async_wait([timer, task = std::move(task)](const beast::error_code& ec) {
        if (ec) return;
        try {
            task();
        } catch (const std::exception& e) {
            // A bug must not take every cluster down with it; say so loudly.
            std::cerr << "pve-sim: internal error in a scheduled task: " << e.what() << "\n";
        }
    });
}

struct Server::Listener : std::enable_shared_from_this<Listener> {
    Listener(net::io_context& io, Handler handler, std::shared_ptr<ssl::context> tls, bool pve_headers)
        : io(io), acceptor(net::make_strand(io)), handler(std::move(handler)), tls(std::move(tls)), pve_headers(pve_headers) {}

    void accept() {
        acceptor.async_accept(net::make_strand(io), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
            if (ec == net::error::operation_aborted || !self->acceptor.is_open()) return;
            if (!ec) {
                beast::error_code ignored;
                socket.set_option(tcp::no_delay(true), ignored);
                if (self->tls) {
                    std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(self->handler, self->pve_headers,
                                                                                    std::move(socket), *self->tls)
                        ->run();
                } else {
                    std::make_shared<Connection<beast::tcp_stream>>(self->handler, self->pve_headers, std::move(socket))->run();
                }
            }
            self->accept();
        });
    }

    net::io_context& io;
    tcp::acceptor acceptor;
    Handler handler;
    std::shared_ptr<ssl::context> tls;
    bool pve_headers;
};

Server::Server(net::io_context& io, Simulator& simulator) : io_(io), simulator_(simulator) {}

Server::~Server() = default;

namespace {

std::optional<int> bind(tcp::acceptor& acceptor, const std::string& host, int port, std::string& error) {
    beast::error_code ec;
    auto address = net::ip::make_address(host, ec);
    if (ec) {
        error = "invalid listen address '" + host + "'";
        return std::nullopt;
    }
    tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec && address.is_v6()) acceptor.set_option(net::ip::v6_only(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
        error = "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message();
        return std::nullopt;
    }
    return acceptor.local_endpoint().port();
}

}  // namespace

std::optional<int> Server::listen_cluster(const std::string& cluster, const std::string& host, int port,
                                          std::shared_ptr<ssl::context> tls, std::string& error) {
    Handler handler = [this, cluster](HttpRequest request, std::function<void(Action)> done) {
        // `done` must run exactly once; keep a copy for the error path.
        auto answer = std::make_shared<std::function<void(Action)>>(std::move(done));
        auto once = std::make_shared<std::atomic<bool>>(false);
        auto reply = [answer, once](Action action) {
            if (!once->exchange(true)) (*answer)(std::move(action));
        };
        try {
            simulator_.handle(cluster, std::move(request), reply);
        } catch (const std::exception& e) {
            std::cerr << "pve-sim: internal error: " << e.what() << "\n";
            reply(Action{Action::Kind::reply, error_reply(ApiError::server(std::string("internal error: ") + e.what()))});
        }
    };
    auto listener = std::make_shared<Listener>(io_, handler, std::move(tls), true);
    auto bound = bind(listener->acceptor, host, port, error);
    if (!bound) return std::nullopt;
    listener->accept();
    listeners_.push_back(listener);
    return bound;
}

std::optional<int> Server::listen_admin(const std::string& host, int port, std::string& error) {
    Handler handler = [this](HttpRequest request, std::function<void(Action)> done) {
        done(Action{Action::Kind::reply, simulator_.handle_admin(request)});
    };
    auto listener = std::make_shared<Listener>(io_, handler, nullptr, false);
    auto bound = bind(listener->acceptor, host, port, error);
    if (!bound) return std::nullopt;
    listener->accept();
    listeners_.push_back(listener);
    return bound;
}

void Server::stop() {
    for (auto& listener : listeners_) {
        net::post(listener->acceptor.get_executor(), [listener] {
            beast::error_code ignored;
            listener->acceptor.close(ignored);
        });
    }
}

std::shared_ptr<ssl::context> make_tls_context(const std::string& certificate, const std::string& key, std::string& error) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
    beast::error_code ec;
    context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                             ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                         ec);
    if (!ec) context->use_certificate_chain_file(certificate, ec);
    if (!ec) context->use_private_key_file(key, ssl::context::pem, ec);
    if (ec) {
        error = "TLS setup failed: " + ec.message();
        return nullptr;
    }
    return context;
}

}  // namespace pvesim
