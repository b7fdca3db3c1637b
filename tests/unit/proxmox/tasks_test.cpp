#include <catch2/catch.hpp>

#include "fake_clock.hpp"
#include "proxmox/retrying_proxmox_api.hpp"
#include "proxmox/tasks.hpp"
#include "scripted_proxmox_api.hpp"

using namespace dnsctl;
using namespace dnsctl::proxmox_test;
using namespace std::chrono_literals;

namespace {

const std::string kUpid = "UPID:pve1:00076C9F:0106C652:646A9B55:qmclone:9000:dnsctl@pve!ctl:";

TaskStatus running() { return TaskStatus{kUpid, true, "", {}}; }
TaskStatus stopped(std::string exitstatus) { return TaskStatus{kUpid, false, std::move(exitstatus), {}}; }

}  // namespace

TEST_CASE("wait_for_task: polls at the interval until the task stops OK") {
    ScriptedProxmoxApi api;
    api.statuses.answers = {running(), running(), stopped("OK")};
    FakeClock clock;
    auto status = wait_for_task(api, "pve1", kUpid, clock, clock.now() + 10min, 2s);
    REQUIRE(status);
    CHECK(status->exitstatus == "OK");
    CHECK(status->log.empty());
    CHECK(api.statuses.calls == 3);
    CHECK(api.logs.calls == 0);
    CHECK(clock.sleeps == std::vector<Clock::duration>{2s, 2s});
}

TEST_CASE("wait_for_task: WARNINGS is success, with the task log kept") {
    ScriptedProxmoxApi api;
    api.statuses.answers = {stopped("WARNINGS: 1")};
    const std::vector<std::string> log = {"start VM 101", "WARN: no efidisk configured", "TASK WARNINGS: 1"};
    api.logs.answers = {log};
    FakeClock clock;
    auto status = wait_for_task(api, "pve1", kUpid, clock, clock.now() + 1min, 1s);
    REQUIRE(status);
    CHECK(status->succeeded());
    CHECK(status->exitstatus == "WARNINGS: 1");
    CHECK(status->log == log);
}

TEST_CASE("wait_for_task: WARNINGS is still success when the log cannot be read") {
    ScriptedProxmoxApi api;
    api.statuses.answers = {stopped("WARNINGS: 2")};
    api.logs.answers = {failure(ErrorKind::unavailable, "595 No route to host")};
    FakeClock clock;
    auto status = wait_for_task(api, "pve1", kUpid, clock, clock.now() + 1min, 1s);
    REQUIRE(status);
    REQUIRE(status->log.size() == 1);
    CHECK(status->log[0].find("595 No route to host") != std::string::npos);
}

TEST_CASE("wait_for_task: a failed task is an error carrying its exit status") {
    ScriptedProxmoxApi api;
    api.statuses.answers = {running(), stopped("clone failed: can't clone VM to node 'pve2' (VM uses local storage)")};
    FakeClock clock;
    auto status = wait_for_task(api, "pve1", kUpid, clock, clock.now() + 1min, 1s);
    REQUIRE_FALSE(status);
    CHECK(status.error().kind == ErrorKind::internal);
    CHECK(status.error().message.find("VM uses local storage") != std::string::npos);
    CHECK(status.error().message.find(kUpid) != std::string::npos);
    CHECK_FALSE(status.error().maybe_applied);
}

TEST_CASE("wait_for_task: a lock timeout inside the task is transient") {
    ScriptedProxmoxApi api;
    api.statuses.answers = {
        stopped("clone failed: can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout")};
    FakeClock clock;
    auto status = wait_for_task(api, "pve1", kUpid, clock, clock.now() + 1min, 1s);
    REQUIRE_FALSE(status);
    CHECK(status.error().kind == ErrorKind::unavailable);
}

TEST_CASE("wait_for_task: at the deadline the task may still be running") {
    ScriptedProxmoxApi api;
    for (int i = 0; i < 20; ++i) api.statuses.answers.push_back(running());
    FakeClock clock;
    const auto deadline = clock.now() + 10s;
    auto status = wait_for_task(api, "pve1", kUpid, clock, deadline, 3s);
    REQUIRE_FALSE(status);
    CHECK(status.error().kind == ErrorKind::unavailable);
    CHECK(status.error().maybe_applied);
    CHECK(status.error().message.find("may still be running") != std::string::npos);
    CHECK(status.error().message.find(kUpid) != std::string::npos);
    CHECK(clock.now() == deadline);  // never sleeps past it
    CHECK(clock.sleeps == std::vector<Clock::duration>{3s, 3s, 3s, 1s});
    CHECK(api.statuses.calls == 5);
}

TEST_CASE("wait_for_task: transient poll failures are polled through, others end the wait") {
    ScriptedProxmoxApi transient;
    transient.statuses.answers = {failure(ErrorKind::unavailable, "595 No route to host"), running(), stopped("OK")};
    FakeClock clock;
    CHECK(wait_for_task(transient, "pve1", kUpid, clock, clock.now() + 1min, 1s));
    CHECK(transient.statuses.calls == 3);

    ScriptedProxmoxApi refused;
    refused.statuses.answers = {failure(ErrorKind::denied, "403 Permission check failed (/nodes/pve1, Sys.Audit)"),
                                stopped("OK")};
    auto status = wait_for_task(refused, "pve1", kUpid, clock, clock.now() + 1min, 1s);
    REQUIRE_FALSE(status);
    CHECK(status.error().kind == ErrorKind::denied);
    CHECK(refused.statuses.calls == 1);
}

TEST_CASE("wait_for_task: a deadline reached while polls fail names the last failure") {
    ScriptedProxmoxApi api;
    for (int i = 0; i < 5; ++i) api.statuses.answers.push_back(failure(ErrorKind::unavailable, "595 No route to host"));
    FakeClock clock;
    auto status = wait_for_task(api, "pve1", kUpid, clock, clock.now() + 2s, 1s);
    REQUIRE_FALSE(status);
    CHECK(status.error().message.find("595 No route to host") != std::string::npos);
}

TEST_CASE("wait_for_task: polls failing for the retry budget end the wait, naming the node") {
    ScriptedProxmoxApi api;
    for (int i = 0; i < 1000; ++i) {
        api.statuses.answers.push_back(failure(ErrorKind::unavailable, "595 No route to host"));
    }
    FakeClock clock;
    PollOptions options;
    options.interval = 500ms;
    options.failure_budget = 2min;
    auto status = wait_for_task(api, "pve1", kUpid, clock, clock.now() + 30min, options);
    REQUIRE_FALSE(status);
    CHECK(status.error().kind == ErrorKind::unavailable);
    CHECK(status.error().maybe_applied);
    CHECK_THAT(status.error().message, Catch::Contains("node pve1 did not answer for 120s"));
    CHECK_THAT(status.error().message, Catch::Contains("595 No route to host"));
    CHECK_THAT(status.error().message, Catch::Contains("may still be running"));
    CHECK(clock.elapsed() == 2min);  // not the 30-minute deadline
    // Failing polls back off (0.5 s doubling up to 10 s): a handful, not 240.
    CHECK(api.statuses.calls < 25);
}

TEST_CASE("wait_for_task: an answer between failures starts the retry budget afresh") {
    ScriptedProxmoxApi api;
    for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 8; ++j) api.statuses.answers.push_back(failure(ErrorKind::unavailable, "596 timeout"));
        api.statuses.answers.push_back(running());
    }
    api.statuses.answers.push_back(stopped("OK"));
    FakeClock clock;
    PollOptions options;
    options.interval = 1s;
    options.failure_budget = 1min;  // each run of 8 failures lasts about 47 s
    auto status = wait_for_task(api, "pve1", kUpid, clock, clock.now() + 30min, options);
    REQUIRE(status);
    CHECK(status->exitstatus == "OK");
    CHECK(clock.elapsed() > 1min);
}

TEST_CASE("wait_for_task: through RetryingProxmoxApi, a poll never retries past the task's deadline") {
    ScriptedProxmoxApi inner;
    for (int i = 0; i < 1000; ++i) {
        inner.statuses.answers.push_back(failure(ErrorKind::unavailable, "595 No route to host"));
    }
    FakeClock clock;
    RetryingProxmoxApi api(inner, clock, make_seeded_random(3));  // 6 attempts, up to 2 min
    const auto deadline = clock.now() + 10s;
    auto status = wait_for_task(api, "pve1", kUpid, clock, deadline, 1s);
    REQUIRE_FALSE(status);
    CHECK_THAT(status.error().message, Catch::Contains("did not finish before its deadline"));
    CHECK(clock.now() == deadline);
}

TEST_CASE("wait_for_task: through RetryingProxmoxApi, an unreachable node ends the wait within the retry budget") {
    ScriptedProxmoxApi inner;
    for (int i = 0; i < 1000; ++i) {
        inner.statuses.answers.push_back(failure(ErrorKind::unavailable, "595 No route to host"));
    }
    FakeClock clock;
    RetryingProxmoxApi api(inner, clock, make_seeded_random(3));
    PollOptions options;
    options.failure_budget = RetryPolicy{}.max_elapsed;
    auto status = wait_for_task(api, "pve1", kUpid, clock, clock.now() + 30min, options);
    REQUIRE_FALSE(status);
    CHECK_THAT(status.error().message, Catch::Contains("node pve1 did not answer"));
    CHECK(clock.elapsed() <= RetryPolicy{}.max_elapsed);
}

TEST_CASE("wait_for_task: a stop request ends the wait at once, saying the task may still be running") {
    ScriptedProxmoxApi api;
    for (int i = 0; i < 100; ++i) api.statuses.answers.push_back(running());
    FakeClock clock;
    std::stop_source stop;
    PollOptions options;
    options.interval = 1s;
    options.stop = stop.get_token();
    SECTION("requested before the wait") {
        stop.request_stop();
        auto status = wait_for_task(api, "pve1", kUpid, clock, clock.now() + 30min, options);
        REQUIRE_FALSE(status);
        CHECK(api.statuses.calls == 1);  // the request in flight got its answer; no other was sent
        CHECK_THAT(status.error().message, Catch::Contains("not waited for: apply is stopping"));
        CHECK_THAT(status.error().message, Catch::Contains("may still be running"));
        CHECK(status.error().maybe_applied);
        CHECK(clock.sleeps.empty());
    }
}
