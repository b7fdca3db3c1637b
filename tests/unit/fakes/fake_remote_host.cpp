#include "fake_remote_host.hpp"

#include <fmt/format.h>

#include "plan/sha256.hpp"

namespace dnsctl {

void FakeRemoteHost::put_file(const RemoteFile& file) {
    std::lock_guard lock(mutex_);
    files_[file.path] = file;
}

void FakeRemoteHost::remove_file(const std::string& path) {
    std::lock_guard lock(mutex_);
    files_.erase(path);
}

std::optional<RemoteFile> FakeRemoteHost::file(const std::string& path) const {
    std::lock_guard lock(mutex_);
    auto it = files_.find(path);
    if (it == files_.end()) return std::nullopt;
    return it->second;
}

void FakeRemoteHost::define_program(const std::string& name, Program program) {
    std::lock_guard lock(mutex_);
    programs_[name] = std::move(program);
}

void FakeRemoteHost::set_reachable(bool reachable) {
    std::lock_guard lock(mutex_);
    reachable_ = reachable;
}

std::vector<RemoteCommand> FakeRemoteHost::commands() const {
    std::lock_guard lock(mutex_);
    return commands_;
}

std::vector<std::string> FakeRemoteHost::written() const {
    std::lock_guard lock(mutex_);
    return written_;
}

std::optional<Error> FakeRemoteHost::enter(RemoteHostMethod method) {
    if (auto injected = failures_.enter(method)) return injected;
    std::lock_guard lock(mutex_);
    if (!reachable_) {
        return Error{ErrorKind::unavailable, fmt::format("ssh {}: connection refused", name_), false};
    }
    return std::nullopt;
}

Result<std::vector<CommandOutput>> FakeRemoteHost::run(std::span<const RemoteCommand> commands) {
    if (auto error = enter(RemoteHostMethod::run)) return std::unexpected(*error);
    std::vector<CommandOutput> outputs;
    for (const auto& command : commands) {
        Program program;
        {
            std::lock_guard lock(mutex_);
            commands_.push_back(command);
            if (command.argv.empty()) {
                return std::unexpected(Error{ErrorKind::invalid, "a command needs at least a program", false});
            }
            if (auto it = programs_.find(command.argv.front()); it != programs_.end()) program = it->second;
        }
        if (!program) {
            outputs.push_back(CommandOutput{127, "", fmt::format("{}: command not found\n", command.argv.front())});
            continue;
        }
        outputs.push_back(program(command, *this));  // without the lock: programs use the host
    }
    return outputs;
}

Result<std::vector<FileFacts>> FakeRemoteHost::inspect(std::span<const std::string> paths) {
    if (auto error = enter(RemoteHostMethod::inspect)) return std::unexpected(*error);
    std::lock_guard lock(mutex_);
    std::vector<FileFacts> out;
    for (const auto& path : paths) {
        FileFacts facts;
        facts.path = path;
        if (auto it = files_.find(path); it != files_.end()) {
            facts.exists = true;
            facts.sha256 = sha256_hex(it->second.content);
            facts.size = it->second.content.size();
            facts.mode = it->second.mode;
            facts.owner = it->second.owner;
            facts.group = it->second.group;
        }
        out.push_back(std::move(facts));
    }
    return out;
}

Result<std::string> FakeRemoteHost::read_file(const std::string& path, std::size_t max_bytes) {
    if (auto error = enter(RemoteHostMethod::read_file)) return std::unexpected(*error);
    std::lock_guard lock(mutex_);
    auto it = files_.find(path);
    if (it == files_.end()) {
        return std::unexpected(Error{ErrorKind::not_found, fmt::format("{}:{}: no such file", name_, path), false});
    }
    if (it->second.content.size() > max_bytes) {
        return std::unexpected(Error{ErrorKind::invalid,
                                     fmt::format("{}:{}: {} bytes, more than the {} allowed", name_, path,
                                                 it->second.content.size(), max_bytes),
                                     false});
    }
    return it->second.content;
}

Result<void> FakeRemoteHost::write_file(const RemoteFile& file) {
    if (auto error = enter(RemoteHostMethod::write_file)) return std::unexpected(*error);
    if (file.path.empty() || file.path.front() != '/') {
        return std::unexpected(
            Error{ErrorKind::invalid, fmt::format("{}: '{}' is not an absolute path", name_, file.path), false});
    }
    std::lock_guard lock(mutex_);
    files_[file.path] = file;
    written_.push_back(file.path);
    return {};
}

}  // namespace dnsctl
