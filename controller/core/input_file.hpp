// Reading a file named by an operator (an inventory, a zone file) without
// trusting what it is: only a regular file, and only up to a size.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "core/error.hpp"

namespace dnsctl {

// The whole content of `path`, which must be a regular file (a symbolic link
// to one is fine) of at most `max_bytes`. A FIFO, a socket, a device or a
// directory is refused without being read, so nothing blocks and nothing
// endless is read: the file is opened non-blocking and checked with fstat on
// the opened descriptor (what is read is what was checked); a device is
// refused before it is even opened. Errors (kind invalid or not_found) carry
// a message without the path: "not a regular file (a FIFO)", "No such file or
// directory", "5.2 MiB is more than the limit of 4 MiB".
Result<std::string> read_input_file(const std::filesystem::path& path, std::uintmax_t max_bytes);

// 4194304 -> "4 MiB", 5452595 -> "5.2 MiB", 900 -> "900 bytes".
std::string format_byte_size(std::uintmax_t bytes);

}  // namespace dnsctl
