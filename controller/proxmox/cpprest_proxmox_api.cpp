// The only translation unit that includes cpprest (slow to compile).
#include "proxmox/cpprest_proxmox_api.hpp"

#include <cpprest/http_client.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <system_error>

#include "proxmox/rest_calls.hpp"
#include "proxmox/tls_pin.hpp"

namespace dnsctl {

namespace {

namespace http = web::http;

// What the certificate check saw, recorded by the OpenSSL callback: cpprest
// itself only reports "Error in SSL handshake".
class TlsVerdicts {
public:
    void record_failure(std::string reason) {
        std::lock_guard lock(mutex_);
        last_failure_ = std::move(reason);
    }
    void record_success() {
        std::lock_guard lock(mutex_);
        last_failure_.reset();
    }
    std::optional<std::string> last_failure() const {
        std::lock_guard lock(mutex_);
        return last_failure_;
    }

private:
    mutable std::mutex mutex_;
    std::optional<std::string> last_failure_;
};

struct TlsCheck {
    std::optional<Sha256Fingerprint> pin;
    TlsVerdicts verdicts;
};

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
// the norm on Proxmox); without one, the normal chain and host name checks run
// and their verdict is recorded.
int verify_certificate(X509_STORE_CTX* store, void* arg) {
    auto* check = static_cast<TlsCheck*>(arg);
    auto presented = leaf_fingerprint(store);
    const std::string presented_text = presented ? format_fingerprint(*presented) : "(no certificate)";
    if (check->pin) {
        if (presented && *presented == *check->pin) {
            X509_STORE_CTX_set_error(store, X509_V_OK);
            check->verdicts.record_success();
            return 1;
        }
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
        check->verdicts.record_failure(
            fmt::format("TLS certificate pin mismatch: expected SHA-256 fingerprint {}, the server presented {}",
                        format_fingerprint(*check->pin), presented_text));
        return 0;
    }
    if (X509_verify_cert(store) == 1) {
        check->verdicts.record_success();
        return 1;
    }
    const int error = X509_STORE_CTX_get_error(store);
    // The chain checks set a specific error; the host name check (asio's
    // rfc2818_verification, run as the verify callback) leaves none.
    const std::string why = error == X509_V_OK || error == X509_V_ERR_UNSPECIFIED
                                ? "the certificate does not name the host of the API URL"
                                : X509_verify_cert_error_string(error);
    check->verdicts.record_failure(fmt::format(
        "TLS certificate verification failed: {} (the server presented SHA-256 fingerprint {}; give the cluster's "
        "CA file or pin this fingerprint if it is the right server)",
        why, presented_text));
    return 0;
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
    return {};
}

}  // namespace

void skip_default_ca_loading() {
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
    std::shared_ptr<TlsCheck> tls;
    std::string base_uri;
    http::client::http_client_config client_config;
    // Reads share one client and its keep-alive connections.
    std::unique_ptr<http::client::http_client> client;

    // cpprest silently sends a request again when the pooled connection it
    // used turns out closed while the answer was awaited (eof/reset on the
    // status line). For a mutating call that could apply it twice, so each
    // one goes out on a fresh connection of its own client: a lost answer
    // then surfaces as an error with maybe_applied set.
    struct Reply {
        int status = 0;
        std::string reason;
        std::string body;
    };

    static Reply read_reply(http::client::http_client& through, http::http_request& request) {
        http::http_response response = through.request(request).get();
        Reply reply{response.status_code(), utility::conversions::to_utf8string(response.reason_phrase()), {}};
        reply.body = response.extract_utf8string(/*ignore_content_type=*/true).get();
        return reply;
    }

    Reply send(http::http_request& request, bool mutating) {
        if (!mutating) return read_reply(*client, request);
        http::client::http_client one_shot(utility::conversions::to_string_t(base_uri), client_config);
        return read_reply(one_shot, request);
    }

    // Sends the call; the body of a 2xx answer, or the classified Error.
    Result<std::string> exchange(const ApiCall& call) {
        auto in_context = [&](Error error) { return std::unexpected(error.within(call.describe())); };
        try {
            http::http_request request(method_of(call.method));
            request.set_request_uri(web::uri(utility::conversions::to_string_t("/" + call.path)));
            request.headers().add("Authorization",
                                  fmt::format("PVEAPIToken={}={}", config.token_id, config.token_secret.reveal()));
            request.headers().add("Accept", "application/json");
            if (!call.body.empty()) request.set_body(call.body, "application/x-www-form-urlencoded");

            Reply reply = send(request, call.mutating);
            if (config.logger) config.logger->debug("{} -> {}", call.describe(), reply.status);
            if (reply.status >= 200 && reply.status < 300) return std::move(reply.body);
            return in_context(classify_failure(parse_failed_reply(reply.status, reply.reason, reply.body),
                                               call.mutating));
        } catch (const http::http_exception& e) {
            const std::error_code code = e.error_code();
            const bool timed_out = code == std::errc::timed_out || code.value() == ETIMEDOUT;
            const TransportStage stage = transport_stage_of(e.what(), timed_out);
            if (config.logger) config.logger->debug("{} -> failed: {}", call.describe(), e.what());
            if (stage == TransportStage::before_send && std::string_view(e.what()).find("SSL") != std::string::npos) {
                if (auto refusal = tls->verdicts.last_failure()) {
                    return in_context(Error{ErrorKind::denied,
                                            fmt::format("{}: {}; connection refused", config.base_url, *refusal),
                                            false});
                }
            }
            return in_context(classify_transport_failure(stage, fmt::format("{}: {}", config.base_url, e.what()),
                                                         call.mutating));
        } catch (const web::uri_exception& e) {
            return in_context(Error{ErrorKind::invalid, fmt::format("bad request URI: {}", e.what()), false});
        } catch (const std::exception& e) {
            // Anything else cpprest or pplx throws: we cannot tell whether the
            // request went out.
            return in_context(classify_transport_failure(TransportStage::after_send,
                                                         fmt::format("{}: {}", config.base_url, e.what()),
                                                         call.mutating));
        }
    }

    template <class T>
    Result<T> call(const ApiCall& call, Result<T> (*decode)(std::string_view)) {
        auto body = exchange(call);
        if (!body) return std::unexpected(body.error());
        auto decoded = decode(*body);
        if (!decoded) return std::unexpected(decoded.error().within(call.describe()));
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
    impl->tls = std::make_shared<TlsCheck>();
    if (config.fingerprint_sha256) {
        auto pin = parse_sha256_fingerprint(*config.fingerprint_sha256);
        if (!pin) return std::unexpected(pin.error().within("certificate pin"));
        impl->tls->pin = *pin;
    }

    http::client::http_client_config client_config;
    client_config.set_timeout(config.request_timeout);
    client_config.set_validate_certificates(true);
    client_config.set_proxy(web::web_proxy(web::web_proxy::disabled));
    std::shared_ptr<TlsCheck> tls = impl->tls;
    std::optional<std::string> ca_file;
    if (config.ca_file) ca_file = config.ca_file->string();
    client_config.set_ssl_context_callback([tls, ca_file](boost::asio::ssl::context& context) {
        SSL_CTX* native = context.native_handle();
        // cpprest has loaded OpenSSL's default CA paths into this new context
        // already. A cluster trusts exactly what its configuration names, so
        // the store is replaced: the CA file alone, nothing with a pin (the
        // callback compares the leaf), the system bundle only with neither.
        X509_STORE* store = X509_STORE_new();
        if (store != nullptr) {
            if (ca_file) {
                X509_STORE_load_locations(store, ca_file->c_str(), nullptr);
            } else if (!tls->pin) {
                X509_STORE_load_locations(store, X509_get_default_cert_file(), X509_get_default_cert_dir());
            }
            SSL_CTX_set_cert_store(native, store);  // takes ownership, frees the old store
        }
        SSL_CTX_set_cert_verify_callback(native, &verify_certificate, tls.get());
    });

    std::string base = config.base_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    if (base.size() < 10 || base.substr(base.size() - 10) != "/api2/json") base += "/api2/json";
    try {
        impl->client = std::make_unique<http::client::http_client>(utility::conversions::to_string_t(base),
                                                                     client_config);
        impl->base_uri = base;
        impl->client_config = client_config;
    } catch (const std::exception& e) {
        return fail(ErrorKind::invalid, fmt::format("Proxmox API URL '{}': {}", config.base_url, e.what()));
    }
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
