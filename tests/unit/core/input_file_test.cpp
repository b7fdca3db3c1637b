#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include "core/input_file.hpp"

using namespace dnsctl;

namespace {

// A folder for one test case, removed afterwards.
class TempDir {
public:
    TempDir() {
        static int counter = 0;
        path_ = std::filesystem::temp_directory_path() /
                ("dnsctl-input-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

}  // namespace

TEST_CASE("read_input_file: a regular file (or a link to one) is read whole") {
    TempDir dir;
    std::ofstream(dir / "a.txt") << "hello\n";
    std::filesystem::create_symlink(dir / "a.txt", dir / "link.txt");
    auto text = read_input_file(dir / "a.txt", 100);
    REQUIRE(text);
    CHECK(*text == "hello\n");
    auto linked = read_input_file(dir / "link.txt", 100);
    REQUIRE(linked);
    CHECK(*linked == "hello\n");
    std::ofstream(dir / "empty.txt");
    auto empty = read_input_file(dir / "empty.txt", 100);
    REQUIRE(empty);
    CHECK(empty->empty());
}

TEST_CASE("read_input_file: a FIFO, a device or a directory is refused at once, never read") {
    TempDir dir;
    REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
    auto fifo = read_input_file(dir / "fifo", 100);  // would block forever if it were opened for reading
    REQUIRE_FALSE(fifo);
    CHECK(fifo.error().message == "not a regular file (a FIFO)");

    auto zero = read_input_file("/dev/zero", 100);  // would never end
    REQUIRE_FALSE(zero);
    CHECK(zero.error().message == "not a regular file (a character device)");

    auto folder = read_input_file(dir / ".", 100);
    REQUIRE_FALSE(folder);
    CHECK(folder.error().message == "not a regular file (a directory)");

    auto missing = read_input_file(dir / "nope", 100);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().kind == ErrorKind::not_found);
    CHECK(missing.error().message == "No such file or directory");
}

TEST_CASE("read_input_file: a file larger than the limit is refused before it is read") {
    TempDir dir;
    {
        std::ofstream(dir / "big") << "x";
    }
    std::filesystem::resize_file(dir / "big", 5 * 1024 * 1024 + 200 * 1024);  // sparse: costs no disk
    auto big = read_input_file(dir / "big", 4 * 1024 * 1024);
    REQUIRE_FALSE(big);
    CHECK(big.error().message == "5.2 MiB is more than the limit of 4 MiB");

    std::ofstream(dir / "exact") << std::string(100, 'x');
    CHECK(read_input_file(dir / "exact", 100));
    CHECK_FALSE(read_input_file(dir / "exact", 99));
}

TEST_CASE("format_byte_size") {
    CHECK(format_byte_size(1) == "1 byte");
    CHECK(format_byte_size(900) == "900 bytes");
    CHECK(format_byte_size(4096) == "4 KiB");
    CHECK(format_byte_size(4 * 1024 * 1024) == "4 MiB");
    CHECK(format_byte_size(52 * 1000 * 1000) == "49.6 MiB");
    CHECK(format_byte_size(4 * 1024 * 1024 + 1) == "4,194,305 bytes");  // not "4.0 MiB", which reads as 4 MiB
}
