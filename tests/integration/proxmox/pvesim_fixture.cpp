#include "pvesim_fixture.hpp"

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

}  // namespace

PveSim::PveSim() {
    const auto config = dir_.path() / "pve-sim.yaml";
    std::ofstream(config) << config_text();
    pvesim::harness::StartOptions options;
    options.config = config;
    options.state_dir = dir_.path() / "state";
    options.extra_args = {"--ephemeral-ports", "--no-persist", "--fresh"};
    auto started = pvesim::harness::PveSimProcess::start(options);
    if (!started) throw std::runtime_error("pve-sim: " + started.error().message);
    process_.emplace(std::move(*started));
}

CpprestProxmoxApiConfig PveSim::api_config() const {
    CpprestProxmoxApiConfig config;
    config.base_url = url();
    config.token_id = kTokenId;
    config.token_secret = Secret(kTokenSecret);
    config.fingerprint_sha256 = fingerprint();
    config.request_timeout = std::chrono::seconds(10);
    return config;
}

std::unique_ptr<CpprestProxmoxApi> PveSim::api() const {
    auto api = CpprestProxmoxApi::open(api_config());
    if (!api) throw std::runtime_error(api.error().message);
    return std::move(*api);
}

nlohmann::json PveSim::admin(const std::string& method, const std::string& path, const nlohmann::json& body) {
    auto answer = process_->admin(method, path, body);
    if (!answer) throw std::runtime_error(fmt::format("pve-sim admin {} {}: {}", method, path, answer.error().message));
    return *answer;
}

nlohmann::json PveSim::request_log() { return admin("GET", "/log?since=0").at("entries"); }

}  // namespace dnsctl::integration
