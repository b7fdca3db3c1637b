// One read through CpprestProxmoxApi, as dnsctl makes it (no retries): for
// hostile-API modes that dnsctl's own retries and 30 s deadline would make
// slow to test (answers trickling in). Prints the answer's size or the
// error; exits 0 on success, 1 on error.
//
//   hostile_api_probe --url URL --fingerprint FP --token-id ID --token-secret-file F
//                     --cluster NAME [--timeout-ms N] [--max-answer-bytes N] [--call nodes|vms|config]
#include <fmt/format.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

#include "core/secret.hpp"
#include "proxmox/cpprest_proxmox_api.hpp"

int main(int argc, char** argv) {
    dnsctl::skip_default_ca_loading();
    std::map<std::string, std::string> options{{"--timeout-ms", "30000"},
                                               {"--max-answer-bytes", std::to_string(dnsctl::kDefaultMaxAnswerBytes)},
                                               {"--call", "nodes"}};
    for (int i = 1; i + 1 < argc; i += 2) options[argv[i]] = argv[i + 1];
    for (const char* required : {"--url", "--fingerprint", "--token-id", "--token-secret-file", "--cluster"}) {
        if (!options.contains(required)) {
            std::cerr << "hostile_api_probe: " << required << " is required\n";
            return 2;
        }
    }
    auto secret = dnsctl::resolve_secret({dnsctl::SecretRef::Kind::file, options["--token-secret-file"]});
    if (!secret) {
        std::cerr << secret.error().message << "\n";
        return 2;
    }
    dnsctl::CpprestProxmoxApiConfig config;
    config.cluster = options["--cluster"];
    config.base_url = options["--url"];
    config.token_id = options["--token-id"];
    config.token_secret = std::move(*secret);
    config.fingerprint_sha256 = options["--fingerprint"];
    config.request_timeout = std::chrono::milliseconds(std::stoll(options["--timeout-ms"]));
    config.max_answer_bytes = std::stoull(options["--max-answer-bytes"]);
    auto api = dnsctl::CpprestProxmoxApi::open(std::move(config));
    if (!api) {
        std::cerr << api.error().message << "\n";
        return 2;
    }
    const auto& call = options["--call"];
    dnsctl::Result<std::size_t> answer = dnsctl::fail(dnsctl::ErrorKind::invalid, "unknown --call " + call);
    if (call == "nodes") {
        auto nodes = (*api)->list_nodes();
        answer = nodes ? dnsctl::Result<std::size_t>(nodes->size()) : std::unexpected(nodes.error());
    } else if (call == "vms") {
        auto vms = (*api)->list_vms();
        answer = vms ? dnsctl::Result<std::size_t>(vms->size()) : std::unexpected(vms.error());
    } else if (call == "config") {
        auto vm = (*api)->get_config("pve1", dnsctl::Vmid{9000});
        answer = vm ? dnsctl::Result<std::size_t>(vm->size()) : std::unexpected(vm.error());
    }
    if (!answer) {
        std::cout << fmt::format("error ({}): {}\n", dnsctl::to_string(answer.error().kind), answer.error().message);
        return 1;
    }
    std::cout << fmt::format("ok: {} entries\n", *answer);
    return 0;
}
