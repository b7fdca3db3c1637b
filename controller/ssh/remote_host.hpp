// RemoteHost: the narrow port to one host dnsctl manages, reached over SSH
// (DESIGN §6). Libssh2RemoteHost implements it; tests use FakeRemoteHost.
//
// Commands are argv vectors, never shell lines: an implementation that needs a
// shell on the far side quotes every element with quote_argv
// (ssh/shell_quote.hpp), the one audited quoting function. Files are written
// atomically: to a temporary name in the target's folder, synced, their digest
// compared, owner and mode set, then renamed over the target; a reader never
// sees half a file and a failed write leaves the target as it was.
//
// Error kinds:
//   unavailable  the host cannot be reached or the connection dropped (the
//                implementation reconnects once per call before giving up)
//   denied       authentication refused, or the host key differs from the
//                pinned one (the message names both fingerprints)
//   not_found    read_file of a file that does not exist
//   invalid      a bad request (relative path, oversize content)
//   internal     the far side answered something unexpected
// A command that runs and exits non-zero is not an error: its status and
// output come back in CommandOutput.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace dnsctl {

struct RemoteCommand {
    std::vector<std::string> argv;                      // argv[0] is the program
    std::optional<std::string> input;                   // written to standard input, then EOF
    std::chrono::milliseconds timeout{30'000};          // the command is killed after this
    bool privileged = false;                            // run through sudo when the SSH user is not root
};

struct CommandOutput {
    int exit_status = 0;  // 128 + signal when killed by one; -1 when the timeout ended it
    std::string out;
    std::string err;

    [[nodiscard]] bool ok() const { return exit_status == 0; }
};

struct RemoteFile {
    std::string path;      // absolute
    std::string content;
    std::uint32_t mode = 0644;
    std::string owner = "root";
    std::string group = "root";
};

// What dnsctl reads of a file it manages: enough to tell drift without
// fetching the content.
struct FileFacts {
    std::string path;
    bool exists = false;
    std::string sha256;  // lower-case hex of the content; empty when absent
    std::uint64_t size = 0;
    std::uint32_t mode = 0;
    std::string owner;
    std::string group;
};

class RemoteHost {
public:
    virtual ~RemoteHost() = default;

    // The commands in order, in one round trip; each has its own status and
    // output, and a non-zero status does not stop the ones after it. When the
    // connection is lost part-way the whole call fails (commands before that
    // point may have run: callers only batch commands that are safe to repeat).
    virtual Result<std::vector<CommandOutput>> run(std::span<const RemoteCommand> commands) = 0;

    // Facts of each path (absent files included), in one round trip.
    virtual Result<std::vector<FileFacts>> inspect(std::span<const std::string> paths) = 0;

    // The content, at most max_bytes (a larger file is an error, never cut).
    virtual Result<std::string> read_file(const std::string& path, std::size_t max_bytes) = 0;

    // Atomic write (see above). Creates no folders: the target's folder must exist.
    virtual Result<void> write_file(const RemoteFile& file) = 0;
};

// One command (the common case).
Result<CommandOutput> run_one(RemoteHost& host, const RemoteCommand& command);

}  // namespace dnsctl
