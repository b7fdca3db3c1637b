#include "pvesim_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

extern char** environ;

namespace pvesim::harness {

using dnsctl::ErrorKind;
using dnsctl::fail;
using nlohmann::json;

namespace {

struct Fd {
    int fd = -1;
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
};

// A minimal HTTP/1.1 exchange with the admin API on loopback.
dnsctl::Result<std::pair<int, std::string>> http_request(const std::string& url, std::string_view method,
                                                         std::string_view path, const std::string& body) {
    const std::string prefix = "http://";
    if (url.rfind(prefix, 0) != 0) return fail(ErrorKind::invalid, "admin URL is not http: " + url);
    auto hostport = url.substr(prefix.size());
    auto colon = hostport.rfind(':');
    auto host = hostport.substr(0, colon);
    int port = std::atoi(hostport.substr(colon + 1).c_str());
    Fd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (sock.fd < 0) return fail(ErrorKind::unavailable, std::string("socket: ") + std::strerror(errno));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) return fail(ErrorKind::invalid, "admin host must be IPv4: " + host);
    if (::connect(sock.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        return fail(ErrorKind::unavailable, fmt::format("connect {}: {}", url, std::strerror(errno)));
    }
    auto request = fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\n"
                               "Content-Length: {}\r\n\r\n{}",
                               method, path, hostport, body.size(), body);
    for (std::size_t sent = 0; sent < request.size();) {
        auto n = ::send(sock.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return fail(ErrorKind::unavailable, "send to the admin API failed");
        sent += static_cast<std::size_t>(n);
    }
    std::string response;
    char buffer[4096];
    while (true) {
        auto n = ::recv(sock.fd, buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        response.append(buffer, static_cast<std::size_t>(n));
    }
    auto header_end = response.find("\r\n\r\n");
    if (response.rfind("HTTP/1.", 0) != 0 || header_end == std::string::npos) {
        return fail(ErrorKind::unavailable, "malformed answer from the admin API");
    }
    int status = std::atoi(response.substr(9, 3).c_str());
    return std::pair{status, response.substr(header_end + 4)};
}

}  // namespace

std::filesystem::path StartOptions::default_executable() {
    if (const char* env = std::getenv("PVE_SIM"); env && *env) return env;
#ifdef PVESIM_EXECUTABLE
    return PVESIM_EXECUTABLE;
#else
    return "pve-sim";
#endif
}

dnsctl::Result<PveSimProcess> PveSimProcess::start(const StartOptions& options) {
    dnsctl::SystemClock clock;
    return start(options, clock);
}

dnsctl::Result<PveSimProcess> PveSimProcess::start(const StartOptions& options, dnsctl::Clock& clock) {
    std::error_code ec;
    std::filesystem::create_directories(options.state_dir, ec);
    if (ec) return fail(ErrorKind::invalid, fmt::format("cannot create {}: {}", options.state_dir.string(), ec.message()));
    auto state_dir = std::filesystem::absolute(options.state_dir);
    auto ready = state_dir / "ready.json";
    std::filesystem::remove(ready, ec);

    std::vector<std::string> args = {options.executable.string(), "--config", options.config.string(), "--state-dir",
                                     state_dir.string()};
    args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    auto log = (state_dir / "pve-sim.out").string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, args[0].c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return fail(ErrorKind::unavailable, fmt::format("cannot run {}: {}", args[0], std::strerror(rc)));

    PveSimProcess process;
    process.pid_ = pid;
    process.state_dir_ = state_dir;
    auto deadline = clock.now() + options.timeout;
    while (!std::filesystem::exists(ready, ec)) {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            process.pid_ = -1;
            std::ifstream out(log);
            std::string text((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());
            return fail(ErrorKind::unavailable, fmt::format("pve-sim exited before it was ready: {}", text));
        }
        if (clock.now() >= deadline) return fail(ErrorKind::unavailable, "pve-sim was not ready in time");
        clock.sleep_for(std::chrono::milliseconds(20));
    }
    std::ifstream in(ready);
    auto doc = json::parse(in, nullptr, false);
    if (doc.is_discarded()) return fail(ErrorKind::internal, "unreadable ready file " + ready.string());
    process.admin_url_ = doc.value("admin_url", "");
    for (auto& [name, c] : doc["clusters"].items()) {
        ClusterEndpoint endpoint;
        endpoint.name = name;
        endpoint.url = c.value("url", "");
        endpoint.host = c.value("host", "");
        endpoint.port = c.value("port", 0);
        endpoint.fingerprint = c.value("fingerprint", "");
        endpoint.fingerprint_file = c.value("fingerprint_file", "");
        endpoint.certificate_file = c.value("certificate_file", "");
        endpoint.nodes = c.value("nodes", std::vector<std::string>{});
        auto tokens = c.value("tokens", json::object());
        for (auto& [id, token] : tokens.items()) {
            endpoint.token_secret_files[id] = token.value("secret_file", "");
        }
        process.clusters_.emplace(name, std::move(endpoint));
    }
    return process;
}

PveSimProcess::PveSimProcess(PveSimProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      clusters_(std::move(other.clusters_)),
      admin_url_(std::move(other.admin_url_)),
      state_dir_(std::move(other.state_dir_)) {}

PveSimProcess& PveSimProcess::operator=(PveSimProcess&& other) noexcept {
    if (this != &other) {
        stop();
        pid_ = std::exchange(other.pid_, -1);
        clusters_ = std::move(other.clusters_);
        admin_url_ = std::move(other.admin_url_);
        state_dir_ = std::move(other.state_dir_);
    }
    return *this;
}

PveSimProcess::~PveSimProcess() { stop(); }

void PveSimProcess::stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 1000; ++i) {  // up to 10 s
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return;
        }
        ::usleep(10000);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

dnsctl::Result<json> PveSimProcess::admin(std::string_view method, std::string_view path, const json& body) const {
    auto answer = http_request(admin_url_, method, path, body.is_null() ? std::string() : body.dump());
    if (!answer) return std::unexpected(answer.error());
    auto [status, text] = *answer;
    auto parsed = json::parse(text, nullptr, false);
    if (status != 200) {
        return fail(ErrorKind::invalid, fmt::format("admin API {} {}: {} {}", method, path, status, text));
    }
    if (parsed.is_discarded()) return fail(ErrorKind::internal, "admin API answered no JSON");
    return parsed;
}

}  // namespace pvesim::harness
