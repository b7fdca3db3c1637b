#include "ssh/remote_host.hpp"

namespace dnsctl {

Result<CommandOutput> run_one(RemoteHost& host, const RemoteCommand& command) {
    auto outputs = host.run(std::span<const RemoteCommand>(&command, 1));
    if (!outputs) return std::unexpected(outputs.error());
    if (outputs->size() != 1) {
        return std::unexpected(Error{ErrorKind::internal, "the host answered for no command", false});
    }
    return std::move(outputs->front());
}

}  // namespace dnsctl
