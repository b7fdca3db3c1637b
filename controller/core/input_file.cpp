#include "core/input_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "core/diagnostics.hpp"

namespace dnsctl {

namespace {

std::string_view file_type(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    return "not a file";
}

std::unexpected<Error> errno_error(int error) {
    return fail(error == ENOENT || error == ENOTDIR ? ErrorKind::not_found : ErrorKind::invalid,
                std::strerror(error));
}

class Descriptor {
public:
    explicit Descriptor(int fd) : fd_(fd) {}
    ~Descriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    Descriptor(const Descriptor&) = delete;
    Descriptor& operator=(const Descriptor&) = delete;
    [[nodiscard]] int get() const { return fd_; }

private:
    int fd_;
};

std::unexpected<Error> too_large(std::uintmax_t size, std::uintmax_t max_bytes) {
    return fail(ErrorKind::invalid, fmt::format("{} is more than the limit of {}", format_byte_size(size),
                                                format_byte_size(max_bytes)));
}

}  // namespace

std::string format_byte_size(std::uintmax_t bytes) {
    constexpr std::uintmax_t kKiB = 1024;
    constexpr std::uintmax_t kMiB = kKiB * 1024;
    constexpr std::uintmax_t kGiB = kMiB * 1024;
    auto scaled = [&](std::uintmax_t unit, std::string_view name) {
        if (bytes % unit == 0) return fmt::format("{} {}", bytes / unit, name);
        std::string rounded = fmt::format("{:.1f}", static_cast<double>(bytes) / static_cast<double>(unit));
        // "4.0 MiB" would read as the limit itself: give the bytes.
        if (rounded.ends_with(".0")) return fmt::format("{} bytes", group_thousands(bytes));
        return fmt::format("{} {}", rounded, name);
    };
    if (bytes >= kGiB) return scaled(kGiB, "GiB");
    if (bytes >= kMiB) return scaled(kMiB, "MiB");
    if (bytes >= kKiB) return scaled(kKiB, "KiB");
    return fmt::format("{} byte{}", bytes, bytes == 1 ? "" : "s");
}

Result<std::string> read_input_file(const std::filesystem::path& path, std::uintmax_t max_bytes) {
    // Opening some devices has effects of its own (a watchdog, a tape): refuse
    // what is plainly not a regular file before opening it. The check that
    // counts is fstat below, on what was actually opened.
    struct stat before {};
    if (::stat(path.c_str(), &before) != 0) return errno_error(errno);
    if (!S_ISREG(before.st_mode)) {
        return fail(ErrorKind::invalid, fmt::format("not a regular file ({})", file_type(before.st_mode)));
    }
    // O_NONBLOCK: if a FIFO took the file's place since, opening it must not
    // wait for a writer.
    Descriptor fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
    if (fd.get() < 0) return errno_error(errno);
    struct stat opened {};
    if (::fstat(fd.get(), &opened) != 0) return errno_error(errno);
    if (!S_ISREG(opened.st_mode)) {
        return fail(ErrorKind::invalid, fmt::format("not a regular file ({})", file_type(opened.st_mode)));
    }
    auto size = static_cast<std::uintmax_t>(opened.st_size);
    if (size > max_bytes) return too_large(size, max_bytes);

    std::string text;
    text.resize(static_cast<std::size_t>(size) + 1);  // one more, to notice a file that grew
    std::size_t used = 0;
    while (true) {
        if (used == text.size()) {
            if (used > max_bytes) return too_large(used, max_bytes);
            text.resize(std::min<std::uintmax_t>(text.size() * 2 + 4096, max_bytes + 1));
        }
        ssize_t n = ::read(fd.get(), text.data() + used, text.size() - used);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error(errno);
        }
        if (n == 0) break;
        used += static_cast<std::size_t>(n);
    }
    if (used > max_bytes) return too_large(used, max_bytes);
    text.resize(used);
    return text;
}

}  // namespace dnsctl
