// The fakes of the narrow ports behave as the ports promise, so tests built on
// them test the code, not the fakes.
#include <catch2/catch.hpp>

#include <thread>

#include "fake_asn_lookup.hpp"
#include "fake_clock.hpp"
#include "fake_dns_backend.hpp"
#include "fake_dns_probe.hpp"
#include "fake_remote_host.hpp"
#include "fake_run_lock.hpp"
#include "plan/sha256.hpp"

using namespace dnsctl;

namespace {

IpAddress ip(const char* text) { return *IpAddress::parse(text); }
DnsName name(const char* text) { return *DnsName::parse(text); }
Error unavailable(const char* message) { return Error{ErrorKind::unavailable, message, false}; }

}  // namespace

TEST_CASE("FakeRemoteHost: files written atomically, inspected, read back") {
    FakeRemoteHost host("ns1.example.eu");
    REQUIRE(host.write_file(RemoteFile{"/etc/knot/knot.conf", "server:\n", 0640, "root", "knot"}));
    std::vector<std::string> paths{"/etc/knot/knot.conf", "/etc/knot/absent.conf"};
    auto facts = host.inspect(paths);
    REQUIRE(facts);
    REQUIRE(facts->size() == 2);
    CHECK((*facts)[0].exists);
    CHECK((*facts)[0].sha256 == sha256_hex("server:\n"));
    CHECK((*facts)[0].mode == 0640);
    CHECK((*facts)[0].group == "knot");
    CHECK_FALSE((*facts)[1].exists);
    CHECK(*host.read_file("/etc/knot/knot.conf", 100) == "server:\n");

    auto missing = host.read_file("/etc/knot/absent.conf", 100);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().kind == ErrorKind::not_found);
    auto too_big = host.read_file("/etc/knot/knot.conf", 3);
    REQUIRE_FALSE(too_big);
    CHECK(too_big.error().kind == ErrorKind::invalid);
}

TEST_CASE("FakeRemoteHost: a failed write leaves the target as it was") {
    FakeRemoteHost host;
    host.put_file(RemoteFile{"/etc/nsd/nsd.conf", "old\n"});
    host.failures().fail_next(RemoteHostMethod::write_file, unavailable("connection lost"));
    auto written = host.write_file(RemoteFile{"/etc/nsd/nsd.conf", "new\n"});
    REQUIRE_FALSE(written);
    CHECK(written.error().kind == ErrorKind::unavailable);
    CHECK(host.file("/etc/nsd/nsd.conf")->content == "old\n");
    REQUIRE(host.write_file(RemoteFile{"/etc/nsd/nsd.conf", "new\n"}));  // only the next call failed
    CHECK(host.file("/etc/nsd/nsd.conf")->content == "new\n");
    CHECK(host.failures().calls(RemoteHostMethod::write_file) == 2);
}

TEST_CASE("FakeRemoteHost: programs run in order, unknown ones exit 127, unreachable hosts refuse") {
    FakeRemoteHost host;
    host.define_program("cat", [](const RemoteCommand& command, FakeRemoteHost& self) {
        auto file = self.file(command.argv.at(1));
        return file ? CommandOutput{0, file->content, ""} : CommandOutput{1, "", "No such file\n"};
    });
    host.put_file(RemoteFile{"/etc/os-release", "ID=debian\n"});
    std::vector<RemoteCommand> commands{{{"cat", "/etc/os-release"}}, {{"knotc", "status"}}, {{"cat", "/nope"}}};
    auto outputs = host.run(commands);
    REQUIRE(outputs);
    REQUIRE(outputs->size() == 3);
    CHECK((*outputs)[0].out == "ID=debian\n");
    CHECK((*outputs)[1].exit_status == 127);
    CHECK((*outputs)[2].exit_status == 1);
    CHECK(host.commands().size() == 3);

    host.set_reachable(false);
    auto refused = run_one(host, RemoteCommand{{"cat", "/etc/os-release"}});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == ErrorKind::unavailable);
}

TEST_CASE("FakeDnsProbe: recorded answers, TCP after a truncated UDP answer, silence as a timeout") {
    FakeDnsProbe probe;
    const auto server = ip("198.51.100.53");
    std::vector<std::uint8_t> udp_truncated{0x12, 0x34, 0x86, 0x00};  // QR AA TC
    std::vector<std::uint8_t> tcp_full{0x12, 0x34, 0x84, 0x00, 0x01};
    probe.record(server, name("example.eu"), rrtype::kDnskey, DnsTransport::udp, udp_truncated);
    probe.record(server, name("example.eu"), rrtype::kDnskey, DnsTransport::tcp, tcp_full);

    std::vector<DnsQuery> queries(3);
    queries[0] = DnsQuery{server, 53, name("example.eu"), rrtype::kDnskey, DnsTransport::udp_then_tcp};
    queries[1] = DnsQuery{server, 53, name("example.eu"), rrtype::kDnskey, DnsTransport::udp};
    queries[2] = DnsQuery{server, 53, name("example.eu"), rrtype::kSoa, DnsTransport::udp};
    auto answers = probe.query(queries);
    REQUIRE(answers.size() == 3);
    REQUIRE(answers[0]);
    CHECK(answers[0]->wire == tcp_full);
    CHECK(answers[0]->transport == DnsTransport::tcp);
    REQUIRE(answers[1]);
    CHECK(answers[1]->wire == udp_truncated);
    REQUIRE_FALSE(answers[2]);
    CHECK(answers[2].error().kind == ErrorKind::unavailable);

    probe.set_server_down(server, true);
    auto down = probe.query(std::span(queries).first(1));
    REQUIRE_FALSE(down[0]);
    probe.set_server_down(server, false);
    probe.failures().fail_next(DnsProbeMethod::query, unavailable("network unreachable"));
    auto injected = probe.query(std::span(queries).first(2));
    CHECK_FALSE(injected[0]);
    CHECK(injected[1]);
}

TEST_CASE("FakeAsnLookup: known origins, unknown addresses not found, injected failures for the whole batch") {
    FakeAsnLookup lookup("dns:origin.asn.lab");
    lookup.set_origin(ip("198.51.100.53"), {Asn{199275}}, IpPrefix::parse("198.51.100.0/24").value());
    std::vector<IpAddress> addresses{ip("198.51.100.53"), ip("203.0.113.53")};
    auto origins = lookup.origins(addresses);
    REQUIRE(origins[0]);
    CHECK(origins[0]->asns == std::vector<Asn>{Asn{199275}});
    REQUIRE_FALSE(origins[1]);
    CHECK(origins[1].error().kind == ErrorKind::not_found);
    lookup.failures().fail_next(AsnLookupMethod::origins, unavailable("timeout"));
    auto failed = lookup.origins(addresses);
    CHECK_FALSE(failed[0]);
    CHECK_FALSE(failed[1]);
    CHECK(lookup.describe() == "dns:origin.asn.lab");
}

TEST_CASE("FakeRunLock: a held lock refuses with the holder and is released by the guard") {
    FakeRunLock lock;
    {
        auto held = lock.acquire("apply");
        REQUIRE(held);
        auto second = lock.acquire("check");
        REQUIRE_FALSE(second);
        CHECK(second.error().kind == ErrorKind::conflict);
        CHECK_THAT(second.error().message, Catch::Contains("apply"));
    }
    CHECK(lock.acquire("check"));
    lock.hold_external("pid 4242 on controller-2 (apply)");
    auto refused = lock.acquire("apply");
    REQUIRE_FALSE(refused);
    CHECK_THAT(refused.error().message, Catch::Contains("pid 4242"));
}

TEST_CASE("FakeDnsBackend: deterministic render, secrets marked, injected failure") {
    FakeDnsBackend backend("knot");
    ServerConfig config;
    config.estate = "lab";
    config.host = name("ns1.example.eu");
    config.zones = {ZoneSpec{name("example.eu"), std::nullopt}};
    config.tsig = TsigSpec{"xfr", "hmac-sha256", Secret("c2VjcmV0")};
    auto first = backend.render(config, {});
    auto second = backend.render(config, {});
    REQUIRE(first);
    REQUIRE(second);
    REQUIRE(first->size() == 2);
    CHECK((*first)[0].file.content == (*second)[0].file.content);
    CHECK((*first)[1].secret);
    backend.failures().fail_next(DnsBackendMethod::render, Error{ErrorKind::invalid, "template missing", false});
    CHECK_FALSE(backend.render(config, {}));
}

TEST_CASE("FakeClock: sleeping advances time at once, from several threads") {
    FakeClock clock;
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&clock] {
            for (int j = 0; j < 100; ++j) clock.sleep_for(std::chrono::milliseconds(10));
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(clock.elapsed() == std::chrono::seconds(4));
    CHECK(clock.sleeps().size() == 400);
    CHECK(clock.unix_now() == FakeClock::kUnixStart + 4);
}
