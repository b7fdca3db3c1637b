#include <catch2/catch.hpp>

#include "fake_clock.hpp"
#include "proxmox/error_classification.hpp"
#include "proxmox/retrying_proxmox_api.hpp"
#include "scripted_proxmox_api.hpp"

using namespace dnsctl;
using namespace dnsctl::proxmox_test;
using namespace std::chrono_literals;

namespace {

RetryPolicy test_policy() {
    RetryPolicy policy;
    policy.max_attempts = 5;
    policy.first_delay = 1s;
    policy.max_delay = 8s;
    policy.max_elapsed = 5min;
    return policy;
}

Error http_error(int status, const char* reason, bool mutating) {
    return classify_failure(parse_failed_reply(status, reason, ""), mutating);
}

const std::vector<VmSummary> kGuests = {VmSummary{Vmid{101}, "qemu", "pve1", "running", "ns1", false, "dnsctl", {}}};

}  // namespace

TEST_CASE("RetryingProxmoxApi: retries a 503 and returns the answer that follows") {
    ScriptedProxmoxApi inner;
    inner.vms.answers = {std::unexpected(http_error(503, "Service Unavailable", false)),
                         std::unexpected(http_error(503, "Service Unavailable", false)), kGuests};
    FakeClock clock;
    RetryingProxmoxApi api(inner, clock, make_seeded_random(7), test_policy());

    auto vms = api.list_vms();
    REQUIRE(vms);
    CHECK(vms->size() == 1);
    CHECK(inner.vms.calls == 3);
    REQUIRE(clock.sleeps.size() == 2);
    CHECK(clock.sleeps[0] >= 500ms);  // first delay 1 s, equal jitter
    CHECK(clock.sleeps[0] <= 1s);
    CHECK(clock.sleeps[1] >= 1s);  // then 2 s
    CHECK(clock.sleeps[1] <= 2s);
}

TEST_CASE("RetryingProxmoxApi: lock timeouts on a write are retried") {
    ScriptedProxmoxApi inner;
    inner.updates.answers = {
        std::unexpected(http_error(500, "can't lock file '/var/lock/qemu-server/lock-101.conf' - got timeout", true)),
        Result<void>{}};
    FakeClock clock;
    RetryingProxmoxApi api(inner, clock, make_seeded_random(1), test_policy());
    CHECK(api.update_config("pve1", Vmid{101}, ConfigUpdate{}));
    CHECK(inner.updates.calls == 2);
}

TEST_CASE("RetryingProxmoxApi: terminal errors are returned after one attempt, unchanged") {
    struct Case {
        const char* name;
        Error error;
    };
    const std::vector<Case> cases = {
        {"400 unknown parameter", http_error(400, "Parameter verification failed.", true)},
        {"401 bad token", http_error(401, "Authentication failed!", true)},
        {"403 missing privilege", http_error(403, "Permission check failed (/vms/9000, VM.Clone)", true)},
        {"unrecognised 500 on a write", http_error(500, "disk exploded", true)},
        {"VMID taken", http_error(500, "unable to create VM 101: config file already exists", true)},
    };
    for (const auto& c : cases) {
        SECTION(c.name) {
            ScriptedProxmoxApi inner;
            inner.clones.answers = {std::unexpected(c.error), std::string("UPID:pve1:1:2:3:qmclone:9000:u@pam:")};
            FakeClock clock;
            RetryingProxmoxApi api(inner, clock, make_seeded_random(3), test_policy());
            auto upid = api.clone("pve1", Vmid{9000}, CloneRequest{});
            REQUIRE_FALSE(upid);
            CHECK(upid.error().kind == c.error.kind);
            CHECK(upid.error().message == c.error.message);
            CHECK(inner.clones.calls == 1);
            CHECK(clock.sleeps.empty());
        }
    }
}

TEST_CASE("RetryingProxmoxApi: an unrecognised 500 on a read is repeated, on a write it is not") {
    ScriptedProxmoxApi inner;
    inner.configs.answers = {std::unexpected(http_error(500, "disk exploded", false)), VmConfig{{"cores", "2"}}};
    inner.starts.answers = {std::unexpected(http_error(500, "disk exploded", true)), std::string("UPID:x:1:2:3:a:1:u:")};
    FakeClock clock;
    RetryingProxmoxApi api(inner, clock, make_seeded_random(3), test_policy());
    CHECK(api.get_config("pve1", Vmid{101}));
    CHECK(inner.configs.calls == 2);
    CHECK_FALSE(api.start("pve1", Vmid{101}));
    CHECK(inner.starts.calls == 1);
}

TEST_CASE("RetryingProxmoxApi: a write that may have been applied is never repeated") {
    ScriptedProxmoxApi inner;
    inner.clones.answers = {
        std::unexpected(classify_transport_failure(TransportStage::after_send, "connection reset", true)),
        std::string("UPID:pve1:1:2:3:qmclone:9000:u@pam:")};
    FakeClock clock;
    RetryingProxmoxApi api(inner, clock, make_seeded_random(3), test_policy());
    auto upid = api.clone("pve1", Vmid{9000}, CloneRequest{});
    REQUIRE_FALSE(upid);
    CHECK(upid.error().maybe_applied);
    CHECK(upid.error().kind == ErrorKind::unavailable);
    CHECK(upid.error().message.find("re-observe") != std::string::npos);
    CHECK(inner.clones.calls == 1);
    CHECK(clock.sleeps.empty());
}

TEST_CASE("RetryingProxmoxApi: stops at the attempt bound and says so") {
    ScriptedProxmoxApi inner;
    for (int i = 0; i < 10; ++i) inner.nodes.answers.push_back(std::unexpected(http_error(595, "No route to host", false)));
    FakeClock clock;
    RetryingProxmoxApi api(inner, clock, make_seeded_random(11), test_policy());
    auto nodes = api.list_nodes();
    REQUIRE_FALSE(nodes);
    CHECK(nodes.error().kind == ErrorKind::unavailable);
    CHECK(nodes.error().message.find("595 No route to host") != std::string::npos);
    CHECK(nodes.error().message.find("gave up after 5 attempts") != std::string::npos);
    CHECK(inner.nodes.calls == 5);
    CHECK(clock.sleeps.size() == 4);
}

TEST_CASE("RetryingProxmoxApi: stops when the time budget would be exceeded") {
    ScriptedProxmoxApi inner;
    for (int i = 0; i < 10; ++i) inner.nodes.answers.push_back(std::unexpected(http_error(503, "busy", false)));
    FakeClock clock;
    RetryPolicy policy = test_policy();
    policy.max_attempts = 100;
    policy.max_elapsed = 10s;
    RetryingProxmoxApi api(inner, clock, [] { return 0.999; }, policy);
    auto nodes = api.list_nodes();
    REQUIRE_FALSE(nodes);
    CHECK(nodes.error().message.find("retry budget") != std::string::npos);
    CHECK(clock.elapsed() <= 10s);
    // ~1 s, ~2 s, ~4 s fit in 10 s; the next ~8 s does not.
    CHECK(inner.nodes.calls == 4);
}

TEST_CASE("backoff_delay: doubles, caps, and jitters within [nominal/2, nominal]") {
    const RetryPolicy policy = test_policy();
    CHECK(backoff_delay(policy, 1, 0.0) == 500ms);
    CHECK(backoff_delay(policy, 1, 1.0) == 1s);
    CHECK(backoff_delay(policy, 2, 1.0) == 2s);
    CHECK(backoff_delay(policy, 3, 1.0) == 4s);
    CHECK(backoff_delay(policy, 4, 1.0) == 8s);
    CHECK(backoff_delay(policy, 30, 1.0) == 8s);  // capped, no overflow
    CHECK(backoff_delay(policy, 30, 0.0) == 4s);

    auto random = make_seeded_random(2024);
    Clock::duration smallest = 1h;
    Clock::duration largest = 0s;
    for (int i = 0; i < 1000; ++i) {
        auto delay = backoff_delay(policy, 3, random());
        CHECK(delay >= 2s);
        CHECK(delay <= 4s);
        smallest = std::min(smallest, delay);
        largest = std::max(largest, delay);
    }
    // The jitter really spreads the delays over the interval.
    CHECK(smallest < 2200ms);
    CHECK(largest > 3800ms);
}

TEST_CASE("make_seeded_random: the same seed gives the same sequence") {
    auto a = make_seeded_random(99);
    auto b = make_seeded_random(99);
    auto c = make_seeded_random(100);
    bool differs = false;
    for (int i = 0; i < 10; ++i) {
        const double x = a();
        CHECK(x == b());
        CHECK(x >= 0.0);
        CHECK(x < 1.0);
        differs = differs || x != c();
    }
    CHECK(differs);
}

TEST_CASE("decide_retry: the decision is data") {
    const RetryPolicy policy = test_policy();
    auto transient = http_error(503, "busy", false);
    auto decision = decide_retry(policy, transient, 1, 0s, 1.0);
    CHECK(decision.retry);
    CHECK(decision.after == 1s);

    auto terminal = decide_retry(policy, http_error(400, "Parameter verification failed.", false), 1, 0s, 1.0);
    CHECK_FALSE(terminal.retry);
    CHECK(terminal.reason.empty());

    auto exhausted = decide_retry(policy, transient, 5, 20s, 1.0);
    CHECK_FALSE(exhausted.retry);
    CHECK(exhausted.reason.find("gave up after 5 attempts") != std::string::npos);
}
