// pve-sim: a Proxmox VE 8.4 API simulator serving several clusters from one
// process. See tests/pvesim/README.md for the configuration file, the ready
// file and the admin API.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <filesystem>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "api.hpp"
#include "config.hpp"
#include "core/clock.hpp"
#include "process_hooks.hpp"
#include "server.hpp"
#include "simulator.hpp"
#include "tls.hpp"

namespace {

std::string url_host(const std::string& host) { return host.find(':') != std::string::npos ? "[" + host + "]" : host; }

bool loopback(const std::string& host) {
    return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{
        "pve-sim: a Proxmox VE 8.4 API simulator (HTTPS, API tokens and tickets, async tasks, config locks,\n"
        "fault injection, lifecycle hooks). One process serves every cluster of the configuration file, each\n"
        "on its own port; once all listen it writes the ready file (JSON: each cluster's URL and certificate\n"
        "fingerprint, the admin API URL). Documentation: tests/pvesim/README.md."};
    std::string config_path;
    std::string state_dir;
    std::string ready_file;
    bool plain_http = false;
    bool fresh = false;
    bool no_persist = false;
    bool check_only = false;
    bool list_endpoints = false;
    bool allow_remote = false;
    bool ephemeral_ports = false;
    int threads = 2;
    std::optional<std::uint64_t> seed;
    app.add_option("-c,--config", config_path, "configuration file (YAML)");
    app.add_option("-s,--state-dir", state_dir,
                   "directory for certificates, fingerprints, state.json, requests.log, hooks.log, guest folders");
    app.add_option("--ready-file", ready_file, "where to write the ready file (default: STATE_DIR/ready.json)");
    app.add_flag("--plain-http", plain_http, "serve the clusters over plain HTTP (debugging only)");
    app.add_flag("--fresh", fresh, "ignore STATE_DIR/state.json: start from the VMs of the configuration file");
    app.add_flag("--no-persist", no_persist, "do not write STATE_DIR/state.json");
    app.add_option("--threads", threads, "server threads")->check(CLI::Range(1, 64));
    app.add_option("--seed", seed, "fault-injection seed (overrides the configuration file)");
    app.add_flag("--ephemeral-ports", ephemeral_ports,
                 "bind every cluster and the admin API to port 0 whatever the configuration says (parallel tests)");
    app.add_flag("--allow-remote", allow_remote, "allow listen addresses outside loopback");
    app.add_flag("--check-config", check_only, "validate the configuration file and exit");
    app.add_flag("--list-endpoints", list_endpoints, "print the API endpoints pve-sim implements and exit");
    CLI11_PARSE(app, argc, argv);

    if (list_endpoints) {
        for (const auto& route : pvesim::ClusterApi::routes()) std::cout << route << "\n";
        return 0;
    }
    if (config_path.empty()) {
        std::cerr << "pve-sim: --config is required (see --help)\n";
        return 2;
    }
    std::string error;
    auto config = pvesim::load_config(config_path, error);
    if (!config) {
        std::cerr << "pve-sim: " << error << "\n";
        return 2;
    }
    if (seed) config->seed = *seed;
    if (ephemeral_ports) {
        for (auto& cluster : config->clusters) cluster.listen_port = 0;
        config->admin_port = 0;
    }
    for (const auto& cluster : config->clusters) {
        if (!allow_remote && !loopback(cluster.listen_host)) {
            std::cerr << "pve-sim: cluster " << cluster.spec.name << " listens on " << cluster.listen_host
                      << ", outside loopback (use --allow-remote)\n";
            return 2;
        }
    }
    if (!allow_remote && !loopback(config->admin_host)) {
        std::cerr << "pve-sim: the admin API must listen on loopback\n";
        return 2;
    }
    if (check_only) {
        std::cout << "configuration OK: " << config->clusters.size() << " clusters\n";
        return 0;
    }
    if (state_dir.empty()) {
        std::cerr << "pve-sim: --state-dir is required (see --help)\n";
        return 2;
    }
    std::filesystem::path state = std::filesystem::absolute(state_dir).lexically_normal();
    std::error_code ec;
    std::filesystem::create_directories(state, ec);
    if (ec) {
        std::cerr << "pve-sim: cannot create " << state << ": " << ec.message() << "\n";
        return 1;
    }
    std::filesystem::path ready = ready_file.empty() ? state / "ready.json" : std::filesystem::absolute(ready_file);
    std::filesystem::remove(ready, ec);  // a stale ready file must never look like this run

    ::signal(SIGPIPE, SIG_IGN);
    pvesim::SimulatorOptions options;
    options.state_dir = state;
    options.persist = !no_persist;
    std::map<std::string, pvesim::CertificateFiles> certificates;
    for (const auto& cluster : config->clusters) {
        auto files = pvesim::ensure_certificate(state, cluster.spec.name,
                                                fmt::format("{}.{}.pve-sim", cluster.spec.nodes.front().name, cluster.spec.name), error);
        if (!files) {
            std::cerr << "pve-sim: " << cluster.spec.name << ": " << error << "\n";
            return 1;
        }
        options.fingerprints[cluster.spec.name] = files->fingerprint;
        certificates[cluster.spec.name] = *files;
    }
    auto ticket_key = pvesim::ensure_ticket_key(state / "ticket.key", error);
    if (!ticket_key) {
        std::cerr << "pve-sim: " << error << "\n";
        return 1;
    }
    options.ticket_key = *ticket_key;

    boost::asio::io_context io;
    pvesim::AsioScheduler scheduler(io);
    dnsctl::SystemClock clock;
    pvesim::ProcessHookRunner hooks(state / "hooks.log", std::chrono::milliseconds(config->hooks.timeout_ms));
    std::unique_ptr<pvesim::Simulator> simulator;
    try {
        simulator = std::make_unique<pvesim::Simulator>(*config, clock, scheduler, hooks, options);
    } catch (const std::exception& e) {
        std::cerr << "pve-sim: " << e.what() << "\n";
        return 2;
    }
    if (!fresh && !simulator->load_state(error)) {
        std::cerr << "pve-sim: " << error << " (use --fresh to start over)\n";
        return 1;
    }
    simulator->save_state();

    pvesim::Server server(io, *simulator);
    nlohmann::json clusters = nlohmann::json::object();
    for (const auto& cluster : config->clusters) {
        std::shared_ptr<boost::asio::ssl::context> tls;
        const auto& files = certificates[cluster.spec.name];
        if (!plain_http) {
            tls = pvesim::make_tls_context(files.certificate.string(), files.key.string(), error);
            if (!tls) {
                std::cerr << "pve-sim: " << cluster.spec.name << ": " << error << "\n";
                return 1;
            }
        }
        auto port = server.listen_cluster(cluster.spec.name, cluster.listen_host, cluster.listen_port, tls, error);
        if (!port) {
            std::cerr << "pve-sim: " << cluster.spec.name << ": " << error << "\n";
            return 1;
        }
        auto url = fmt::format("{}://{}:{}", plain_http ? "http" : "https", url_host(cluster.listen_host), *port);
        nlohmann::json nodes = nlohmann::json::array();
        for (const auto& n : cluster.spec.nodes) nodes.push_back(n.name);
        nlohmann::json tokens = nlohmann::json::object();
        for (const auto& [id, file] : cluster.token_secret_files) tokens[id] = {{"secret_file", file}};
        clusters[cluster.spec.name] = {{"url", url},
                                       {"host", cluster.listen_host},
                                       {"port", *port},
                                       {"fingerprint", files.fingerprint},
                                       {"fingerprint_file", files.fingerprint_file.string()},
                                       {"certificate_file", files.certificate.string()},
                                       {"nodes", nodes},
                                       {"tokens", tokens}};
        std::cout << fmt::format("{} {} {}\n", cluster.spec.name, url, files.fingerprint);
    }
    auto admin_port = server.listen_admin(config->admin_host, config->admin_port, error);
    if (!admin_port) {
        std::cerr << "pve-sim: admin API: " << error << "\n";
        return 1;
    }
    auto admin_url = fmt::format("http://{}:{}", url_host(config->admin_host), *admin_port);
    std::cout << "admin " << admin_url << "\n" << std::flush;

    nlohmann::json ready_json = {{"pid", ::getpid()},
                                 {"state_dir", state.string()},
                                 {"admin_url", admin_url},
                                 {"clusters", clusters}};
    if (!pvesim::write_file_atomically(ready, ready_json.dump(2) + "\n", 0644, error)) {
        std::cerr << "pve-sim: " << error << "\n";
        return 1;
    }

    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) {
        server.stop();
        io.stop();
    });
    std::vector<std::thread> workers;
    for (int i = 1; i < threads; ++i) workers.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& worker : workers) worker.join();
    hooks.shutdown();
    simulator->save_state();
    std::filesystem::remove(ready, ec);
    return 0;
}
