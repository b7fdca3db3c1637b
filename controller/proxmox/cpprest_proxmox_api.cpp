// The only translation unit that includes cpprest (slow to compile).
#include "proxmox/cpprest_proxmox_api.hpp"

#include <cpprest/http_client.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <system_error>

#include "proxmox/rest_calls.hpp"
#include "proxmox/tls_pin.hpp"

namespace dnsctl {

namespace {

namespace http = web::http;

// What one request learnt about the connection it opened: the verdict of that
// connection's certificate check. cpprest itself only reports "Error in SSL
// handshake", and several requests of a cluster handshake at once, so the
// reason is kept per request, never in a slot shared by the cluster.
struct RequestTrace {
    std::mutex mutex;
    std::optional<std::string> tls_failure;

    void record_tls_failure(std::string reason) {
        std::lock_guard lock(mutex);
        tls_failure = std::move(reason);
    }
    std::optional<std::string> take_tls_failure() {
        std::lock_guard lock(mutex);
        return tls_failure;
    }
};

// The request being sent by this thread. cpprest opens a new connection (and
// asks for its TLS context) synchronously inside http_client::request, on the
// caller's thread, so a connection is tied to the request that opened it, the
// one whose handshake it performs. Connections that cpprest opens on its own
// threads (a request sent again after a pooled connection turned out closed)
// belong to no request: their failures get a generic message.
thread_local std::shared_ptr<RequestTrace> t_sending;

// The cluster's trust, shared by its connections.
struct TlsTrust {
    std::optional<Sha256Fingerprint> pin;
    std::string peer;  // host:port of the API URL: what presents the certificate (redirects are never followed)
};

// One TLS connection: owned by its SSL_CTX (cpprest makes one per connection)
// through ex_data, freed with it.
struct ConnectionState {
    std::shared_ptr<const TlsTrust> trust;
    std::shared_ptr<RequestTrace> opened_for;  // may be null (see t_sending)
    std::size_t max_answer_bytes = 0;
    // Touched by the connection's own I/O (callbacks inside OpenSSL).
    std::atomic<bool> bio_hooked{false};
    std::atomic<std::size_t> received{0};  // bytes read since our last application data was written
    std::atomic<bool> over_limit{false};
};

// The error a read of an over-long answer fails with: cpprest hands the
// OpenSSL error code through to its http_exception, so the request that owns
// the connection can tell this failure from any other.
constexpr int kAnswerTooLargeReason = 0x0A5B;
const int kAnswerTooLargeCode = static_cast<int>(ERR_PACK(ERR_LIB_USER, 0, kAnswerTooLargeReason));

void free_connection_state(void*, void* pointer, CRYPTO_EX_DATA*, int, long, void*) {
    delete static_cast<ConnectionState*>(pointer);
}

int connection_state_index() {
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_connection_state);
    return index;
}

// On the connection's socket-side BIO: counts what is read, and fails every
// read once the answer is over its limit (the TLS read then fails, cpprest
// closes the connection and the request ends with kAnswerTooLargeCode).
long count_received(BIO* bio, int operation, const char*, std::size_t, int, long, int result, std::size_t* processed) {
    auto* state = reinterpret_cast<ConnectionState*>(BIO_get_callback_arg(bio));
    if (state == nullptr) return result;
    if (operation == BIO_CB_READ && state->over_limit) {
        ERR_raise(ERR_LIB_USER, kAnswerTooLargeReason);
        return -1;
    }
    if (operation == (BIO_CB_READ | BIO_CB_RETURN) && result > 0 && processed != nullptr) {
        if (state->received.fetch_add(*processed) + *processed > state->max_answer_bytes) {
            state->over_limit = true;
            ERR_raise(ERR_LIB_USER, kAnswerTooLargeReason);
            return -1;
        }
    }
    return result;
}

// OpenSSL's protocol message callback: hooks the BIO above on the first
// message, and starts a new count whenever application data (a request) is
// written: HTTP/1.1 without pipelining answers one request at a time, so what
// arrives after a request is its answer.
void watch_messages(int write_p, int version, int content_type, const void* buffer, std::size_t length, SSL* ssl,
                    void* arg) {
    auto* state = static_cast<ConnectionState*>(arg);
    if (state == nullptr) return;
    if (!state->bio_hooked) {
        if (BIO* bio = SSL_get_rbio(ssl); bio != nullptr) {
            BIO_set_callback_arg(bio, reinterpret_cast<char*>(state));
            BIO_set_callback_ex(bio, &count_received);
            state->bio_hooked = true;
        }
    }
    if (write_p != 1 || length < 1) return;
    const auto* bytes = static_cast<const unsigned char*>(buffer);
    // TLS 1.3 hides the type in the encrypted record (whose header always
    // says application data) and reports it apart; before 1.3 the record
    // header carries it. (`version` is the record's, 1.2 for TLS 1.3.)
    (void)version;
    const bool application_data =
        SSL_version(ssl) >= TLS1_3_VERSION
            ? content_type == SSL3_RT_INNER_CONTENT_TYPE && bytes[0] == SSL3_RT_APPLICATION_DATA
            : content_type == SSL3_RT_HEADER && bytes[0] == SSL3_RT_APPLICATION_DATA;
    if (application_data && !state->over_limit) state->received = 0;
}

std::optional<Sha256Fingerprint> leaf_fingerprint(X509_STORE_CTX* store) {
    X509* leaf = X509_STORE_CTX_get0_cert(store);
    if (leaf == nullptr) return std::nullopt;
    Sha256Fingerprint digest{};
    unsigned int length = 0;
    if (X509_digest(leaf, EVP_sha256(), digest.data(), &length) != 1 || length != digest.size()) return std::nullopt;
    return digest;
}

// Replaces OpenSSL's chain verification (SSL_CTX_set_cert_verify_callback).
// With a pin, the leaf's SHA-256 must equal it (self-signed certificates are
// the norm on Proxmox); without one, the normal chain and host name checks run.
// A refusal is recorded for the request that opened the connection.
int verify_certificate(X509_STORE_CTX* store, void* arg) {
    auto* connection = static_cast<ConnectionState*>(arg);
    const TlsTrust& trust = *connection->trust;
    auto refuse = [&](std::string reason) {
        if (connection->opened_for) connection->opened_for->record_tls_failure(std::move(reason));
        return 0;
    };
    auto presented = leaf_fingerprint(store);
    const std::string presented_text = presented ? format_fingerprint(*presented) : "(no certificate)";
    if (trust.pin) {
        if (presented && *presented == *trust.pin) {
            X509_STORE_CTX_set_error(store, X509_V_OK);
            return 1;
        }
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
        return refuse(fmt::format("TLS certificate pin mismatch: the server at {} presented SHA-256 fingerprint {}, "
                                  "but the pin expects {}",
                                  trust.peer, presented_text, format_fingerprint(*trust.pin)));
    }
    if (X509_verify_cert(store) == 1) return 1;
    const int error = X509_STORE_CTX_get_error(store);
    // The chain checks set a specific error; the host name check (asio's
    // rfc2818_verification, run as the verify callback) leaves none.
    const std::string why = error == X509_V_OK || error == X509_V_ERR_UNSPECIFIED
                                ? "the certificate does not name the host of the API URL"
                                : X509_verify_cert_error_string(error);
    return refuse(fmt::format(
        "TLS certificate verification failed: {} (the server at {} presented SHA-256 fingerprint {}; give the "
        "cluster's CA file or pin this fingerprint if it is the right server)",
        why, trust.peer, presented_text));
}

// Shown text from the outside world: control characters escaped, length capped.
std::string printable(std::string_view text, std::size_t max = 200) {
    std::string out;
    for (unsigned char c : text.substr(0, max)) {
        if (c < 0x20 || c == 0x7f) {
            out += fmt::format("\\x{:02x}", c);
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
    if (text.size() > max) out += "…";
    return out;
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.rfind(prefix, 0) == 0; }

http::method method_of(const std::string& name) {
    if (name == "GET") return http::methods::GET;
    if (name == "POST") return http::methods::POST;
    if (name == "PUT") return http::methods::PUT;
    return http::methods::DEL;
}

Result<void> check_config(const CpprestProxmoxApiConfig& config) {
    if (!starts_with(config.base_url, "https://")) {
        return fail(ErrorKind::invalid,
                    fmt::format("Proxmox API URL '{}' must start with https:// (TLS is always used and verified)",
                                config.base_url));
    }
    const auto at = config.token_id.find('@');
    const auto bang = config.token_id.find('!');
    if (at == std::string::npos || bang == std::string::npos || bang < at || bang + 1 == config.token_id.size() ||
        config.token_id.find_first_of("= \r\n") != std::string::npos) {
        return fail(ErrorKind::invalid,
                    fmt::format("API token id '{}' must look like user@realm!tokenname", config.token_id));
    }
    if (config.token_secret.empty() || config.token_secret.reveal().find_first_of("\r\n") != std::string::npos) {
        return fail(ErrorKind::invalid, fmt::format("the API token secret of {} is empty or spans lines",
                                                    config.token_id));
    }
    if (config.ca_file && config.fingerprint_sha256) {
        return fail(ErrorKind::invalid, "give either a CA file or a certificate fingerprint pin, not both");
    }
    if (config.ca_file && !std::ifstream(*config.ca_file)) {
        return fail(ErrorKind::not_found, fmt::format("cannot read CA file {}", config.ca_file->string()));
    }
    if (config.request_timeout.count() <= 0) return fail(ErrorKind::invalid, "the request timeout must be positive");
    if (config.max_answer_bytes < 4096) return fail(ErrorKind::invalid, "the answer size limit must be at least 4 KiB");
    return {};
}

std::string size_text(std::size_t bytes) {
    if (bytes % (std::size_t{1} << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
    if (bytes % 1024 == 0) return fmt::format("{} KiB", bytes >> 10);
    return fmt::format("{} bytes", bytes);
}

std::string seconds_text(std::chrono::milliseconds duration) {
    return fmt::format("{:g} s", static_cast<double>(duration.count()) / 1000.0);
}

// What came back for one request, filled on a cpprest thread.
struct Outcome {
    std::mutex mutex;
    std::condition_variable done_changed;
    bool done = false;
    int status = 0;
    std::string reason;
    std::string location;
    std::string body;
    std::exception_ptr failure;
};

}  // namespace

const SystemTrustPaths& system_trust_paths() {
    static const SystemTrustPaths paths = [] {
        auto from_environment = [](const char* variable, const char* fallback) {
            const char* value = std::getenv(variable);
            return std::string(value != nullptr && *value != '\0' ? value : fallback);
        };
        return SystemTrustPaths{from_environment(X509_get_default_cert_file_env(), X509_get_default_cert_file()),
                                from_environment(X509_get_default_cert_dir_env(), X509_get_default_cert_dir())};
    }();
    return paths;
}

void skip_default_ca_loading() {
    (void)system_trust_paths();  // recorded before the variables change
    ::setenv(X509_get_default_cert_file_env(), "/dev/null", 1);
    ::setenv(X509_get_default_cert_dir_env(), "/dev/null", 1);
}

TransportStage transport_stage_of(std::string_view message, bool timed_out) {
    if (timed_out) return TransportStage::timeout;
    // Failures before the request could have reached a handler. A request
    // whose headers or body could not be written completely cannot have been
    // acted upon either.
    constexpr std::string_view kBeforeSend[] = {
        "Error resolving address",        "Failed to resolve address",    "Failed to connect to any resolved endpoint",
        "Connection creation attempt failed", "Error in SSL handshake", "Failed to set TLS SNI hostname",
        "Failed to write request headers", "Failed to write request body",
    };
    for (auto prefix : kBeforeSend) {
        if (message.find(prefix) != std::string_view::npos) return TransportStage::before_send;
    }
    return TransportStage::after_send;
}

struct CpprestProxmoxApi::Impl {
    CpprestProxmoxApiConfig config;
    std::string where;  // "cluster th2 (https://…)", for messages
    std::string base_uri;
    http::client::http_client_config client_config;
    // Reads share one client and its keep-alive connections.
    std::unique_ptr<http::client::http_client> client;

    // cpprest silently sends a request again when the pooled connection it
    // used turns out closed while the answer was awaited (eof/reset on the
    // status line). For a mutating call that could apply it twice, so each
    // one goes out on a fresh connection of its own client: a lost answer
    // then surfaces as an error with maybe_applied set.
    //
    // The request runs on cpprest's threads; this thread waits for it until
    // the total deadline, then cancels it (cpprest closes the connection).
    std::shared_ptr<Outcome> send(http::http_request& request, bool mutating,
                                  const std::shared_ptr<RequestTrace>& trace, bool& timed_out) {
        std::optional<http::client::http_client> one_shot;
        if (mutating) one_shot.emplace(utility::conversions::to_string_t(base_uri), client_config);
        http::client::http_client& through = mutating ? *one_shot : *client;

        auto outcome = std::make_shared<Outcome>();
        pplx::cancellation_token_source cancel;
        const auto deadline = std::chrono::steady_clock::now() + config.request_timeout;
        pplx::task<http::http_response> response;
        t_sending = trace;
        try {
            response = through.request(request, cancel.get_token());
        } catch (...) {
            t_sending.reset();
            throw;
        }
        t_sending.reset();
        response.then([](http::http_response answer) { return answer.content_ready(); })
            .then([outcome](pplx::task<http::http_response> finished) {
                std::lock_guard lock(outcome->mutex);
                try {
                    http::http_response answer = finished.get();
                    outcome->status = answer.status_code();
                    outcome->reason = utility::conversions::to_utf8string(answer.reason_phrase());
                    auto location = answer.headers().find(http::header_names::location);
                    if (location != answer.headers().end()) {
                        outcome->location = utility::conversions::to_utf8string(location->second);
                    }
                    outcome->body = answer.extract_utf8string(/*ignore_content_type=*/true).get();
                } catch (...) {
                    outcome->failure = std::current_exception();
                }
                outcome->done = true;
                outcome->done_changed.notify_all();
            });

        std::unique_lock lock(outcome->mutex);
        if (!outcome->done_changed.wait_until(lock, deadline, [&] { return outcome->done; })) {
            timed_out = true;
            lock.unlock();
            cancel.cancel();  // closes the connection; the request then ends at once
            lock.lock();
            // A name lookup is not interrupted by the close: do not wait for it.
            outcome->done_changed.wait_for(lock, std::chrono::seconds(2), [&] { return outcome->done; });
        }
        return outcome;
    }

    Error refused_redirect(const Outcome& reply) const {
        return Error{ErrorKind::invalid,
                     fmt::format("{} answered {} {} with Location '{}'; dnsctl never follows a redirect from a "
                                 "cluster's API (the request carries the API token): if the API really lives there, "
                                 "set the cluster's api_url to it",
                                 where, reply.status, printable(reply.reason, 80),
                                 reply.location.empty() ? "(none)" : printable(reply.location)),
                     false};
    }

    // Sends the call; the body of a 2xx answer, or the classified Error.
    Result<std::string> exchange(const ApiCall& call) {
        auto in_context = [&](Error error) { return std::unexpected(error.within(call.describe())); };
        auto trace = std::make_shared<RequestTrace>();
        bool timed_out = false;
        std::shared_ptr<Outcome> reply;
        try {
            http::http_request request(method_of(call.method));
            request.set_request_uri(web::uri(utility::conversions::to_string_t("/" + call.path)));
            request.headers().add("Authorization",
                                  fmt::format("PVEAPIToken={}={}", config.token_id, config.token_secret.reveal()));
            request.headers().add("Accept", "application/json");
            if (!call.body.empty()) request.set_body(call.body, "application/x-www-form-urlencoded");
            reply = send(request, call.mutating, trace, timed_out);
        } catch (const web::uri_exception& e) {
            return in_context(Error{ErrorKind::invalid, fmt::format("bad request URI: {}", e.what()), false});
        } catch (const std::exception& e) {
            return in_context(classify_transport_failure(TransportStage::before_send,
                                                         fmt::format("{}: {}", where, e.what()), call.mutating));
        }

        if (timed_out) {
            if (config.logger) config.logger->debug("{} -> no answer within {}", call.describe(),
                                                    seconds_text(config.request_timeout));
            return in_context(classify_transport_failure(
                TransportStage::timeout,
                fmt::format("{}: the request did not complete within its deadline of {}", where,
                            seconds_text(config.request_timeout)),
                call.mutating));
        }
        std::lock_guard lock(reply->mutex);
        if (reply->failure) return in_context(transport_failure(call, reply->failure, *trace));

        if (config.logger) config.logger->debug("{} -> {}", call.describe(), reply->status);
        if (reply->status >= 200 && reply->status < 300) return std::move(reply->body);
        if (reply->status >= 300 && reply->status < 400) return in_context(refused_redirect(*reply));
        return in_context(classify_failure(parse_failed_reply(reply->status, reply->reason, reply->body),
                                           call.mutating));
    }

    Error transport_failure(const ApiCall& call, const std::exception_ptr& failure, RequestTrace& trace) const {
        try {
            std::rethrow_exception(failure);
        } catch (const http::http_exception& e) {
            const std::error_code code = e.error_code();
            if (config.logger) config.logger->debug("{} -> failed: {}", call.describe(), e.what());
            if (code.value() == kAnswerTooLargeCode) {
                return Error{ErrorKind::internal,
                             fmt::format("{}: the answer is larger than the limit of {}; it was cut off{}", where,
                                         size_text(config.max_answer_bytes),
                                         call.mutating ? "; the request may have been applied" : ""),
                             call.mutating};
            }
            const bool timed_out = code == std::errc::timed_out || code.value() == ETIMEDOUT;
            const TransportStage stage = transport_stage_of(e.what(), timed_out);
            if (stage == TransportStage::before_send && std::string_view(e.what()).find("SSL") != std::string::npos) {
                if (auto refusal = trace.take_tls_failure()) {
                    return Error{ErrorKind::denied, fmt::format("{}: {}; connection refused", where, *refusal), false};
                }
            }
            return classify_transport_failure(stage, fmt::format("{}: {}", where, e.what()), call.mutating);
        } catch (const std::exception& e) {
            // Anything else cpprest or pplx throws: we cannot tell whether the
            // request went out.
            if (config.logger) config.logger->debug("{} -> failed: {}", call.describe(), e.what());
            return classify_transport_failure(TransportStage::after_send, fmt::format("{}: {}", where, e.what()),
                                              call.mutating);
        }
    }

    template <class T>
    Result<T> call(const ApiCall& call, Result<T> (*decode)(std::string_view)) {
        auto body = exchange(call);
        if (!body) return std::unexpected(body.error());
        auto decoded = decode(*body);
        if (!decoded) return std::unexpected(decoded.error().within(fmt::format("{}: {}", call.describe(), where)));
        return decoded;
    }
};

CpprestProxmoxApi::CpprestProxmoxApi(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CpprestProxmoxApi::~CpprestProxmoxApi() = default;

namespace {

// Exit order. cpprest's shared thread pool is a function-local static: its
// destructor (which joins the pool's threads) is registered when the first
// http_client is made. OpenSSL registers its own clean-up at exit when it is
// first initialised. Exit handlers run in reverse order of registration, so if
// OpenSSL were initialised after the pool (it would be, lazily, at the first
// handshake), its clean-up would run first, and a pool thread still releasing a
// finished request's connection would call SSL_free on torn-down OpenSSL
// state: the process then hangs or crashes on exit. Initialising OpenSSL before
// the first http_client makes the pool shut down first.
void initialise_openssl_before_cpprest() {
    static const int initialised = OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS, nullptr);
    (void)initialised;
}

}  // namespace

Result<std::unique_ptr<CpprestProxmoxApi>> CpprestProxmoxApi::open(CpprestProxmoxApiConfig config) {
    if (auto checked = check_config(config); !checked) return std::unexpected(checked.error());
    initialise_openssl_before_cpprest();
    auto impl = std::make_unique<Impl>();
    auto trust = std::make_shared<TlsTrust>();
    if (config.fingerprint_sha256) {
        auto pin = parse_sha256_fingerprint(*config.fingerprint_sha256);
        if (!pin) return std::unexpected(pin.error().within("certificate pin"));
        trust->pin = *pin;
    }

    std::string base = config.base_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    if (base.size() < 10 || base.substr(base.size() - 10) != "/api2/json") base += "/api2/json";
    try {
        const web::uri parsed(utility::conversions::to_string_t(base));
        const auto host = utility::conversions::to_utf8string(parsed.host());
        const int port = parsed.is_port_default() ? 443 : parsed.port();
        trust->peer = host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                                          : fmt::format("{}:{}", host, port);
    } catch (const std::exception& e) {
        return fail(ErrorKind::invalid, fmt::format("Proxmox API URL '{}': {}", config.base_url, e.what()));
    }

    http::client::http_client_config client_config;
    client_config.set_timeout(config.request_timeout);
    client_config.set_validate_certificates(true);
    client_config.set_proxy(web::web_proxy(web::web_proxy::disabled));
    // A redirect would carry the token to whatever the Location names.
    client_config.set_max_redirects(0);
    std::optional<std::string> ca_file;
    if (config.ca_file) ca_file = config.ca_file->string();
    const std::size_t max_answer_bytes = config.max_answer_bytes;
    client_config.set_ssl_context_callback([trust = std::shared_ptr<const TlsTrust>(trust), ca_file,
                                            max_answer_bytes](boost::asio::ssl::context& context) {
        SSL_CTX* native = context.native_handle();
        // cpprest has loaded OpenSSL's default CA paths into this new context
        // already. A cluster trusts exactly what its configuration names, so
        // the store is replaced: the CA file alone, nothing with a pin (the
        // callback compares the leaf), the system trust only with neither.
        X509_STORE* store = X509_STORE_new();
        if (store != nullptr) {
            if (ca_file) {
                X509_STORE_load_locations(store, ca_file->c_str(), nullptr);
            } else if (!trust->pin) {
                const auto& system = system_trust_paths();
                X509_STORE_load_locations(store, system.file.c_str(), system.dir.c_str());
            }
            SSL_CTX_set_cert_store(native, store);  // takes ownership, frees the old store
        }
        auto* connection = new ConnectionState{trust, t_sending, max_answer_bytes};
        if (SSL_CTX_set_ex_data(native, connection_state_index(), connection) != 1) {
            delete connection;
            throw std::runtime_error("cannot attach the connection's state to its TLS context");
        }
        SSL_CTX_set_cert_verify_callback(native, &verify_certificate, connection);
        SSL_CTX_set_msg_callback(native, &watch_messages);
        SSL_CTX_set_msg_callback_arg(native, connection);
    });

    try {
        impl->client = std::make_unique<http::client::http_client>(utility::conversions::to_string_t(base),
                                                                     client_config);
        impl->base_uri = base;
        impl->client_config = client_config;
    } catch (const std::exception& e) {
        return fail(ErrorKind::invalid, fmt::format("Proxmox API URL '{}': {}", config.base_url, e.what()));
    }
    impl->where = config.cluster.empty() ? config.base_url
                                         : fmt::format("cluster {} ({})", config.cluster, config.base_url);
    impl->config = std::move(config);
    return std::unique_ptr<CpprestProxmoxApi>(new CpprestProxmoxApi(std::move(impl)));
}

Result<std::vector<NodeSummary>> CpprestProxmoxApi::list_nodes() {
    return impl_->call(list_nodes_call(), &decode_nodes);
}

Result<std::vector<VmSummary>> CpprestProxmoxApi::list_vms() { return impl_->call(list_vms_call(), &decode_vms); }

Result<VmConfig> CpprestProxmoxApi::get_config(const std::string& node, Vmid vmid) {
    return impl_->call(get_config_call(node, vmid), &decode_config);
}

Result<std::vector<CloudinitEntry>> CpprestProxmoxApi::get_cloudinit(const std::string& node, Vmid vmid) {
    return impl_->call(get_cloudinit_call(node, vmid), &decode_cloudinit);
}

Result<std::vector<TaskSummary>> CpprestProxmoxApi::active_tasks(const std::string& node, Vmid vmid) {
    return impl_->call(active_tasks_call(node, vmid), &decode_tasks);
}

Result<std::string> CpprestProxmoxApi::clone(const std::string& node, Vmid source, const CloneRequest& request) {
    return impl_->call(clone_call(node, source, request), &decode_upid);
}

Result<void> CpprestProxmoxApi::update_config(const std::string& node, Vmid vmid, const ConfigUpdate& update) {
    if (update.set.empty() && update.remove.empty()) return {};
    return impl_->call(update_config_call(node, vmid, update), &decode_any);
}

Result<std::string> CpprestProxmoxApi::resize_disk(const std::string& node, Vmid vmid, const std::string& disk,
                                                   const std::string& size) {
    return impl_->call(resize_disk_call(node, vmid, disk, size), &decode_upid);
}

Result<std::string> CpprestProxmoxApi::start(const std::string& node, Vmid vmid) {
    return impl_->call(start_call(node, vmid), &decode_upid);
}

Result<std::string> CpprestProxmoxApi::shutdown(const std::string& node, Vmid vmid, bool force_stop) {
    return impl_->call(shutdown_call(node, vmid, force_stop), &decode_upid);
}

Result<std::string> CpprestProxmoxApi::stop(const std::string& node, Vmid vmid) {
    return impl_->call(stop_call(node, vmid), &decode_upid);
}

Result<std::string> CpprestProxmoxApi::destroy(const std::string& node, Vmid vmid) {
    return impl_->call(destroy_call(node, vmid), &decode_upid);
}

Result<TaskStatus> CpprestProxmoxApi::task_status(const std::string& node, const std::string& upid) {
    return impl_->call(task_status_call(node, upid), &decode_task_status);
}

Result<std::vector<std::string>> CpprestProxmoxApi::task_log(const std::string& node, const std::string& upid) {
    constexpr int kPage = 500;
    constexpr int kMaxPages = 20;  // 10 000 lines are plenty for the tasks dnsctl starts
    std::vector<std::string> lines;
    for (int page = 0; page < kMaxPages; ++page) {
        auto chunk = impl_->call(task_log_call(node, upid, page * kPage, kPage), &decode_task_log);
        if (!chunk) return std::unexpected(chunk.error());
        // Past the end PVE answers one "no content" line.
        if (page > 0 && chunk->size() == 1 && chunk->front() == "no content") break;
        lines.insert(lines.end(), chunk->begin(), chunk->end());
        if (chunk->size() < static_cast<std::size_t>(kPage)) break;
    }
    return lines;
}

Result<std::string> CpprestProxmoxApi::agent_file_read(const std::string& node, Vmid vmid, const std::string& path) {
    return impl_->call(agent_file_read_call(node, vmid, path), &decode_file_read);
}

}  // namespace dnsctl
