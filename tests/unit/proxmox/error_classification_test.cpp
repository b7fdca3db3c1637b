#include <catch2/catch.hpp>

#include <vector>

#include "proxmox/cpprest_proxmox_api.hpp"
#include "proxmox/error_classification.hpp"

using namespace dnsctl;

namespace {

struct Row {
    const char* name;
    int status;
    const char* reason;
    const char* body;
    bool mutating;
    ErrorKind kind;
    bool maybe_applied;
    std::vector<const char*> message_parts;
};

constexpr bool kRead = false;
constexpr bool kWrite = true;

}  // namespace

TEST_CASE("classify_failure: status and message decide the kind") {
    const std::vector<Row> rows = {
        {"missing VM (config)", 500, "Configuration file 'nodes/pve1/qemu-server/101.conf' does not exist",
         R"({"data":null,"message":"Configuration file 'nodes/pve1/qemu-server/101.conf' does not exist\n"})", kRead,
         ErrorKind::not_found, false, {"500", "101.conf' does not exist"}},
        {"missing VM (wrong node)", 500, "unable to find configuration file for VM 101 on node 'pve2'", "", kWrite,
         ErrorKind::not_found, false, {"unable to find configuration file"}},
        {"config lock timeout", 500, "can't lock file '/var/lock/qemu-server/lock-101.conf' - got timeout",
         R"({"data":null})", kWrite, ErrorKind::unavailable, false, {"can't lock file"}},
        {"VM locked by a clone", 500, "VM is locked (clone)", "", kWrite, ErrorKind::unavailable, false,
         {"VM is locked (clone)"}},
        {"bad gateway", 502, "Bad Gateway", "", kRead, ErrorKind::unavailable, false, {"502"}},
        {"service unavailable on a write", 503, "Service Unavailable", "", kWrite, ErrorKind::unavailable, false,
         {"503"}},
        {"gateway timeout on a read", 504, "Gateway Timeout", "", kRead, ErrorKind::unavailable, false, {"504"}},
        {"gateway timeout on a write", 504, "Gateway Timeout", "", kWrite, ErrorKind::unavailable, true,
         {"504", "may have been applied"}},
        {"node unreachable", 595, "No route to host", "", kRead, ErrorKind::unavailable, false,
         {"595 No route to host", "could not reach the node"}},
        {"inter-node TLS", 596, "tls_process_server_certificate: certificate verify failed", "", kRead,
         ErrorKind::unavailable, false, {"596", "TLS failure on the inter-node hop"}},
        {"bad token", 401, "Authentication failed!", "", kRead, ErrorKind::denied, false,
         {"401 Authentication failed!", "API token"}},
        {"missing privilege", 403, "Permission check failed (/vms/101, VM.Config.Network)", R"({"data":null})",
         kWrite, ErrorKind::denied, false, {"lacks privilege VM.Config.Network on /vms/101"}},
        {"other 403", 403, "URI '/access/ticket' not available with API token, need proper ticket.", "", kWrite,
         ErrorKind::denied, false, {"permission denied", "need proper ticket"}},
        {"unknown parameter", 400, "Parameter verification failed.",
         R"({"data":null,"errors":{"foo":"property is not defined in schema and the schema does not allow additional properties"}})",
         kWrite, ErrorKind::invalid, false,
         {"Parameter verification failed.", "foo: property is not defined in schema"}},
        {"boolean spelled true", 400, "Parameter verification failed.",
         R"({"data":null,"errors":{"full":"type check ('boolean') failed - got 'true'"}})", kWrite,
         ErrorKind::invalid, false, {"full: type check ('boolean') failed"}},
        {"bad value naming something missing", 400, "Parameter verification failed.",
         R"({"data":null,"errors":{"storage":"storage 'nvme' does not exist"}})", kWrite, ErrorKind::invalid, false,
         {"storage: storage 'nvme' does not exist"}},
        {"VMID taken (400)", 400, "Parameter verification failed.",
         R"({"errors":{"vmid":"VM 218 already exists"},"data":null})", kWrite, ErrorKind::conflict, false,
         {"vmid: VM 218 already exists"}},
        {"VMID taken (500)", 500, "unable to create VM 101: config file already exists", "", kWrite,
         ErrorKind::conflict, false, {"already exists"}},
        {"running VM", 500, "VM 101 is running - destroy failed", "", kWrite, ErrorKind::conflict, false,
         {"is running"}},
        {"digest mismatch", 500, "checksum mismatch (file change by other user?)", "", kWrite, ErrorKind::conflict,
         false, {"checksum mismatch"}},
        {"agent not up yet", 500, "QEMU guest agent is not running",
         R"({"message":"QEMU guest agent is not running\n","data":null})", kRead, ErrorKind::unavailable, false,
         {"QEMU guest agent is not running"}},
        {"agent not configured", 500, "No QEMU guest agent configured", "", kRead, ErrorKind::conflict, false,
         {"No QEMU guest agent configured"}},
        {"unrecognised 500 on a write", 500, "something broke", "", kWrite, ErrorKind::internal, false,
         {"500 something broke"}},
        {"unrecognised 500 on a read", 500, "something broke", "", kRead, ErrorKind::unavailable, false,
         {"500 something broke", "read"}},
        {"body message wins over the truncated reason", 500, "first line",
         R"({"data":null,"message":"first line\nsecond line\n"})", kWrite, ErrorKind::internal, false,
         {"first line; second line"}},
        {"unknown method", 501, "Method 'GET /nodes/pve1/bogus' not implemented", "", kRead, ErrorKind::invalid,
         false, {"501", "not implemented"}},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            auto error = classify_failure(parse_failed_reply(row.status, row.reason, row.body), row.mutating);
            INFO(error.message);
            CHECK(error.kind == row.kind);
            CHECK(error.maybe_applied == row.maybe_applied);
            for (const char* part : row.message_parts) CHECK(error.message.find(part) != std::string::npos);
        }
    }
}

TEST_CASE("classify_failure: 595 and 596 say different things") {
    auto e595 = classify_failure(parse_failed_reply(595, "Connection refused", ""), kRead);
    auto e596 = classify_failure(parse_failed_reply(596, "certificate verify failed", ""), kRead);
    CHECK(e595.kind == e596.kind);
    CHECK(e595.message.find("TLS") == std::string::npos);
    CHECK(e596.message.find("TLS") != std::string::npos);
}

TEST_CASE("parse_failed_reply: bodies that are empty, not JSON or oddly typed") {
    auto empty = parse_failed_reply(401, "No ticket", "");
    CHECK(empty.message.empty());
    CHECK(empty.errors.empty());
    CHECK(parse_failed_reply(500, "x", "<html>oops</html>").message.empty());
    auto typed = parse_failed_reply(400, "Parameter verification failed.", R"({"errors":{"cores":3}})");
    CHECK(typed.errors.at("cores") == "3");
}

TEST_CASE("classify_task_failure: lock timeouts inside tasks are transient") {
    struct TaskRow {
        const char* exitstatus;
        ErrorKind kind;
    };
    const std::vector<TaskRow> rows = {
        {"clone failed: can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout",
         ErrorKind::unavailable},
        {"VM 101 already running", ErrorKind::conflict},
        {"can't clone VM to node 'pve2' (VM uses local storage)", ErrorKind::internal},
        {"shrinking disks is not supported", ErrorKind::internal},
        {"unexpected status", ErrorKind::internal},
    };
    for (const auto& row : rows) {
        auto error = classify_task_failure(row.exitstatus);
        INFO(row.exitstatus);
        CHECK(error.kind == row.kind);
        CHECK(error.message.find(row.exitstatus) != std::string::npos);
        CHECK_FALSE(error.maybe_applied);
    }
}

TEST_CASE("classify_transport_failure: only a write whose answer was lost may have been applied") {
    auto refused = classify_transport_failure(TransportStage::before_send, "connection refused", kWrite);
    CHECK(refused.kind == ErrorKind::unavailable);
    CHECK_FALSE(refused.maybe_applied);

    auto lost_write = classify_transport_failure(TransportStage::after_send, "reset", kWrite);
    CHECK(lost_write.kind == ErrorKind::unavailable);
    CHECK(lost_write.maybe_applied);
    CHECK(lost_write.message.find("may have been applied") != std::string::npos);

    CHECK_FALSE(classify_transport_failure(TransportStage::after_send, "reset", kRead).maybe_applied);
    CHECK(classify_transport_failure(TransportStage::timeout, "slow", kWrite).maybe_applied);
    CHECK_FALSE(classify_transport_failure(TransportStage::timeout, "slow", kRead).maybe_applied);
}

TEST_CASE("transport_stage_of: cpprest messages map to the stage of the request") {
    CHECK(transport_stage_of("Failed to connect to any resolved endpoint", false) == TransportStage::before_send);
    CHECK(transport_stage_of("Error resolving address", false) == TransportStage::before_send);
    CHECK(transport_stage_of("Error in SSL handshake", false) == TransportStage::before_send);
    CHECK(transport_stage_of("Failed to read HTTP status line", false) == TransportStage::after_send);
    CHECK(transport_stage_of("Failed to read response body", false) == TransportStage::after_send);
    CHECK(transport_stage_of("something new", false) == TransportStage::after_send);
    CHECK(transport_stage_of("Failed to read HTTP status line", true) == TransportStage::timeout);
}
