#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "state/run_lock.hpp"

using namespace dnsctl;

namespace {
std::filesystem::path fresh_dir(const char* name) {
    auto dir = std::filesystem::temp_directory_path() / fmt::format("dnsctl-lock-{}-{}", name, ::getpid());
    std::filesystem::remove_all(dir);
    return dir;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

unsigned mode_of(const std::filesystem::path& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

// Reads everything from fd until end of file.
std::string read_all(int fd) {
    std::string out;
    char buffer[512];
    ssize_t n = 0;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<std::size_t>(n));
    return out;
}

void write_all(int fd, const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
        auto n = ::write(fd, text.data() + done, text.size() - done);
        if (n <= 0) return;
        done += static_cast<std::size_t>(n);
    }
}

// One process of the race: waits for the start signal, tries the lock, says
// "won" or "lost: <message>" on `report`, and, when it won, holds the lock
// until `release` reaches end of file. Never returns.
[[noreturn]] void racer(const std::filesystem::path& dir, int index, int start, int report, int release) {
    char go = 0;
    (void)::read(start, &go, 1);  // end of file: every racer starts at once
    FlockRunLock lock(dir);
    auto held = lock.acquire(fmt::format("race-{}", index));
    if (held) {
        write_all(report, "won");
        ::close(report);
        (void)read_all(release);
    } else {
        write_all(report, "lost: " + held.error().message);
        ::close(report);
    }
    ::_exit(0);
}

struct RaceOutcome {
    pid_t winner = -1;
    int winner_index = -1;
    std::vector<std::string> losers;  // their messages
};

// `count` processes race for the lock at once; the winner holds it until
// every loser has reported.
RaceOutcome race(const std::filesystem::path& dir, int count) {
    int start[2];
    int release[2];
    REQUIRE(::pipe(start) == 0);
    REQUIRE(::pipe(release) == 0);
    std::vector<pid_t> pids;
    std::vector<int> reports;
    for (int i = 0; i < count; ++i) {
        int report[2];
        REQUIRE(::pipe(report) == 0);
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::close(start[1]);
            ::close(release[1]);
            ::close(report[0]);
            for (int fd : reports) ::close(fd);
            racer(dir, i, start[0], report[1], release[0]);
        }
        ::close(report[1]);
        pids.push_back(pid);
        reports.push_back(report[0]);
    }
    ::close(start[0]);
    ::close(release[0]);
    ::close(start[1]);  // go
    RaceOutcome outcome;
    for (int i = 0; i < count; ++i) {
        auto said = read_all(reports[static_cast<std::size_t>(i)]);
        ::close(reports[static_cast<std::size_t>(i)]);
        if (said == "won") {
            CHECK(outcome.winner == -1);
            outcome.winner = pids[static_cast<std::size_t>(i)];
            outcome.winner_index = i;
        } else {
            outcome.losers.push_back(said);
        }
    }
    ::close(release[1]);  // the winner lets go
    for (pid_t pid : pids) {
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status));
    }
    return outcome;
}

}  // namespace

TEST_CASE("FlockRunLock: a second holder is refused and told who holds it") {
    auto dir = fresh_dir("second");
    FlockRunLock first(dir);
    FlockRunLock second(dir);
    auto held = first.acquire("apply");
    REQUIRE(held);
    auto refused = second.acquire("check");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == ErrorKind::conflict);
    CHECK(refused.error().message.find("purpose=apply") != std::string::npos);
    CHECK(refused.error().message.find(fmt::format("pid={}", ::getpid())) != std::string::npos);
    std::filesystem::remove_all(dir);
}

TEST_CASE("FlockRunLock: released when the guard goes away") {
    auto dir = fresh_dir("release");
    FlockRunLock lock(dir);
    {
        auto held = lock.acquire("apply");
        REQUIRE(held);
    }
    CHECK(lock.acquire("check"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("FlockRunLock: processes racing for the lock: one wins, every loser names it") {
    auto dir = fresh_dir("race");
    // An earlier run's record (a PID that is gone) is left in the file.
    {
        FlockRunLock earlier(dir);
        REQUIRE(earlier.acquire("earlier-run"));
    }
    for (int round = 0; round < 12; ++round) {
        INFO("round " << round);
        auto outcome = race(dir, 8);
        REQUIRE(outcome.winner > 0);
        REQUIRE(outcome.losers.size() == 7);
        auto winner = fmt::format("pid={} ", outcome.winner);
        auto purpose = fmt::format("purpose=race-{} ", outcome.winner_index);
        for (const auto& message : outcome.losers) {
            INFO(message);
            CHECK(message.starts_with("lost: another dnsctl run holds"));
            CHECK(message.find(winner) != std::string::npos);
            CHECK(message.find(purpose) != std::string::npos);
            CHECK(message.find("holder unknown") == std::string::npos);
            CHECK(message.find("earlier-run") == std::string::npos);
        }
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("FlockRunLock: a symbolic link at run.lock is refused and its target left untouched") {
    auto dir = fresh_dir("symlink");
    std::filesystem::create_directories(dir);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
    auto target = fresh_dir("symlink-target");
    {
        std::ofstream out(target);
        out << "precious\n";
    }
    std::filesystem::create_symlink(target, dir / "run.lock");
    FlockRunLock lock(dir);
    auto held = lock.acquire("apply");
    REQUIRE_FALSE(held);
    CHECK(held.error().kind == ErrorKind::denied);
    CHECK(held.error().message.find("symbolic link") != std::string::npos);
    CHECK(read_file(target) == "precious\n");
    std::filesystem::remove_all(dir);
    std::filesystem::remove(target);
}

TEST_CASE("FlockRunLock: a missing state directory is created 0700, the lock file 0600") {
    auto parent = fresh_dir("create");
    auto dir = parent / "estate" / ".dnsctl";
    auto saved_umask = ::umask(022);
    FlockRunLock lock(dir);
    auto held = lock.acquire("apply");
    ::umask(saved_umask);
    REQUIRE(held);
    CHECK(mode_of(dir) == 0700);
    CHECK(mode_of(dir / "run.lock") == 0600);

    auto with_slash = parent / "other" / ".dnsctl/";  // as an inventory may spell it
    FlockRunLock other(with_slash);
    REQUIRE(other.acquire("apply"));
    CHECK(mode_of(parent / "other" / ".dnsctl") == 0700);
    std::filesystem::remove_all(parent);
}

TEST_CASE("FlockRunLock: a state directory others may write is refused, not used") {
    auto dir = fresh_dir("writable");
    std::filesystem::create_directories(dir);
    for (unsigned mode : {0777u, 0770u, 0702u}) {
        INFO(fmt::format("mode {:04o}", mode));
        REQUIRE(::chmod(dir.c_str(), mode) == 0);
        FlockRunLock lock(dir);
        auto held = lock.acquire("apply");
        REQUIRE_FALSE(held);
        CHECK(held.error().kind == ErrorKind::denied);
        CHECK(held.error().message.find("chmod go-w") != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(dir / "run.lock"));
    }
    // An existing 0755 directory (readable by others, written only by its owner) is fine.
    REQUIRE(::chmod(dir.c_str(), 0755) == 0);
    CHECK(FlockRunLock(dir).acquire("apply"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("FlockRunLock: a state directory owned by another user is refused") {
    if (::geteuid() != 0) {
        WARN("not root: cannot give a directory to another user here");
        return;
    }
    auto dir = fresh_dir("foreign");
    std::filesystem::create_directories(dir);
    REQUIRE(::chmod(dir.c_str(), 0700) == 0);
    REQUIRE(::chown(dir.c_str(), 65534, 65534) == 0);
    auto held = FlockRunLock(dir).acquire("apply");
    REQUIRE_FALSE(held);
    CHECK(held.error().kind == ErrorKind::denied);
    CHECK(held.error().message.find("belongs to uid 65534") != std::string::npos);
    std::filesystem::remove_all(dir);
}
