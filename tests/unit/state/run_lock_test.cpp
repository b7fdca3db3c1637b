#include <catch2/catch.hpp>

#include <filesystem>
#include <fmt/format.h>
#include <unistd.h>

#include "state/run_lock.hpp"

using namespace dnsctl;

namespace {
std::filesystem::path fresh_dir(const char* name) {
    auto dir = std::filesystem::temp_directory_path() / fmt::format("dnsctl-lock-{}-{}", name, ::getpid());
    std::filesystem::remove_all(dir);
    return dir;
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
