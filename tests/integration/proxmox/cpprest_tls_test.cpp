// CpprestProxmoxApi against a real local HTTPS server: TLS trust (pin, CA
// file, neither), the token header, the wire form, and connection failures.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "proxmox/percent_encoding.hpp"
#include "tls_test_server.hpp"

using namespace dnsctl;
using namespace dnsctl::integration;

namespace {

std::unique_ptr<CpprestProxmoxApi> open_api(CpprestProxmoxApiConfig config) {
    auto api = CpprestProxmoxApi::open(std::move(config));
    if (!api) FAIL(api.error().message);
    return std::move(*api);
}

std::string after_equals(const std::string& text) { return text.substr(text.find('=') + 1); }

bool mentions(const Error& error, const std::string& part) { return error.message.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("CpprestProxmoxApi: the pinned fingerprint connects and the token is accepted") {
    TlsTestServer server;
    auto api = open_api(server.pinned_config());
    auto nodes = api->list_nodes();
    if (!nodes) FAIL(nodes.error().message);
    REQUIRE(nodes->size() == 1);
    CHECK(nodes->front().node == "pve1");
    CHECK(nodes->front().status == "online");
}

TEST_CASE("CpprestProxmoxApi: a wrong pin refuses the connection and says it is a pin mismatch") {
    TlsTestServer server;
    auto config = server.pinned_config();
    std::string wrong = after_equals(server.fingerprint());
    wrong.back() = wrong.back() == '0' ? '1' : '0';
    config.fingerprint_sha256 = wrong;
    auto api = open_api(config);
    auto nodes = api->list_nodes();
    REQUIRE_FALSE(nodes);
    INFO(nodes.error().message);
    CHECK(nodes.error().kind == ErrorKind::denied);
    CHECK_FALSE(nodes.error().transient());
    CHECK(mentions(nodes.error(), "pin mismatch"));
    CHECK(mentions(nodes.error(), "the pin expects " + wrong));
    CHECK(mentions(nodes.error(), "presented SHA-256 fingerprint " + after_equals(server.fingerprint())));
    // The host and port that presented the certificate, and the cluster.
    CHECK(mentions(nodes.error(), "the server at 127.0.0.1:" + std::to_string(server.port()) + " presented"));
    CHECK(mentions(nodes.error(), "cluster th2"));
    CHECK(mentions(nodes.error(), server.url()));
    CHECK_FALSE(mentions(nodes.error(), kTokenSecret));
}

TEST_CASE("CpprestProxmoxApi: a CA file that holds the server's certificate is trusted") {
    TlsTestServer server;
    auto config = server.pinned_config();
    config.fingerprint_sha256.reset();
    config.ca_file = server.certificate();
    auto api = open_api(config);
    auto nodes = api->list_nodes();
    if (!nodes) FAIL(nodes.error().message);
    CHECK(nodes->size() == 1);
}

TEST_CASE("CpprestProxmoxApi: a CA file that did not sign the certificate is refused, saying why") {
    TlsTestServer server;
    make_self_signed_certificate(server.folder(), "other");
    auto config = server.pinned_config();
    config.fingerprint_sha256.reset();
    config.ca_file = server.folder() / "other.pem";
    auto api = open_api(config);
    auto nodes = api->list_nodes();
    REQUIRE_FALSE(nodes);
    INFO(nodes.error().message);
    CHECK(nodes.error().kind == ErrorKind::denied);
    CHECK(mentions(nodes.error(), "certificate verification failed"));
    CHECK(mentions(nodes.error(), after_equals(server.fingerprint())));
}

TEST_CASE("CpprestProxmoxApi: with a CA file the certificate must also name the host") {
    TlsTestServer server("DNS:pve.other.example");
    auto config = server.pinned_config();
    config.fingerprint_sha256.reset();
    config.ca_file = server.certificate();
    auto api = open_api(config);
    auto nodes = api->list_nodes();
    REQUIRE_FALSE(nodes);
    INFO(nodes.error().message);
    CHECK(nodes.error().kind == ErrorKind::denied);
    CHECK(mentions(nodes.error(), "does not name the host"));

    // A pin trusts exactly that certificate, whatever names it carries.
    auto pinned = open_api(server.pinned_config());
    CHECK(pinned->list_nodes());
}

TEST_CASE("CpprestProxmoxApi: without CA file or pin a self-signed certificate is refused") {
    TlsTestServer server;
    auto config = server.pinned_config();
    config.fingerprint_sha256.reset();
    auto api = open_api(config);
    auto nodes = api->list_nodes();
    REQUIRE_FALSE(nodes);
    INFO(nodes.error().message);
    CHECK(nodes.error().kind == ErrorKind::denied);
    CHECK(mentions(nodes.error(), "certificate verification failed"));
}

TEST_CASE("CpprestProxmoxApi: a wrong token secret is denied, and the secret is never shown or logged") {
    TlsTestServer server;
    auto config = server.pinned_config();
    config.token_secret = Secret("00000000-dead-beef-0000-000000000000");
    std::ostringstream log;
    config.logger = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
    config.logger->set_level(spdlog::level::debug);
    auto api = open_api(config);
    auto nodes = api->list_nodes();
    REQUIRE_FALSE(nodes);
    INFO(nodes.error().message);
    CHECK(nodes.error().kind == ErrorKind::denied);
    CHECK(mentions(nodes.error(), "401"));
    CHECK_FALSE(mentions(nodes.error(), "dead-beef"));
    config.logger->flush();
    CHECK(log.str().find("GET /nodes -> 401") != std::string::npos);
    CHECK(log.str().find("dead-beef") == std::string::npos);
}

TEST_CASE("CpprestProxmoxApi: a config update goes out form-encoded with sshkeys encoded twice") {
    TlsTestServer server;
    auto api = open_api(server.pinned_config());
    ConfigUpdate update;
    update.set["sshkeys"] = encode_sshkeys("ssh-ed25519 AAAAC3Nz+/= dnsctl@ctl");
    update.set["onboot"] = "1";
    update.remove = {"net1"};
    auto done = api->update_config("pve1", Vmid{101}, update);
    if (!done) FAIL(done.error().message);
    auto record = nlohmann::json::parse(server.recorded_request());
    CHECK(record["content_type"] == "application/x-www-form-urlencoded");
    CHECK(record["body"] == "onboot=1&sshkeys=ssh-ed25519%2520AAAAC3Nz%252B%252F%253D%2520dnsctl%2540ctl&delete=net1");
}

TEST_CASE("CpprestProxmoxApi: a UPID travels raw in the path") {
    TlsTestServer server;
    auto api = open_api(server.pinned_config());
    auto status = api->task_status("pve1", "UPID:pve1:00076C9F:0106C652:646A9B55:qmclone:9000:dnsctl@pve!ctl:");
    if (!status) FAIL(status.error().message);
    CHECK_FALSE(status->running);
    CHECK(status->succeeded());
}

TEST_CASE("CpprestProxmoxApi: 595 from the cluster proxy is unavailable (node unreachable)") {
    TlsTestServer server;
    auto api = open_api(server.pinned_config());
    auto config = api->get_config("pve2", Vmid{101});
    REQUIRE_FALSE(config);
    INFO(config.error().message);
    CHECK(config.error().kind == ErrorKind::unavailable);
    CHECK(mentions(config.error(), "GET /nodes/pve2/qemu/101/config"));
    CHECK(mentions(config.error(), "595 No route to host"));
}

TEST_CASE("CpprestProxmoxApi: a write whose answer never comes may have been applied, and is sent once") {
    TlsTestServer server;
    auto api = open_api(server.pinned_config());
    // A read first leaves a keep-alive connection in the pool: cpprest would
    // silently send a request again if it went out on that connection and the
    // connection then closed.
    REQUIRE(api->list_nodes());
    auto upid = api->start("pve1", Vmid{101});
    REQUIRE_FALSE(upid);
    INFO(upid.error().message);
    CHECK(upid.error().kind == ErrorKind::unavailable);
    CHECK(upid.error().maybe_applied);
    CHECK(server.recorded_starts() == "start\n");
}

TEST_CASE("CpprestProxmoxApi: a read that times out is unavailable and not 'maybe applied'") {
    TlsTestServer server;
    auto config = server.pinned_config();
    config.request_timeout = std::chrono::seconds(1);
    auto api = open_api(config);
    auto vms = api->list_vms();
    REQUIRE_FALSE(vms);
    INFO(vms.error().message);
    CHECK(vms.error().kind == ErrorKind::unavailable);
    CHECK_FALSE(vms.error().maybe_applied);
    CHECK(mentions(vms.error(), "no answer within the request timeout"));
}

TEST_CASE("CpprestProxmoxApi: a refused connection is transient and nothing was applied") {
    // A socket bound but not listening: connections to its port are refused.
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);

    CpprestProxmoxApiConfig config;
    config.base_url = "https://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
    config.token_id = kTokenId;
    config.token_secret = Secret(kTokenSecret);
    config.fingerprint_sha256 = std::string(64, 'a');
    auto api = open_api(config);
    auto upid = api->start("pve1", Vmid{101});
    close(fd);
    REQUIRE_FALSE(upid);
    INFO(upid.error().message);
    CHECK(upid.error().kind == ErrorKind::unavailable);
    CHECK_FALSE(upid.error().maybe_applied);
    CHECK(mentions(upid.error(), "connection failed"));
}

TEST_CASE("CpprestProxmoxApi::open: refuses configurations that would not be verified or cannot work") {
    CpprestProxmoxApiConfig good;
    good.base_url = "https://127.0.0.1:8006";
    good.token_id = kTokenId;
    good.token_secret = Secret(kTokenSecret);
    good.fingerprint_sha256 = std::string(64, 'a');
    CHECK(CpprestProxmoxApi::open(good));

    auto plain = good;
    plain.base_url = "http://127.0.0.1:8006";
    auto both = good;
    both.ca_file = "/etc/hostname";
    auto bad_token = good;
    bad_token.token_id = "dnsctl@pve";
    auto no_secret = good;
    no_secret.token_secret = Secret();
    auto bad_pin = good;
    bad_pin.fingerprint_sha256 = "AB:CD";
    auto missing_ca = good;
    missing_ca.fingerprint_sha256.reset();
    missing_ca.ca_file = "/nonexistent/ca.pem";
    for (const auto& config : {plain, both, bad_token, no_secret, bad_pin, missing_ca}) {
        auto api = CpprestProxmoxApi::open(config);
        REQUIRE_FALSE(api);
        CHECK(api.error().message.find(kTokenSecret) == std::string::npos);
    }
}

namespace {

// A config read of one of tls_test_server.py's hostile VMIDs, with a short
// deadline and a small answer limit; the error and how long it took.
struct HostileRead {
    Error error;
    std::chrono::milliseconds took;
};

HostileRead read_hostile(const TlsTestServer& server, int vmid, std::chrono::milliseconds deadline = std::chrono::seconds(3),
                         std::size_t max_answer_bytes = std::size_t{1} << 20) {
    auto config = server.pinned_config();
    config.request_timeout = deadline;
    config.max_answer_bytes = max_answer_bytes;
    auto api = open_api(config);
    const auto began = std::chrono::steady_clock::now();
    auto answer = api->get_config("pve1", Vmid{static_cast<std::uint32_t>(vmid)});
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began);
    if (answer) FAIL("VM " << vmid << ": the hostile answer was accepted");
    INFO(answer.error().message);
    // Every error names the cluster and the request, never the token.
    CHECK(mentions(answer.error(), "cluster th2"));
    CHECK(mentions(answer.error(), "GET /nodes/pve1/qemu/" + std::to_string(vmid) + "/config"));
    CHECK_FALSE(mentions(answer.error(), kTokenSecret));
    return {answer.error(), took};
}

}  // namespace

TEST_CASE("CpprestProxmoxApi: a redirect is never followed: the token stays, the error names the Location") {
    TlsTestServer server;
    for (int status : {301, 302, 307}) {
        INFO(status);
        auto read = read_hostile(server, status);
        CHECK(read.error.kind == ErrorKind::invalid);
        CHECK_FALSE(read.error.transient());
        CHECK(mentions(read.error, "answered " + std::to_string(status)));
        CHECK(mentions(read.error, "Location 'https://127.0.0.1:" + std::to_string(server.port()) +
                                       "/api2/json/redirected'"));
        CHECK(mentions(read.error, "never follows a redirect"));
    }
    // The redirect target (same server, same pinned certificate) saw nothing.
    CHECK(server.recorded_redirects().empty());
}

TEST_CASE("CpprestProxmoxApi: an answer trickling one byte at a time ends at the request's total deadline") {
    TlsTestServer server;
    // 20 bytes, one every 0.4 s: 8 s in all, never 2 s without a byte.
    auto read = read_hostile(server, 410, std::chrono::seconds(2));
    CHECK(read.error.kind == ErrorKind::unavailable);
    CHECK(mentions(read.error, "did not complete within its deadline of 2 s"));
    CHECK(read.took < std::chrono::milliseconds(4'500));
}

TEST_CASE("CpprestProxmoxApi: headers trickling one byte at a time end at the deadline") {
    TlsTestServer server;
    auto read = read_hostile(server, 411, std::chrono::seconds(2));
    CHECK(read.error.kind == ErrorKind::unavailable);
    CHECK(read.took < std::chrono::milliseconds(4'500));
}

TEST_CASE("CpprestProxmoxApi: answers over the size limit are cut off: endless chunks, one huge chunk, a long "
          "body, endless headers") {
    TlsTestServer server;
    for (int vmid : {412, 413, 414, 415}) {
        INFO(vmid);
        auto read = read_hostile(server, vmid, std::chrono::seconds(20));
        CHECK(read.error.kind == ErrorKind::internal);
        CHECK_FALSE(read.error.maybe_applied);
        CHECK(mentions(read.error, "larger than the limit of 1 MiB"));
        CHECK(read.took < std::chrono::seconds(10));
    }
}

TEST_CASE("CpprestProxmoxApi: an answer nested 300000 levels deep is refused without a crash") {
    TlsTestServer server;
    auto read = read_hostile(server, 416, std::chrono::seconds(20), std::size_t{16} << 20);
    CHECK(read.error.kind == ErrorKind::internal);
    CHECK(mentions(read.error, "deeper than 64 levels"));
}

TEST_CASE("CpprestProxmoxApi: concurrent handshakes each report their own certificate, never another's") {
    // Every second connection presents another certificate than the pinned one.
    TlsTestServer server(kLoopbackNames, /*alternate=*/true);
    auto config = server.pinned_config();
    for (int round = 0; round < 3; ++round) {
        // Requests that go out together each open a connection of their own
        // (a fresh client: nothing pooled from the round before).
        auto api = open_api(config);
        std::vector<std::future<Result<std::vector<NodeSummary>>>> replies;
        for (int i = 0; i < 8; ++i) replies.push_back(std::async(std::launch::async, [&] { return api->list_nodes(); }));
        int refused = 0;
        for (auto& reply : replies) {
            auto nodes = reply.get();
            if (nodes) continue;
            ++refused;
            INFO(nodes.error().message);
            CHECK(nodes.error().kind == ErrorKind::denied);
            CHECK(mentions(nodes.error(), "pin mismatch"));
            CHECK(mentions(nodes.error(), "presented SHA-256 fingerprint " + after_equals(server.alternate_fingerprint())));
        }
        CHECK(refused > 0);
    }
}

TEST_CASE("CpprestProxmoxApi: without CA file or pin, the operator's SSL_CERT_FILE is the system trust") {
    // ctest runs each test case in a process of its own: the system trust is
    // recorded once per process, here after the variable is set.
    TlsTestServer server;
    ::setenv("SSL_CERT_FILE", server.certificate().c_str(), 1);
    skip_default_ca_loading();
    REQUIRE(system_trust_paths().file == server.certificate().string());
    CHECK(std::string(std::getenv("SSL_CERT_FILE")) == "/dev/null");  // cpprest's own loading stays free
    auto config = server.pinned_config();
    config.fingerprint_sha256.reset();
    auto api = open_api(config);
    auto nodes = api->list_nodes();
    if (!nodes) FAIL(nodes.error().message);
    CHECK(nodes->size() == 1);
}

TEST_CASE("CpprestProxmoxApi: the size limit is per answer, not per kept-alive connection") {
    TlsTestServer server;
    auto config = server.pinned_config();
    config.max_answer_bytes = 4096;  // each answer of /nodes is a few hundred bytes
    auto api = open_api(config);
    for (int i = 0; i < 40; ++i) {  // one after the other: the same pooled connection
        auto nodes = api->list_nodes();
        if (!nodes) FAIL("request " << i << ": " << nodes.error().message);
    }
}
