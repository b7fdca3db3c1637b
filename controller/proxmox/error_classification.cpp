#include "core/text.hpp"
#include "proxmox/error_classification.hpp"
#include "proxmox/json_limits.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

namespace dnsctl {

namespace {

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

// Multi-line PVE messages on one line.
std::string one_line(std::string_view text) {
    std::string out;
    for (char c : trim(text)) {
        if (c == '\n') {
            out += "; ";
        } else if (c != '\r') {
            out.push_back(c);
        }
    }
    return out;
}

bool is_lock_timeout(std::string_view text) {
    return contains(text, "can't lock file") && contains(text, "got timeout");
}

// Kinds that the message alone decides, whatever the status. `server_error`
// is true for 5xx answers and task failures: only there does "does not exist"
// mean the object is missing (a 400 "storage 'x' does not exist" is bad input).
std::optional<ErrorKind> kind_from_message(std::string_view text, bool server_error) {
    if (is_lock_timeout(text)) return ErrorKind::unavailable;
    if (contains(text, "VM is locked")) return ErrorKind::unavailable;
    if (contains(text, "already exists")) return ErrorKind::conflict;
    // Digest mismatch: "checksum mismatch (file change by other user?)" (older
    // releases spell it "missmatch"), or "detected modified configuration -
    // file changed by other user? Try again."
    if (contains(text, "by other user")) return ErrorKind::conflict;
    if (!server_error) return std::nullopt;
    if (contains(text, "does not exist") || contains(text, "unable to find configuration file")) {
        return ErrorKind::not_found;
    }
    // The agent is not up yet (boot in progress): ask again later.
    if (contains(text, "guest agent is not running")) return ErrorKind::unavailable;
    if (contains(text, "No QEMU guest agent configured")) return ErrorKind::conflict;
    if (contains(text, " is running") || contains(text, "already running") || contains(text, " not running")) {
        return ErrorKind::conflict;
    }
    if (contains(text, "got timeout")) return ErrorKind::unavailable;  // qmp command … got timeout
    if (contains(text, "no quorum")) return ErrorKind::unavailable;
    if (contains(text, "No such file or directory")) return ErrorKind::not_found;  // agent file-read
    return std::nullopt;
}

// "Permission check failed (/vms/101, VM.Config.Network)" -> path, privilege.
std::optional<std::pair<std::string, std::string>> missing_privilege(const std::string& text) {
    static const std::regex kPattern(R"(Permission check failed \(([^,()]+),\s*([^()]+)\))");
    std::smatch match;
    if (!std::regex_search(text, match, kPattern)) return std::nullopt;
    return std::pair{std::string(trim(match[1].str())), std::string(trim(match[2].str()))};
}

Error make(ErrorKind kind, std::string message, bool maybe_applied = false) {
    return Error{kind, std::move(message), maybe_applied};
}

}  // namespace

FailedReply parse_failed_reply(int status, std::string reason, std::string_view body) {
    FailedReply reply{status, std::move(reason), {}, {}};
    if (!check_json_limits(body)) return reply;  // a body out of bounds says nothing we could use
    auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) return reply;
    if (auto it = json.find("message"); it != json.end() && it->is_string()) {
        reply.message = std::string(trim(it->get<std::string>()));
    }
    if (auto it = json.find("errors"); it != json.end() && it->is_object()) {
        for (const auto& [key, value] : it->items()) {
            reply.errors[key] = std::string(trim(value.is_string() ? value.get<std::string>() : value.dump()));
        }
    }
    return reply;
}

Error classify_failure(const FailedReply& reply, bool mutating) {
    const int status = reply.status;
    const std::string text = one_line(reply.message.empty() ? reply.reason : reply.message);
    const std::string shown = fmt::format("{} {}", status, text);

    if (status == 401) {
        return make(ErrorKind::denied,
                    fmt::format("authentication failed ({}): check the API token id and secret, and that the token "
                                "and its user are enabled and not expired",
                                shown));
    }
    if (status == 403) {
        if (auto missing = missing_privilege(text)) {
            return make(ErrorKind::denied, fmt::format("permission denied: the API token lacks privilege {} on {} ({})",
                                                       missing->second, missing->first, shown));
        }
        return make(ErrorKind::denied, fmt::format("permission denied ({})", shown));
    }
    if (status == 595) {
        return make(ErrorKind::unavailable,
                    fmt::format("node unreachable: the cluster's API proxy could not reach the node ({})", shown));
    }
    if (status == 596) {
        return make(ErrorKind::unavailable,
                    fmt::format("node unreachable: TLS failure on the inter-node hop, the cluster's API proxy could "
                                "not verify the node it forwards to ({})",
                                shown));
    }
    if (status == 502 || status == 503 || status == 504) {
        const bool unknown_outcome = mutating && status == 504;
        return make(ErrorKind::unavailable,
                    fmt::format("server unavailable ({}){}", shown,
                                unknown_outcome ? "; the request may have been applied" : ""),
                    unknown_outcome);
    }
    if (status == 400) {
        std::string details;
        for (const auto& [param, problem] : reply.errors) {
            details += fmt::format("{}{}: {}", details.empty() ? "" : "; ", param, one_line(problem));
        }
        std::string message = details.empty() ? fmt::format("invalid request ({})", shown)
                                              : fmt::format("invalid request ({}): {}", shown, details);
        auto kind = kind_from_message(message, /*server_error=*/false).value_or(ErrorKind::invalid);
        return make(kind, std::move(message));
    }
    if (status == 501) {
        // Unknown path or method, or a body on GET/DELETE: our request is wrong.
        return make(ErrorKind::invalid, fmt::format("request refused ({})", shown));
    }
    if (status >= 500) {
        if (auto kind = kind_from_message(text, /*server_error=*/true)) return make(*kind, shown);
        if (mutating) return make(ErrorKind::internal, shown);
        return make(ErrorKind::unavailable, fmt::format("{} (unrecognised server error on a read)", shown));
    }
    if (status >= 400) return make(ErrorKind::invalid, fmt::format("request refused ({})", shown));
    return make(ErrorKind::internal, fmt::format("unexpected HTTP status ({})", shown));
}

Error classify_task_failure(std::string_view exitstatus) {
    std::string text = one_line(exitstatus);
    auto kind = kind_from_message(text, /*server_error=*/true).value_or(ErrorKind::internal);
    return make(kind, fmt::format("task failed: {}", text));
}

Error classify_transport_failure(TransportStage stage, std::string_view detail, bool mutating) {
    switch (stage) {
    case TransportStage::before_send:
        return make(ErrorKind::unavailable, fmt::format("connection failed: {}", detail));
    case TransportStage::after_send:
        return make(ErrorKind::unavailable,
                    fmt::format("connection lost before the answer arrived: {}{}", detail,
                                mutating ? "; the request may have been applied" : ""),
                    mutating);
    case TransportStage::timeout:
        return make(ErrorKind::unavailable,
                    fmt::format("no answer within the request timeout: {}{}", detail,
                                mutating ? "; the request may have been applied" : ""),
                    mutating);
    }
    return make(ErrorKind::internal, std::string(detail));
}

}  // namespace dnsctl
