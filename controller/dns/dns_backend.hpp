// DnsBackend: what dnsctl needs to know about one DNS server software (Knot,
// NSD, BIND) to run it on a host: what it can do, the files that configure it
// (rendered from templates, pure), and the commands that check, reload and
// query it (argv vectors run through RemoteHost). Backends are plugins
// (plugins/dns/{knot,nsd,bind}) registered explicitly in main(); tests use
// FakeDnsBackend.
//
// Nothing here does I/O: render is a function of its inputs, and the commands
// are data that the executor runs.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/secret.hpp"
#include "core/types.hpp"
#include "ssh/remote_host.hpp"

namespace dnsctl {

enum class ServerRole { primary, secondary };
std::string_view to_string(ServerRole role);

struct BackendCapabilities {
    std::set<ServerRole> roles;
    bool signing = false;         // automatic DNSSEC signing (KASP)
    bool catalog_zones = false;   // RFC 9432 consumer or producer
    bool rate_limiting = false;   // response rate limiting
    std::set<std::string> tsig_algorithms;  // "hmac-sha256", …
};

struct TsigSpec {
    std::string name;       // key name as the servers know it
    std::string algorithm;  // hmac-sha256
    Secret secret;          // base64; rendered only into files marked secret
};

struct PeerSpec {
    DnsName name;
    std::vector<IpAddress> addresses;
};

struct ZoneSpec {
    DnsName name;
    std::optional<std::string> dnssec_policy;  // primary: the policy it signs with
};

// Everything one server's configuration depends on, derived from the
// inventory (derive_desired). Two equal inputs render byte-identical files.
struct ServerConfig {
    std::string estate;
    DnsName host;
    ServerRole role = ServerRole::secondary;
    std::vector<IpAddress> listen;
    std::vector<PeerSpec> primaries;    // secondary: where zones come from
    std::vector<PeerSpec> secondaries;  // primary: who gets NOTIFY and may transfer
    std::vector<ZoneSpec> zones;        // sorted by name
    TsigSpec tsig;
};

// The templates a backend renders from: file name (relative to the
// backend's folder, e.g. "knot.conf.mustache") -> text. Loaded from
// `templates_dir` (default: the installed templates/) before planning, so
// rendering reads no file.
struct TemplateSet {
    std::map<std::string, std::string> texts;
};

// A file the backend manages on the host.
struct ManagedFile {
    RemoteFile file;
    bool secret = false;  // holds a secret: never shown in plans or diffs (a digest only)
};

// A staged file: written at staged_path, checked there, then renamed to final_path.
struct StagedFile {
    std::string final_path;
    std::string staged_path;
};

class DnsBackend {
public:
    virtual ~DnsBackend() = default;

    [[nodiscard]] virtual std::string_view name() const = 0;  // "knot", "nsd", "bind": the inventory's `software`
    [[nodiscard]] virtual const BackendCapabilities& capabilities() const = 0;
    [[nodiscard]] virtual std::string service_name() const = 0;  // the systemd unit, without ".service"

    // The managed files for `config`, in a stable order. Fails when the
    // templates cannot render (missing template, unknown variable).
    [[nodiscard]] virtual Result<std::vector<ManagedFile>> render(const ServerConfig& config,
                                                                  const TemplateSet& templates) const = 0;

    // Commands that must all exit 0 before staged files replace the running
    // configuration (conf-check, checkconf, checkzone…).
    [[nodiscard]] virtual std::vector<RemoteCommand> check_commands(std::span<const StagedFile> staged) const = 0;

    // Commands that make the running server take the new configuration.
    [[nodiscard]] virtual std::vector<RemoteCommand> reload_commands() const = 0;
};

}  // namespace dnsctl
