#include "cli/vm_commands.hpp"

#include <fmt/format.h>
#include <spdlog/logger.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <system_error>

#include <unistd.h>

#include "apply/vm_inputs.hpp"
#include "cli/stop_on_signals.hpp"
#include "cli/validate.hpp"
#include "plan/observed_state.hpp"
#include "plan/plan.hpp"
#include "plan/render.hpp"
#include "plan/saved_plan.hpp"
#include "state/run_lock.hpp"

namespace dnsctl {

namespace {

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// An inventory that passed validation, with what the VM layer derives from it
// and a client per cluster.
struct Session {
    ValidatedInventory validated;
    std::vector<DesiredVm> desired;
    std::unique_ptr<ClusterConnections> connections;

    [[nodiscard]] const Inventory& inventory() const { return validated.inventory; }
};

// Loads and validates; refuses an invalid inventory or violated policy (the
// problems go to standard error, as validate prints them).
std::optional<ValidatedInventory> validated_inventory(const std::filesystem::path& path, std::string_view command,
                                                      CommandContext& context) {
    auto validated = load_and_validate(path, *context.log);
    if (!validated.result.valid()) {
        context.err << render_validation_text(validated.result);
        context.err << fmt::format("dnsctl {}: refusing to act on an inventory that is invalid or violates its "
                                   "policy (see above; `dnsctl validate` shows the same)\n",
                                   command);
        return std::nullopt;
    }
    return validated;
}

bool prepare(Session& session, std::string_view command, CommandContext& context, VmWorld& world) {
    auto key = read_ssh_public_key(session.inventory());
    if (!key) {
        context.err << fmt::format("dnsctl {}: {}\n", command, key.error().message);
        return false;
    }
    auto desired = derive_estate_vms(session.inventory(), *key);
    if (!desired) {
        context.err << fmt::format("dnsctl {}: {}\n", command, desired.error().message);
        return false;
    }
    session.desired = std::move(*desired);
    ConnectOptions options;
    options.retry = world.retry;
    options.stop = world.stop.get_token();
    auto connections = world.connect(session.inventory(), options);
    if (!connections) {
        context.err << fmt::format("dnsctl {}: cannot set up the Proxmox API clients:\n{}\n", command,
                                   connections.error().message);
        return false;
    }
    session.connections = std::move(*connections);
    return true;
}

PlanOptions plan_options(const PlanFlags& flags, const Inventory& inventory) {
    PlanOptions options;
    options.allow_replace = flags.allow_replace;
    options.allow_destroy = flags.allow_destroy;
    options.replace.insert(flags.replace.begin(), flags.replace.end());
    options.nameserver_zones = nameserver_zones(inventory);
    return options;
}

ObservedState observe_estate(const Session& session, CommandContext& context, VmWorld& world) {
    const auto began = world.clock->now();
    auto observed = observe(session.inventory(), session.connections->apis(), *context.log);
    context.log->info("observed {} clusters in {:.2f}s", observed.clusters.size(),
                      seconds(world.clock->now() - began));
    return observed;
}

// Writes `text` to `path` through a temporary file and a rename, so a reader
// never sees half a plan.
Result<void> write_file_atomically(const std::filesystem::path& path, const std::string& text) {
    auto temporary = path;
    temporary += ".tmp";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) return fail(ErrorKind::invalid, fmt::format("cannot write {}", temporary.string()));
        out << text;
        out.flush();
        if (!out) return fail(ErrorKind::unavailable, fmt::format("cannot write {}", temporary.string()));
    }
    std::error_code ec;
    std::filesystem::rename(temporary, path, ec);
    if (ec) return fail(ErrorKind::unavailable, fmt::format("cannot rename {} to {}: {}", temporary.string(),
                                                            path.string(), ec.message()));
    return {};
}

Result<std::string> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(ErrorKind::not_found, fmt::format("cannot read {}", path.string()));
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
}

// Why a plan cannot be applied, or nothing.
std::optional<std::string> not_applicable(const Plan& plan) {
    if (!plan.errors.empty()) return std::string("the plan has errors (listed above)");
    if (!plan.complete()) {
        return std::string("not every cluster could be observed (listed above); nothing is applied while part of "
                           "the estate is out of sight, since that part may already have a nameserver out of "
                           "service");
    }
    return std::nullopt;
}

bool confirmed(CommandContext& context, VmWorld& world, std::string_view question) {
    if (!world.interactive || world.in == nullptr) {
        context.err << "dnsctl apply: refusing to apply without confirmation: standard input is not a terminal. "
                       "Review the plan and run apply with --yes (or apply a saved plan with --plan).\n";
        return false;
    }
    context.out << fmt::format("\n{}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", question);
    context.out.flush();
    std::string answer;
    if (!std::getline(*world.in, answer) || answer != "yes") {
        context.out << "\nApply cancelled.\n";
        return false;
    }
    context.out << "\n";
    return true;
}

ProgressSink progress_printer(CommandContext& context) {
    return [&context](const ProgressEvent& event) {
        if (event.phase == StepPhase::started) return;
        context.out << format_progress(event) << '\n';
        context.out.flush();
    };
}

// While alive (from the moment apply may change something), SIGINT and
// SIGTERM request world.stop instead of killing the process.
class SignalScope {
public:
    SignalScope(CommandContext& context, VmWorld& world) : context_(context), world_(world) {}

    void install() {
        if (!world_.handle_signals || handler_) return;
        auto handler = StopOnSignals::install(world_.stop, [this](int signal) {
            signal_ = signal;
            context_.err << fmt::format(
                "\ndnsctl apply: {0} received: stopping. No new step starts; requests in flight get their answer; "
                "tasks already started are not waited for. What was done and what was not follows. Another {0} "
                "exits at once.\n",
                signal_name(signal));
            context_.err.flush();
        });
        if (!handler) {
            context_.log->warn("SIGINT/SIGTERM will end the process at once: {}", handler.error().message);
            return;
        }
        handler_ = std::move(*handler);
    }
    [[nodiscard]] bool stopped() const { return world_.stop.stop_requested(); }
    // "SIGINT", or "a stop request" when no signal was the cause.
    [[nodiscard]] std::string cause() const {
        int signal = signal_.load();
        return signal != 0 ? std::string(signal_name(signal)) : std::string("a stop request");
    }

private:
    CommandContext& context_;
    VmWorld& world_;
    std::atomic<int> signal_{0};
    std::unique_ptr<StopOnSignals> handler_;
};

}  // namespace

VmWorld system_world(std::shared_ptr<spdlog::logger> logger) {
    VmWorld world;
    world.clock = std::make_shared<SystemClock>();
    world.in = &std::cin;
    world.interactive = ::isatty(0) == 1;
    world.connect = [clock = world.clock, logger](const Inventory& inventory, const ConnectOptions& options) {
        std::random_device seed;
        return connect_clusters(inventory, *clock, (std::uint64_t{seed()} << 32) | seed(), options, logger);
    };
    world.handle_signals = true;
    return world;
}

int run_plan(const PlanRequest& request, CommandContext& context, VmWorld& world) {
    auto validated = validated_inventory(request.inventory, "plan", context);
    if (!validated) return kExitError;
    Session session{std::move(*validated), {}, nullptr};
    if (!prepare(session, "plan", context, world)) return kExitError;

    auto observed = observe_estate(session, context, world);
    auto plan = make_plan(session.desired, observed, plan_options(request.flags, session.inventory()));

    if (request.out) {
        if (auto written = write_file_atomically(*request.out, render_json(plan)); !written) {
            context.err << fmt::format("dnsctl plan: {}\n", written.error().message);
            return kExitError;
        }
    }
    if (request.json) {
        context.out << render_json(plan);
    } else {
        context.out << render_text(plan);
        context.out << "\n" << validation_summary(session.validated.result) << "\n";
        if (request.out) {
            context.out << fmt::format("Saved the plan to {}: apply exactly it with `dnsctl apply {} --plan {}`.\n",
                                       request.out->string(), request.inventory.string(), request.out->string());
        }
    }
    if (!plan.errors.empty() || !plan.complete()) return kExitError;
    if (request.detailed_exitcode) return plan.has_changes() ? kExitChangesPending : kExitOk;
    return kExitOk;
}

int run_apply(const ApplyRequest& request, CommandContext& context, VmWorld& world) {
    if (request.dry_run) {
        if (request.plan_file) {
            context.err << "dnsctl apply: --dry-run and --plan do not go together (plan shows what a saved plan "
                           "would do)\n";
            return kExitError;
        }
        PlanRequest plan;
        plan.inventory = request.inventory;
        plan.flags = request.flags;
        return run_plan(plan, context, world);
    }

    std::optional<SavedPlan> saved;
    if (request.plan_file) {
        if (request.flags.any()) {
            context.err << "dnsctl apply: --replace, --allow-replace and --allow-destroy come from the saved plan; "
                           "do not give them with --plan\n";
            return kExitError;
        }
        auto text = read_file(*request.plan_file);
        if (!text) {
            context.err << fmt::format("dnsctl apply: {}\n", text.error().message);
            return kExitError;
        }
        auto parsed = parse_saved_plan(*text);
        if (!parsed) {
            context.err << fmt::format("dnsctl apply: {}: {}\n", request.plan_file->string(), parsed.error().message);
            return kExitError;
        }
        saved = std::move(*parsed);
    }

    auto validated = validated_inventory(request.inventory, "apply", context);
    if (!validated) return kExitError;
    Session session{std::move(*validated), {}, nullptr};

    FlockRunLock run_lock(session.inventory().state_dir);
    auto held = run_lock.acquire("apply");
    if (!held) {
        context.err << fmt::format("dnsctl apply: {}\n", held.error().message);
        return kExitError;
    }
    // Declared after the lock: on return the handlers go first, then the lock.
    SignalScope signals(context, world);
    if (saved || request.yes) signals.install();  // no confirmation to ask for: a signal stops from here on
    if (!prepare(session, "apply", context, world)) return kExitError;

    const auto nameservers = nameserver_zones(session.inventory());
    PlanOptions options = saved ? saved->options(nameservers) : plan_options(request.flags, session.inventory());

    auto observed = observe_estate(session, context, world);
    auto plan = make_plan(session.desired, observed, options);
    if (saved) {
        auto check = check_saved_plan(*saved, observed, plan);
        if (check.stale()) {
            context.err << fmt::format("dnsctl apply: {}: {}\n", request.plan_file->string(), check.message());
            return kExitError;
        }
    }
    auto stopped_before_applying = [&] {
        context.err << fmt::format("dnsctl apply: stopped by {} before anything was applied\n", signals.cause());
        return kExitError;
    };
    if (signals.stopped()) return stopped_before_applying();
    context.out << render_text(plan);
    if (auto why = not_applicable(plan)) {
        context.err << fmt::format("dnsctl apply: nothing applied: {}\n", *why);
        return kExitError;
    }
    if (!plan.has_changes()) return kExitOk;
    if (!saved && !request.yes &&
        !confirmed(context, world, "Do you want to perform these actions?\n  dnsctl will perform the actions "
                                   "described above.")) {
        return kExitError;
    }
    signals.install();
    if (signals.stopped()) return stopped_before_applying();

    ExecuteOptions execute_options = world.execute;
    execute_options.failure_budget = world.retry.max_elapsed;
    execute_options.stop = world.stop.get_token();
    auto progress = progress_printer(context);
    for (int round = 1;; ++round) {
        context.out << "\n";
        auto report =
            execute(plan, session.connections->apis(), *world.clock, *context.log, execute_options, progress);
        context.out << "\n" << render_apply_report(report);
        if (report.stopped && !report.all_done()) {
            context.err << fmt::format(
                "dnsctl apply: stopped by {}: part of the plan was not applied (see the summary above). Running "
                "apply again observes afresh and finishes what is left, waiting for tasks still running\n",
                signals.cause());
            return kExitError;
        }
        if (report.count(ChangeOutcome::failed) > 0 || report.count(ChangeOutcome::skipped) > 0) {
            context.out << "\nStopped part-way. Nothing is left half-owned: run apply again to observe afresh and "
                           "finish what is left.\n";
            return kExitError;
        }
        if (!report.replan_needed()) break;

        // Work of an earlier run was waited for: what is left needs a new plan.
        observed = observe_estate(session, context, world);
        if (signals.stopped()) {
            context.err << fmt::format("dnsctl apply: stopped by {} before planning what is left: run apply again\n",
                                       signals.cause());
            return kExitError;
        }
        plan = make_plan(session.desired, observed, options);
        context.out << "\nWork in flight has ended; planning again:\n\n" << render_text(plan);
        if (auto why = not_applicable(plan)) {
            context.err << fmt::format("dnsctl apply: stopped: {}\n", *why);
            return kExitError;
        }
        if (!plan.has_changes()) break;
        if (saved) {
            context.err << "dnsctl apply: the saved plan waited for work in flight and more is left to do: run plan "
                           "again to review it\n";
            return kExitError;
        }
        if (round >= world.max_rounds) {
            context.err << "dnsctl apply: stopped after waiting for work in flight several times: run apply again\n";
            return kExitError;
        }
        if (!request.yes && !confirmed(context, world, "Do you want to perform these actions too?")) {
            return kExitError;
        }
    }

    // Verify: observe and plan again (a requested replacement is done once,
    // not again), expecting nothing.
    PlanOptions verify_options = options;
    verify_options.replace.clear();
    verify_options.allow_replace = false;
    auto verify = make_plan(session.desired, observe_estate(session, context, world), verify_options);
    if (signals.stopped()) {
        context.err << fmt::format("dnsctl apply: every step was applied, but {} stopped the verification: run plan "
                                   "to check\n",
                                   signals.cause());
        return kExitError;
    }
    if (verify.complete() && verify.errors.empty() && !verify.has_changes()) {
        context.out << "\nVerified: observed again, the VMs match the inventory.\n";
        return kExitOk;
    }
    context.out << "\nVerification failed: every step was applied, but observing again still shows this:\n\n"
                << render_text(verify);
    return kExitUnverified;
}

}  // namespace dnsctl
