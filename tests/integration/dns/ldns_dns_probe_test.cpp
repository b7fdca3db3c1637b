// LdnsDnsProbe against real servers on loopback: a knotd of our own that
// signs its zone, and small servers that stay silent, send strays or answer
// in pieces. Real time, real sockets; only 127.0.0.1 and ::1.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <sys/resource.h>

#include <chrono>
#include <filesystem>

#include "dns/dnssec.hpp"
#include "dns/ldns_dns_probe.hpp"
#include "dns/message.hpp"
#include "fake_servers.hpp"
#include "knot_server.hpp"
#include "nsd_server.hpp"

using namespace dnsctl;
using namespace dnsctl::integration;
using std::chrono::milliseconds;

namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
DnsName name(const char* text) { return *DnsName::parse(text); }

DnsQuery question(const char* server, std::uint16_t port, const char* qname, std::uint16_t qtype,
                  DnsTransport transport = DnsTransport::udp_then_tcp) {
    DnsQuery q;
    q.server = ip(server);
    q.port = port;
    q.qname = name(qname);
    q.qtype = qtype;
    q.transport = transport;
    q.timeout = milliseconds(1000);
    q.attempts = 2;
    return q;
}

DnsMessage parsed(const Result<DnsResponse>& response) {
    REQUIRE(response);
    auto message = parse_message(response->wire);
    REQUIRE(message);
    return *message;
}

int open_descriptors() {
    int count = 0;
    if (DIR* dir = opendir("/proc/self/fd")) {
        while (readdir(dir) != nullptr) ++count;
        closedir(dir);
    }
    return count - 3;  // ".", ".." and the directory's own descriptor
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("LdnsDnsProbe: SOA from knotd over UDP and TCP, IPv4 and IPv6, authoritative") {
    KnotServer knot({probe_test_zone()});
    SystemClock clock;
    LdnsDnsProbe probe(clock);
    std::vector<DnsQuery> queries{
        question("127.0.0.1", knot.port(), "probe.test", rrtype::kSoa, DnsTransport::udp),
        question("127.0.0.1", knot.port(), "probe.test", rrtype::kSoa, DnsTransport::tcp),
        question("::1", knot.port(), "probe.test", rrtype::kSoa, DnsTransport::udp),
        question("::1", knot.port(), "probe.test", rrtype::kSoa, DnsTransport::tcp),
    };
    auto answers = probe.query(queries);
    REQUIRE(answers.size() == 4);
    for (std::size_t i = 0; i < answers.size(); ++i) {
        INFO(i << ": " << (answers[i] ? "" : answers[i].error().message));
        auto m = parsed(answers[i]);
        CHECK(m.header.aa);
        CHECK(m.header.rcode == rcode::kNoError);
        CHECK_FALSE(m.header.rd);  // the probe asks authoritative servers, no recursion
        REQUIRE(m.edns);
        CHECK(m.edns->dnssec_ok);
        auto soa = m.rrset(DnsSection::answer, name("probe.test"), rrtype::kSoa);
        REQUIRE(soa.size() == 1);
        CHECK(soa[0].soa()->serial >= 1);
        CHECK(answers[i]->transport == (i % 2 == 0 ? DnsTransport::udp : DnsTransport::tcp));
        CHECK(answers[i]->round_trip > std::chrono::microseconds(0));
    }
    CHECK(probe.counters().tcp_connections == 2);
}

TEST_CASE("LdnsDnsProbe: DNSKEY with DO comes signed and validates at the current time") {
    KnotServer knot({probe_test_zone()});
    SystemClock clock;
    LdnsDnsProbe probe(clock);
    std::vector<DnsQuery> queries{question("127.0.0.1", knot.port(), "probe.test", rrtype::kDnskey),
                                  question("::1", knot.port(), "probe.test", rrtype::kSoa)};
    auto answers = probe.query(queries);
    auto dnskey = parsed(answers[0]);
    auto keys = dnskey.rrset(DnsSection::answer, name("probe.test"), rrtype::kDnskey);
    REQUIRE(keys.size() == 2);
    auto self_signed = verify_rrset(dnskey, DnsSection::answer, name("probe.test"), rrtype::kDnskey, keys,
                                    clock.unix_now());
    INFO(self_signed.message);
    CHECK(self_signed.reason == "SignatureValid");
    auto soa = verify_rrset(parsed(answers[1]), DnsSection::answer, name("probe.test"), rrtype::kSoa, keys,
                            clock.unix_now());
    CHECK(soa.reason == "SignatureValid");

    // Without DO: EDNS0 still, and no signatures.
    auto plain = queries[0];
    plain.dnssec_ok = false;
    auto unsigned_answer = parsed(probe.query(std::span(&plain, 1))[0]);
    CHECK(unsigned_answer.rrsigs(DnsSection::answer, name("probe.test"), rrtype::kDnskey).empty());
    REQUIRE(unsigned_answer.edns);
    CHECK_FALSE(unsigned_answer.edns->dnssec_ok);
}

TEST_CASE("LdnsDnsProbe: a truncated UDP answer falls back to TCP, UDP only keeps it truncated") {
    KnotServer knot({probe_test_zone()});
    SystemClock clock;
    LdnsDnsProbe probe(clock);
    std::vector<DnsQuery> queries{
        question("127.0.0.1", knot.port(), "big.probe.test", rrtype::kTxt, DnsTransport::udp_then_tcp),
        question("127.0.0.1", knot.port(), "big.probe.test", rrtype::kTxt, DnsTransport::udp),
        question("::1", knot.port(), "big.probe.test", rrtype::kTxt, DnsTransport::udp_then_tcp),
    };
    auto answers = probe.query(queries);
    REQUIRE(answers[0]);
    CHECK(answers[0]->transport == DnsTransport::tcp);
    auto full = parsed(answers[0]);
    CHECK_FALSE(full.header.tc);
    CHECK(full.rrset(DnsSection::answer, name("big.probe.test"), rrtype::kTxt).size() == 30);
    CHECK(answers[0]->wire.size() > 1232);

    REQUIRE(answers[1]);
    CHECK(answers[1]->transport == DnsTransport::udp);
    CHECK(parsed(answers[1]).header.tc);
    CHECK(answers[1]->wire.size() <= 1232);

    REQUIRE(answers[2]);
    CHECK(answers[2]->transport == DnsTransport::tcp);
    CHECK(probe.counters().tcp_connections == 2);
}

TEST_CASE("LdnsDnsProbe: a port nobody listens on is unavailable within the timeout budget") {
    const auto port = free_port();
    SystemClock clock;
    LdnsDnsProbe probe(clock);
    std::vector<DnsQuery> queries{question("127.0.0.1", port, "probe.test", rrtype::kSoa, DnsTransport::udp),
                                  question("::1", port, "probe.test", rrtype::kSoa, DnsTransport::udp),
                                  question("127.0.0.1", port, "probe.test", rrtype::kSoa, DnsTransport::tcp),
                                  question("::1", port, "probe.test", rrtype::kSoa, DnsTransport::tcp)};
    const auto start = std::chrono::steady_clock::now();
    auto answers = probe.query(queries);
    const double elapsed = seconds_since(start);
    for (const auto& answer : answers) {
        REQUIRE_FALSE(answer);
        INFO(answer.error().message);
        CHECK(answer.error().kind == ErrorKind::unavailable);
        CHECK(answer.error().message.find("probe.test. SOA @") != std::string::npos);
    }
    CHECK(elapsed < 2 * 1.0 + 0.5);  // timeout × attempts, and some slack
    // Loopback refuses at once: an ICMP port unreachable for UDP, a reset for TCP.
    CHECK(answers[0].error().message.find("refused") != std::string::npos);
    CHECK(answers[2].error().message.find("refused") != std::string::npos);
    WARN("refused in " << elapsed << " s");
}

TEST_CASE("LdnsDnsProbe: a server that drops every packet times out after the attempts, no more") {
    SilentUdpServer silent;
    SystemClock clock;
    LdnsDnsProbe probe(clock);
    auto q = question("127.0.0.1", silent.port(), "probe.test", rrtype::kSoa, DnsTransport::udp);
    q.timeout = milliseconds(300);
    q.attempts = 3;
    const auto start = std::chrono::steady_clock::now();
    auto answers = probe.query(std::span(&q, 1));
    const double elapsed = seconds_since(start);
    REQUIRE_FALSE(answers[0]);
    INFO(answers[0].error().message);
    CHECK(answers[0].error().kind == ErrorKind::unavailable);
    CHECK(answers[0].error().message.find("no answer after 3 attempts of 300 ms") != std::string::npos);
    CHECK(elapsed >= 0.9);
    CHECK(elapsed < 0.9 + 0.5);
    CHECK(silent.received() == 3);
    CHECK(probe.counters().udp_sent == 3);
}

TEST_CASE("LdnsDnsProbe: strays (wrong ID, wrong question, wrong source port) are ignored, the answer counts") {
    ScriptedUdpServer server([](std::span<const std::uint8_t> query) {
        auto right = echo_answer(query);
        auto wrong_id = right;
        wrong_id[1] ^= 0x5a;
        auto wrong_question = right;
        wrong_question[13] ^= 0x01;  // a letter of the first label
        auto not_a_response = std::vector<std::uint8_t>(query.begin(), query.end());
        return std::vector<Datagram>{{wrong_id}, {wrong_question}, {right, true}, {not_a_response}, {{1, 2, 3}},
                                     {right}};
    });
    SystemClock clock;
    LdnsDnsProbe probe(clock);
    auto q = question("127.0.0.1", server.port(), "stray.test", rrtype::kA, DnsTransport::udp);
    auto answers = probe.query(std::span(&q, 1));
    REQUIRE(answers[0]);
    auto m = parsed(answers[0]);
    CHECK(m.question.at(0).name.is(name("stray.test")));
    CHECK(probe.counters().udp_strays == 5);
    CHECK(probe.counters().udp_sent == 1);
}

TEST_CASE("LdnsDnsProbe: an answer in one-byte pieces over TCP is read whole, a wrong one is invalid") {
    ScriptedTcpServer pieces([](std::span<const std::uint8_t> query) { return echo_answer(query); }, 1);
    ScriptedTcpServer wrong(
        [](std::span<const std::uint8_t> query) {
            auto answer = echo_answer(query);
            answer[0] ^= 0xff;
            return answer;
        },
        64);
    ScriptedTcpServer truncated(
        [](std::span<const std::uint8_t> query) {
            auto answer = echo_answer(query);
            answer[2] |= 0x02;
            return answer;
        },
        64);
    SystemClock clock;
    LdnsDnsProbe probe(clock);
    std::vector<DnsQuery> queries{question("127.0.0.1", pieces.port(), "pieces.test", rrtype::kSoa, DnsTransport::tcp),
                                  question("127.0.0.1", wrong.port(), "wrong.test", rrtype::kSoa, DnsTransport::tcp),
                                  question("127.0.0.1", truncated.port(), "tc.test", rrtype::kSoa, DnsTransport::tcp)};
    auto answers = probe.query(queries);
    REQUIRE(answers[0]);
    CHECK(answers[0]->transport == DnsTransport::tcp);
    CHECK(parsed(answers[0]).question.at(0).name.is(name("pieces.test")));
    REQUIRE_FALSE(answers[1]);
    CHECK(answers[1].error().kind == ErrorKind::invalid);
    CHECK(answers[1].error().message.find("not for this question") != std::string::npos);
    REQUIRE_FALSE(answers[2]);
    CHECK(answers[2].error().kind == ErrorKind::invalid);
    CHECK(answers[2].error().message.find("truncated") != std::string::npos);
}

TEST_CASE("LdnsDnsProbe: 40,000 queries in one call within a fixed number of descriptors") {
    KnotServer knot({probe_test_zone()});
    SystemClock clock;
    LdnsDnsProbe probe(clock);
    const std::uint16_t types[] = {rrtype::kSoa, rrtype::kNs, rrtype::kDnskey, rrtype::kA};
    const char* names[] = {"probe.test", "probe.test", "probe.test", "ns1.probe.test"};
    std::vector<DnsQuery> queries;
    for (int i = 0; i < 40'000; ++i) {
        queries.push_back(question(i % 2 == 0 ? "127.0.0.1" : "::1", knot.port(), names[i % 4], types[i % 4],
                                   DnsTransport::udp_then_tcp));
    }
    // Fewer descriptors than queries by far: 256 UDP + 64 TCP at most, plus what the process holds.
    const int before = open_descriptors();
    rlimit old_limit{};
    getrlimit(RLIMIT_NOFILE, &old_limit);
    rlimit low = old_limit;
    low.rlim_cur = static_cast<rlim_t>(before + 256 + 64 + 16);
    REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
    const auto start = std::chrono::steady_clock::now();
    auto answers = probe.query(queries);
    const double elapsed = seconds_since(start);
    setrlimit(RLIMIT_NOFILE, &old_limit);

    int ok = 0;
    std::string first_error;
    for (const auto& answer : answers) {
        if (answer) {
            ++ok;
        } else if (first_error.empty()) {
            first_error = answer.error().message;
        }
    }
    INFO(first_error);
    CHECK(ok == 40'000);
    CHECK(probe.counters().peak_udp_sockets <= 256);
    CHECK(open_descriptors() == before);  // every socket closed
    // Each answer is the one asked for.
    for (std::size_t i = 0; i < answers.size(); i += 997) {
        auto m = parsed(answers[i]);
        CHECK(m.question.at(0).type == queries[i].qtype);
        CHECK(m.question.at(0).name.is(queries[i].qname));
    }
    WARN("40,000 queries in " << elapsed << " s (" << 40'000 / elapsed << " q/s), " << probe.counters().udp_sent
                              << " datagrams sent, peak " << probe.counters().peak_udp_sockets << " UDP sockets");
}

TEST_CASE("LdnsDnsProbe: UDP sockets are replaced after their share of queries, the bound holds") {
    KnotServer knot({probe_test_zone()});
    SystemClock clock;
    LdnsDnsProbeOptions options;
    options.max_udp_sockets = 4;
    options.max_udp_in_flight = 16;
    options.queries_per_udp_socket = 10;
    LdnsDnsProbe probe(clock, options);
    std::vector<DnsQuery> queries;
    for (int i = 0; i < 500; ++i) queries.push_back(question("127.0.0.1", knot.port(), "probe.test", rrtype::kSoa));
    const int before = open_descriptors();
    auto answers = probe.query(queries);
    for (const auto& answer : answers) CHECK(answer);
    CHECK(probe.counters().peak_udp_sockets <= 4);
    CHECK(probe.counters().udp_sockets_opened >= 500 / 10);  // a fresh source port every 10 queries
    CHECK(open_descriptors() == before);
}

TEST_CASE("LdnsDnsProbe: a dead server costs one round of timeouts, not one per batch") {
    SilentUdpServer silent;
    KnotServer knot({probe_test_zone()});
    SystemClock clock;
    LdnsDnsProbeOptions options;
    options.max_udp_in_flight = 8;
    options.give_up_after_timeouts = 4;
    LdnsDnsProbe probe(clock, options);
    std::vector<DnsQuery> queries;
    for (int i = 0; i < 100; ++i) {
        auto dead = question("127.0.0.1", silent.port(), "probe.test", rrtype::kSoa, DnsTransport::udp);
        dead.timeout = milliseconds(200);
        dead.attempts = 1;
        queries.push_back(dead);
        queries.push_back(question("127.0.0.1", knot.port(), "probe.test", rrtype::kSoa));
    }
    const auto start = std::chrono::steady_clock::now();
    auto answers = probe.query(queries);
    const double elapsed = seconds_since(start);
    int given_up = 0;
    for (std::size_t i = 0; i < answers.size(); ++i) {
        if (i % 2 == 1) {
            CHECK(answers[i]);  // the live server's answers are not held up
            continue;
        }
        REQUIRE_FALSE(answers[i]);
        CHECK(answers[i].error().kind == ErrorKind::unavailable);
        if (answers[i].error().message.find("not sent") != std::string::npos) ++given_up;
    }
    // Without giving up: 100 queries, 8 at a time, 200 ms each: 2.5 s at least.
    CHECK(elapsed < 1.0);
    CHECK(given_up >= 100 - 8 - 4);
    CHECK(silent.received() < 20);
}

TEST_CASE("LdnsDnsProbe: an error answer without the question counts, a NOERROR one without it does not") {
    ScriptedUdpServer server([](std::span<const std::uint8_t> query) {
        // The header alone: QR, the query's ID, QDCOUNT 0; RCODE FORMERR for
        // "formerr.test", NOERROR (a stray) for the others.
        std::vector<std::uint8_t> header(query.begin(), query.begin() + 12);
        header[2] |= 0x80;
        header[4] = header[5] = header[10] = header[11] = 0;
        const bool formerr = query.size() > 13 && query[13] == 'f';
        header[3] = formerr ? 0x01 : 0x00;
        return std::vector<Datagram>{{header}};
    });
    SystemClock clock;
    LdnsDnsProbe probe(clock);
    std::vector<DnsQuery> queries{question("127.0.0.1", server.port(), "formerr.test", rrtype::kSoa, DnsTransport::udp),
                                  question("127.0.0.1", server.port(), "noerror.test", rrtype::kSoa, DnsTransport::udp)};
    queries[1].timeout = milliseconds(200);
    queries[1].attempts = 1;
    auto answers = probe.query(queries);
    REQUIRE(answers[0]);
    auto m = parsed(answers[0]);
    CHECK(m.header.rcode == rcode::kFormErr);
    CHECK(m.question.empty());
    REQUIRE_FALSE(answers[1]);
    CHECK(answers[1].error().message.find("no answer") != std::string::npos);
}

TEST_CASE("LdnsDnsProbe: NSD serving a zone signed by ldns-signzone: answers verify, NSEC proves NXDOMAIN") {
    NsdServer nsd({{"rsa.dnsctl.test", std::filesystem::path(DNSCTL_TEST_DATA) / "dns/answers/rsa.dnsctl.test.signed"}});
    SystemClock clock;
    LdnsDnsProbe probe(clock);
    std::vector<DnsQuery> queries{
        question("127.0.0.1", nsd.port(), "rsa.dnsctl.test", rrtype::kDnskey, DnsTransport::udp),
        question("::1", nsd.port(), "rsa.dnsctl.test", rrtype::kSoa, DnsTransport::tcp),
        question("127.0.0.1", nsd.port(), "nx-4b2q.rsa.dnsctl.test", rrtype::kA, DnsTransport::udp),
    };
    auto answers = probe.query(queries);
    for (const auto& answer : answers) {
        INFO((answer ? "" : answer.error().message) << "\n" << nsd.log());
        REQUIRE(answer);
    }
    // Signed for 2025-01-01 … 2025-04-01 (tests/data/dns): judged inside that window.
    const std::int64_t inside = 1'738'368'000;
    auto dnskey = parsed(answers[0]);
    auto keys = dnskey.rrset(DnsSection::answer, name("rsa.dnsctl.test"), rrtype::kDnskey);
    REQUIRE(keys.size() == 2);
    CHECK(verify_rrset(dnskey, DnsSection::answer, name("rsa.dnsctl.test"), rrtype::kDnskey, keys, inside).reason ==
          "SignatureValid");
    auto soa = parsed(answers[1]);
    CHECK(soa.header.aa);
    CHECK(answers[1]->transport == DnsTransport::tcp);
    CHECK(verify_rrset(soa, DnsSection::answer, name("rsa.dnsctl.test"), rrtype::kSoa, keys, inside).reason ==
          "SignatureValid");
    auto nx = parsed(answers[2]);
    CHECK(nx.header.rcode == rcode::kNxDomain);
    auto denial = check_denial(nx, name("nx-4b2q.rsa.dnsctl.test"), rrtype::kA, keys, inside);
    INFO(denial.message);
    CHECK(denial.reason == "DenialValid");
    // At the current time these signatures have expired.
    CHECK(verify_rrset(soa, DnsSection::answer, name("rsa.dnsctl.test"), rrtype::kSoa, keys, clock.unix_now())
              .reason == "SignatureExpired");
}
