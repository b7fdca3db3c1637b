// ClusterApi: the /api2/json surface of one simulated cluster, independent of
// the HTTP library. It parses parameters (query, form or JSON body),
// authenticates (API token, ticket + CSRF), routes, checks privileges and
// parameters against the schema, and calls ClusterState. Answers that must
// wait (PVE's 3 s delay on 401, a config write queued behind a flock) come
// back as a Deferral the caller schedules.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "access.hpp"
#include "cluster.hpp"
#include "faults.hpp"
#include "schema.hpp"

namespace pvesim {

struct HttpRequest {
    std::string method;
    std::string target;  // path and query as sent
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string body;
};

struct HttpReply {
    int status = 200;
    std::string reason = "OK";
    std::string body;
    std::string content_type = "application/json;charset=UTF-8";
    std::vector<std::pair<std::string, std::string>> headers;
};

// What survives between the attempts of one request.
struct RequestContext {
    HttpRequest request;
    FaultDecision faults;
    std::optional<TimePoint> lock_deadline;
    std::string authid;  // for the request log, once known
};

struct Deferral {
    TimePoint until;
    std::optional<HttpReply> reply;  // send this at `until`; without it, handle the request again
};

using ApiStep = std::variant<HttpReply, Deferral>;

HttpReply json_reply(const nlohmann::json& data, std::optional<nlohmann::json> total = std::nullopt);
HttpReply error_reply(const ApiError& error);
// The API path below /api2/json (decoded segments re-joined) and the query string.
std::pair<std::string, std::string> split_target(const std::string& target);

class ClusterApi {
public:
    ClusterApi(ClusterState& cluster, const AccessControl& access, const TicketSigner& tickets, const Schema& schema,
               std::filesystem::path guest_root, std::string fingerprint);

    // The caller serialises calls (one simulator lock).
    ApiStep handle(RequestContext& context);

    // "METHOD /template" of every route, for the schema cross-check.
    static std::vector<std::string> routes();

private:
    struct Call;
    using Handler = ApiStep (ClusterApi::*)(Call&);
    struct Route {
        std::string method;
        std::string path;
        Handler handler;
    };
    static const std::vector<Route>& route_table();

    Outcome<Identity> authenticate(const HttpRequest& request, const std::string& method);
    std::optional<ApiError> check_permissions(const Call& call) const;
    std::optional<ApiError> check_vm_privileges(const Identity& who, int vmid, const std::vector<std::string>& privileges,
                                                bool any) const;
    bool vm_allowed(const Identity& who, int vmid, const std::string& privilege) const;
    std::optional<ApiStep> wait_for_flock(Call& call, int vmid, bool shared, Millis wait);
    TaskOptions task_options(const Call& call) const;
    nlohmann::json typed(const std::string& key, const std::string& value) const;
    std::optional<ApiError> config_write_privileges(const Identity& who, int vmid, const Params& params) const;

    ApiStep version(Call&);
    ApiStep nodes(Call&);
    ApiStep node_index(Call&);
    ApiStep cluster_resources(Call&);
    ApiStep cluster_nextid(Call&);
    ApiStep cluster_tasks(Call&);
    ApiStep ticket_get(Call&);
    ApiStep ticket_post(Call&);
    ApiStep permissions(Call&);
    ApiStep pools(Call&);
    ApiStep qemu_list(Call&);
    ApiStep qemu_index(Call&);
    ApiStep qemu_delete(Call&);
    ApiStep qemu_clone(Call&);
    ApiStep config_get(Call&);
    ApiStep config_post(Call&);
    ApiStep config_put(Call&);
    ApiStep pending_get(Call&);
    ApiStep cloudinit_get(Call&);
    ApiStep cloudinit_put(Call&);
    ApiStep cloudinit_dump(Call&);
    ApiStep resize(Call&);
    ApiStep status_current(Call&);
    ApiStep status_start(Call&);
    ApiStep status_stop(Call&);
    ApiStep status_shutdown(Call&);
    ApiStep status_reboot(Call&);
    ApiStep agent_ping(Call&);
    ApiStep agent_interfaces(Call&);
    ApiStep agent_file_read(Call&);
    ApiStep tasks_list(Call&);
    ApiStep task_index(Call&);
    ApiStep task_delete(Call&);
    ApiStep task_status(Call&);
    ApiStep task_log(Call&);

    ApiStep power(Call& call, TaskJob::Kind kind);
    Outcome<const Vm*> agent_vm(Call& call);
    Outcome<const Task*> find_task(Call& call);
    nlohmann::json task_entry(const Task& task) const;
    bool task_visible(const Identity& who, const Task& task) const;
    nlohmann::json vm_resource(const Vm& vm) const;
    nlohmann::json vm_status(const Vm& vm) const;
    ApiStep config_write(Call& call, bool async);

    ClusterState& cluster_;
    const AccessControl& access_;
    const TicketSigner& tickets_;
    const Schema& schema_;
    std::filesystem::path guest_root_;
    std::string fingerprint_;
};

}  // namespace pvesim
