// Benchmark: LdnsDnsProbe's query rate against one knotd on loopback, next to
// dnsperf's against the same server in the same run (DESIGN §10: the full
// check must reach at least half of dnsperf's rate). A measurement, not a
// test: it prints figures and asserts nothing about time.
//
//   dnsctl_probe_rate [--queries N] [--rounds R] [--in-flight Q] [--udp-workers W] [--dnsperf PATH]
//
// Starts a knotd of its own (127.0.0.1, an unprivileged port, a temporary
// folder; one zone signed by knotd), then alternates, R rounds: the probe
// asks N questions in one query() call (SOA, NS, DNSKEY of the apex and A of
// ns1, in turn, EDNS0 with DO, UDP), and dnsperf asks the same N questions
// (-D for DO, -q Q outstanding like the probe's in-flight bound, -n 1). Stops
// knotd by its PID.
#include <sys/utsname.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "dns/ldns_dns_probe.hpp"
#include "dns/message.hpp"
#include "knot_server.hpp"

using namespace dnsctl;
using namespace dnsctl::integration;

namespace {

struct Options {
    int queries = 100'000;
    int rounds = 5;
    int in_flight = LdnsDnsProbeOptions{}.max_udp_in_flight;
    int udp_workers = 0;
    std::string dnsperf = "dnsperf";
};

Options parse_options(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--queries") {
            options.queries = std::stoi(value());
        } else if (arg == "--rounds") {
            options.rounds = std::stoi(value());
        } else if (arg == "--in-flight") {
            options.in_flight = std::stoi(value());
        } else if (arg == "--udp-workers") {
            options.udp_workers = std::stoi(value());
        } else if (arg == "--dnsperf") {
            options.dnsperf = value();
        } else {
            throw std::runtime_error("unknown option " + arg);
        }
    }
    return options;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    }
    return "unknown";
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values.empty() ? 0 : values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) try {
    const Options options = parse_options(argc, argv);
    KnotServer knot({probe_test_zone()}, options.udp_workers);

    const std::uint16_t types[] = {rrtype::kSoa, rrtype::kNs, rrtype::kDnskey, rrtype::kA};
    const char* names[] = {"probe.test", "probe.test", "probe.test", "ns1.probe.test"};
    std::vector<DnsQuery> queries;
    const TempDir scratch;
    const auto data_file = scratch.path() / "queries.txt";
    {
        std::ofstream data(data_file);
        for (int i = 0; i < options.queries; ++i) {
            DnsQuery q;
            q.server = *IpAddress::parse("127.0.0.1");
            q.port = knot.port();
            q.qname = *DnsName::parse(names[i % 4]);
            q.qtype = types[i % 4];
            q.transport = DnsTransport::udp;
            q.timeout = std::chrono::milliseconds(1500);
            q.attempts = 2;
            queries.push_back(q);
            data << names[i % 4] << ' ' << type_name(types[i % 4]) << '\n';
        }
    }
    const std::vector<std::string> dnsperf_command{options.dnsperf,
                                                   "-s", "127.0.0.1",
                                                   "-p", std::to_string(knot.port()),
                                                   "-d", data_file.string(),
                                                   "-D",
                                                   "-q", std::to_string(options.in_flight),
                                                   "-n", "1"};

    SystemClock clock;
    LdnsDnsProbeOptions probe_options;
    probe_options.max_udp_in_flight = options.in_flight;
    LdnsDnsProbe probe(clock, probe_options);

    std::vector<double> probe_rates;
    std::vector<double> dnsperf_rates;
    std::vector<double> parse_rates;
    std::uint64_t failures = 0;
    std::uint64_t retransmissions = 0;
    const std::regex qps_line(R"(Queries per second:\s+([0-9.]+))");
    const std::regex lost_line(R"(Queries lost:\s+([0-9]+))");
    std::uint64_t dnsperf_lost = 0;
    for (int round = 0; round < options.rounds; ++round) {
        const auto start = std::chrono::steady_clock::now();
        auto answers = probe.query(queries);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        probe_rates.push_back(options.queries / seconds);
        retransmissions += probe.counters().udp_sent - static_cast<std::uint64_t>(options.queries);

        const auto parse_start = std::chrono::steady_clock::now();
        for (const auto& answer : answers) {
            if (!answer || !parse_message(answer->wire)) ++failures;
        }
        parse_rates.push_back(options.queries /
                              std::chrono::duration<double>(std::chrono::steady_clock::now() - parse_start).count());

        const auto log = scratch.path() / ("dnsperf-" + std::to_string(round) + ".txt");
        if (run_command(dnsperf_command, log) != 0) throw std::runtime_error("dnsperf failed:\n" + read_file(log));
        std::smatch match;
        const std::string output = read_file(log);
        if (!std::regex_search(output, match, qps_line)) throw std::runtime_error("no rate in dnsperf's output:\n" + output);
        dnsperf_rates.push_back(std::stod(match[1]));
        if (std::regex_search(output, match, lost_line)) dnsperf_lost += std::stoull(match[1]);
        std::printf("round %d: probe %.0f q/s, dnsperf %.0f q/s\n", round + 1, probe_rates.back(),
                    dnsperf_rates.back());
        std::fflush(stdout);
    }

    utsname host{};
    uname(&host);
    const double probe_rate = median(probe_rates);
    const double dnsperf_rate = median(dnsperf_rates);
    std::printf("\nmachine: %s, %u hardware threads, Linux %s\n", cpu_model().c_str(),
                std::thread::hardware_concurrency(), host.release);
    std::printf("server:  knotd (pid %d) on 127.0.0.1:%u, one signed zone, udp-workers %s\n", knot.pid(), knot.port(),
                options.udp_workers > 0 ? std::to_string(options.udp_workers).c_str() : "default (one per CPU)");
    std::printf("probe:   LdnsDnsProbe, %d queries per call (SOA, NS, DNSKEY, A; DO; UDP), %d in flight\n",
                options.queries, options.in_flight);
    std::printf("dnsperf: ");
    for (const auto& arg : dnsperf_command) std::printf("%s ", arg.c_str());
    std::printf("\n\n| rounds | probe q/s (median) | dnsperf q/s (median) | probe / dnsperf | parse_message answers/s |\n");
    std::printf("|---|---|---|---|---|\n");
    std::printf("| %d | %.0f | %.0f | %.2f | %.0f |\n", options.rounds, probe_rate, dnsperf_rate,
                dnsperf_rate > 0 ? probe_rate / dnsperf_rate : 0.0, median(parse_rates));
    std::printf("\nprobe failures: %llu, retransmissions: %llu; dnsperf queries lost: %llu (all rounds)\n",
                static_cast<unsigned long long>(failures), static_cast<unsigned long long>(retransmissions),
                static_cast<unsigned long long>(dnsperf_lost));
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "dnsctl_probe_rate: %s\n", e.what());
    return 1;
}
