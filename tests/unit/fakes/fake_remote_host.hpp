// FakeRemoteHost: one host behind the RemoteHost port, in memory: a file
// system (content, mode, owner, group), programs a test defines (argv[0] ->
// handler), a log of every command run, an unreachable switch, and
// per-method failure injection. write_file keeps the port's promise: a failed
// write leaves the target as it was. Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "failure_injector.hpp"
#include "ssh/remote_host.hpp"

namespace dnsctl {

enum class RemoteHostMethod { run, inspect, read_file, write_file };

class FakeRemoteHost final : public RemoteHost {
public:
    // Handles one command; may read and change the host's files.
    using Program = std::function<CommandOutput(const RemoteCommand& command, FakeRemoteHost& host)>;

    explicit FakeRemoteHost(std::string name = "host.example") : name_(std::move(name)) {}

    // ---- the host
    void put_file(const RemoteFile& file);
    void remove_file(const std::string& path);
    [[nodiscard]] std::optional<RemoteFile> file(const std::string& path) const;
    // A program: commands whose argv[0] is `name` run `program`. Unknown
    // programs exit 127 with "command not found" on standard error.
    void define_program(const std::string& name, Program program);
    // Every call fails with ErrorKind::unavailable ("connection refused").
    void set_reachable(bool reachable);

    // ---- what happened
    [[nodiscard]] std::vector<RemoteCommand> commands() const;  // every command run, in order
    [[nodiscard]] std::vector<std::string> written() const;     // paths written by write_file, in order

    FailureInjector<RemoteHostMethod>& failures() { return failures_; }

    // ---- RemoteHost
    Result<std::vector<CommandOutput>> run(std::span<const RemoteCommand> commands) override;
    Result<std::vector<FileFacts>> inspect(std::span<const std::string> paths) override;
    Result<std::string> read_file(const std::string& path, std::size_t max_bytes) override;
    Result<void> write_file(const RemoteFile& file) override;

private:
    std::optional<Error> enter(RemoteHostMethod method);

    std::string name_;
    mutable std::mutex mutex_;
    std::map<std::string, RemoteFile> files_;
    std::map<std::string, Program> programs_;
    std::vector<RemoteCommand> commands_;
    std::vector<std::string> written_;
    bool reachable_ = true;
    FailureInjector<RemoteHostMethod> failures_;
};

}  // namespace dnsctl
