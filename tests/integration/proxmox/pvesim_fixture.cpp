#include "pvesim_fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <fstream>
#include <stdexcept>

namespace dnsctl::integration {

namespace {

// Short task durations keep the tests quick; lock waits are short so that
// injected lock timeouts answer fast.
constexpr const char* kConfig = R"(seed: 7
clusters:
  - name: c1
    listen: 127.0.0.1:0
    timing: {clone_ms: 200, linked_clone_ms: 100, start_ms: 100, stop_ms: 50, shutdown_ms: 100, destroy_ms: 50,
             resize_ms: 50, config_ms: 50, agent_ready_ms: 0, config_lock_wait_ms: 200, clone_lock_wait_ms: 100,
             auth_failure_delay_ms: 0}
    nodes:
      - {name: pve1, bridges: [vmbr0]}
      - {name: pve2, bridges: [vmbr0]}
    storages:
      - {id: local-lvm, type: lvmthin, content: [images, rootdir], shared: false, size_gib: 1024}
    roles:
      DnsctlRole: [VM.Audit, VM.Clone, VM.Allocate, VM.Config.CDROM, VM.Config.CPU, VM.Config.Cloudinit,
                   VM.Config.Disk, VM.Config.HWType, VM.Config.Memory, VM.Config.Network, VM.Config.Options,
                   VM.PowerMgmt, VM.Monitor, Datastore.AllocateSpace, Datastore.Audit, SDN.Use, Sys.Audit,
                   Pool.Audit]
    users:
      - id: dnsctl@pve
        tokens:
          - {name: ctl, secret: "{secret}", privsep: true}
    acl:
      - {path: /, subject: dnsctl@pve, roles: [DnsctlRole]}
      - {path: /, subject: "dnsctl@pve!ctl", roles: [DnsctlRole]}
    vms:
      - vmid: 9000
        node: pve1
        config:
          name: tmpl-debian12
          template: 1
          ostype: l26
          cores: 2
          memory: 2048
          scsihw: virtio-scsi-single
          scsi0: local-lvm:base-9000-disk-0,discard=on,iothread=1,size=2G
          ide2: local-lvm:vm-9000-cloudinit,media=cdrom
          boot: order=scsi0
          agent: 1
          net0: virtio=BC:24:11:90:00:01,bridge=vmbr0
          ipconfig0: ip=dhcp
)";

std::string config_text() {
    std::string text = kConfig;
    text.replace(text.find("{secret}"), 8, PveSim::kTokenSecret);
    return text;
}

void send_all(int fd, const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
        auto n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) throw std::runtime_error("admin API: send failed");
        sent += static_cast<std::size_t>(n);
    }
}

}  // namespace

HttpAnswer http_request(const std::string& base_url, const std::string& method, const std::string& path,
                        const std::string& body) {
    constexpr std::string_view kPrefix = "http://127.0.0.1:";
    if (base_url.rfind(kPrefix, 0) != 0) throw std::runtime_error("not a loopback URL: " + base_url);
    const int port = std::stoi(base_url.substr(kPrefix.size()));
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        throw std::runtime_error("cannot connect to " + base_url);
    }
    send_all(fd, fmt::format("{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                             "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
                             method, path, body.size(), body));
    std::string response;
    char buffer[4096];
    for (;;) {
        auto n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        response.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    // "HTTP/1.1 200 OK\r\n…\r\n\r\nbody"
    const auto space = response.find(' ');
    const auto header_end = response.find("\r\n\r\n");
    if (space == std::string::npos || header_end == std::string::npos) {
        throw std::runtime_error("admin API: malformed answer: " + response);
    }
    return HttpAnswer{std::stoi(response.substr(space + 1, 3)), response.substr(header_end + 4)};
}

PveSim::PveSim() : state_dir_(dir_.path() / "state") {
    const auto config = dir_.path() / "pve-sim.yaml";
    std::ofstream(config) << config_text();
    const auto log = dir_.path() / "pve-sim.log";
    const auto ready = state_dir_ / "ready.json";
    process_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{DNSCTL_PVESIM, "--config", config.string(), "--state-dir", state_dir_.string(),
                                 "--no-persist", "--fresh"},
        log);
    auto text = wait_for_file(ready, *process_, log, std::chrono::seconds(30));
    auto json = nlohmann::json::parse(text);
    url_ = json.at("clusters").at(kCluster).at("url").get<std::string>();
    fingerprint_ = json.at("clusters").at(kCluster).at("fingerprint").get<std::string>();
    admin_url_ = json.at("admin_url").get<std::string>();
}

CpprestProxmoxApiConfig PveSim::api_config() const {
    CpprestProxmoxApiConfig config;
    config.base_url = url_;
    config.token_id = kTokenId;
    config.token_secret = Secret(kTokenSecret);
    config.fingerprint_sha256 = fingerprint_;
    config.request_timeout = std::chrono::seconds(10);
    return config;
}

std::unique_ptr<CpprestProxmoxApi> PveSim::api() const {
    auto api = CpprestProxmoxApi::open(api_config());
    if (!api) throw std::runtime_error(api.error().message);
    return std::move(*api);
}

nlohmann::json PveSim::admin(const std::string& method, const std::string& path, const nlohmann::json& body) {
    auto answer = http_request(admin_url_, method, path, body.is_null() ? "" : body.dump());
    if (answer.status < 200 || answer.status >= 300) {
        throw std::runtime_error(fmt::format("admin {} {}: {} {}", method, path, answer.status, answer.body));
    }
    return answer.body.empty() ? nlohmann::json() : nlohmann::json::parse(answer.body);
}

nlohmann::json PveSim::request_log() { return admin("GET", "/log?since=0").at("entries"); }

}  // namespace dnsctl::integration
