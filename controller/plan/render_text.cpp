// The human view of a Plan, shaped like Terraform's: a legend of the symbols
// used, one block per change with a "# why" line and attribute diffs, the
// "Plan: …" line, then warnings, incomplete clusters and errors.
//
// Names, messages and values come from the clusters (VM and node names,
// configs, API errors): every such string passes through escape_control
// (core/text.hpp) here, so nothing from outside can drive the terminal or
// start a line of its own.
#include <fmt/format.h>

#include <algorithm>

#include "core/text.hpp"
#include "plan/render.hpp"

namespace dnsctl {

namespace {

std::vector<std::string> split_lines(const std::string& value) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < value.size()) {
        auto end = value.find('\n', start);
        if (end == std::string::npos) end = value.size();
        out.push_back(value.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

// Inside quotes a backslash is doubled first, so an escape (\x1b) never
// looks like the same text in the value (\\x1b).
std::string quoted(const std::string& value) {
    std::string out = "\"";
    for (char c : value) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    return escape_control(out + "\"");
}

AttributeKind kind_of(std::string_view name) {
    const auto* spec = find_attribute_spec(name);
    return spec == nullptr ? AttributeKind::text : spec->kind;
}

// One value on one line (lines-kind values are handled by the caller).
std::string show(std::string_view name, const std::string& value, bool sensitive) {
    if (sensitive) return "(sensitive value)";
    switch (kind_of(name)) {
    case AttributeKind::number: return value.empty() ? "null" : escape_control(value);
    case AttributeKind::flag: return value == "1" ? "true" : "false";
    case AttributeKind::lines:
    case AttributeKind::text: break;
    }
    return value.empty() ? "null" : quoted(value);
}

struct Line {
    std::string symbol;  // "+", "-", "~" or " "
    std::string name;
    std::string text;    // after "= "; may span lines (heredoc)
};

std::string heredoc(const std::vector<std::pair<std::string, std::string>>& lines) {
    // Body lines carry a two-character marker: "+ ", "- " or "  ".
    std::string out = "<<-EOT\n";
    for (const auto& [marker, line] : lines) out += fmt::format("          {}{}\n", marker, escape_control(line));
    return out + "        EOT";
}

std::string lines_value(const std::string& before, const std::string& after, bool has_before, bool has_after) {
    auto old_lines = split_lines(before);
    auto new_lines = split_lines(after);
    std::vector<std::pair<std::string, std::string>> body;
    if (has_before && has_after) {
        for (const auto& line : old_lines) {
            if (std::find(new_lines.begin(), new_lines.end(), line) == new_lines.end()) body.emplace_back("- ", line);
        }
        for (const auto& line : new_lines) {
            bool kept = std::find(old_lines.begin(), old_lines.end(), line) != old_lines.end();
            body.emplace_back(kept ? "  " : "+ ", line);
        }
    } else {
        for (const auto& line : has_after ? new_lines : old_lines) body.emplace_back("  ", line);
    }
    if (body.empty()) return "null";
    return heredoc(body);
}

std::vector<Line> attribute_lines(const ResourceChange& change, std::size_t& hidden) {
    std::vector<Line> out;
    hidden = 0;
    const bool create = !change.before && change.after;
    const bool destroy = change.before && !change.after;
    const auto& shown = change.after ? *change.after : *change.before;
    for (const auto& [name, value] : shown) {
        bool sensitive = change.sensitive.contains(name);
        bool is_lines = kind_of(name) == AttributeKind::lines && !sensitive;
        if (create) {
            out.push_back({"+", name, is_lines ? lines_value("", value, false, true) : show(name, value, sensitive)});
        } else if (destroy) {
            out.push_back({"-", name,
                           (is_lines ? lines_value(value, "", true, false) : show(name, value, sensitive)) + " -> null"});
        } else {
            auto it = change.before->find(name);
            std::string before = it == change.before->end() ? std::string() : it->second;
            if (before == value) {
                ++hidden;
                continue;
            }
            if (is_lines) {
                out.push_back({"~", name, lines_value(before, value, true, true)});
            } else {
                out.push_back({"~", name, fmt::format("{} -> {}", show(name, before, sensitive),
                                                      show(name, value, sensitive))});
            }
        }
    }
    return out;
}

std::string symbol_of(const ResourceChange& change) {
    if (change.has(Action::destroy) && change.has(Action::create)) return "-/+";
    if (change.has(Action::create)) return "+";
    if (change.has(Action::destroy)) return "-";
    return "~";
}

std::string headline(const ResourceChange& change) {
    if (change.has(Action::wait)) return fmt::format("{} has work in flight: apply waits for it, then plans again",
                                                     change.address);
    if (change.has(Action::destroy) && change.has(Action::create)) return fmt::format("{} must be replaced", change.address);
    if (change.has(Action::create)) return fmt::format("{} will be created", change.address);
    if (change.has(Action::destroy)) return fmt::format("{} will be destroyed", change.address);
    if (change.has(Action::update) && change.has(Action::start)) {
        return fmt::format("{} will be updated in-place and started", change.address);
    }
    if (change.has(Action::update)) return fmt::format("{} will be updated in-place", change.address);
    return fmt::format("{} will be started", change.address);
}

void render_change(std::string& out, const ResourceChange& change) {
    out += fmt::format("  # {}\n", escape_control(headline(change)));
    if (!change.name.empty()) out += fmt::format("  # name: {}\n", escape_control(change.name));
    out += fmt::format("  # why: {}\n", escape_control(change.reason));
    for (const auto& step : change.steps) {
        if (const auto* clone = std::get_if<CloneStep>(&step)) {
            out += fmt::format("  # full clone of template {} on node {}{}\n", clone->source.value,
                               escape_control(clone->node),
                               clone->request.storage
                                   ? fmt::format(", storage {}", escape_control(*clone->request.storage))
                                   : "");
        }
    }
    if (change.restart_needed) out += "  # restart: the VM is shut down, reconfigured and started again\n";
    if (change.touches_in_service_nameserver) {
        out += "  # in-service nameserver: taken out of service, one nameserver at a time\n";
    }
    if (change.has(Action::wait)) {
        out += "\n";
        return;
    }
    std::size_t hidden = 0;
    auto lines = attribute_lines(change, hidden);
    std::size_t width = 0;
    for (const auto& line : lines) width = std::max(width, line.name.size());
    auto symbol = symbol_of(change);
    out += fmt::format("{:>3} vm \"{}\" {{\n", symbol, escape_control(change.address));
    for (const auto& line : lines) {
        out += fmt::format("      {} {:<{}} = {}\n", line.symbol, line.name, width, line.text);
    }
    if (hidden > 0) {
        out += fmt::format("        # ({} unchanged attribute{} hidden)\n", hidden, hidden == 1 ? "" : "s");
    }
    out += "    }\n\n";
}

}  // namespace

std::string render_text(const Plan& plan) {
    std::string out;
    std::vector<const ResourceChange*> shown;
    for (const auto& change : plan.changes) {
        if (!change.is_no_op()) shown.push_back(&change);
    }
    if (!shown.empty()) {
        bool any_create = false, any_update = false, any_destroy = false, any_replace = false;
        for (const auto* change : shown) {
            auto symbol = symbol_of(*change);
            if (change->has(Action::wait)) continue;
            any_replace |= symbol == "-/+";
            any_create |= symbol == "+";
            any_destroy |= symbol == "-";
            any_update |= symbol == "~";
        }
        if (any_create || any_update || any_destroy || any_replace) {
            out += "Resource actions are indicated with the following symbols:\n";
            if (any_create) out += "  + create\n";
            if (any_update) out += "  ~ update in-place\n";
            if (any_destroy) out += "  - destroy\n";
            if (any_replace) out += "-/+ destroy and then create replacement\n";
            out += "\n";
        }
        out += "dnsctl will perform the following actions:\n\n";
        for (const auto* change : shown) render_change(out, *change);
        auto summary = plan.summary();
        out += fmt::format("Plan: {} to add, {} to change, {} to destroy.\n", summary.add, summary.change,
                           summary.destroy);
        if (summary.wait > 0) {
            out += fmt::format("{} VM{} with work in flight: apply waits for it, then plans again.\n", summary.wait,
                               summary.wait == 1 ? "" : "s");
        }
    } else if (plan.complete() && plan.errors.empty()) {
        out += "No changes. Your estate matches the inventory.\n";
    } else {
        out += "No changes planned for what could be observed.\n";
    }

    for (const auto& warning : plan.warnings) {
        out += fmt::format("\nWarning: {}{}\n", warning.address.empty() ? "" : escape_control(warning.address) + ": ",
                           escape_control(warning.message));
    }
    if (!plan.incomplete.empty()) {
        out += "\nObservation incomplete: nothing is created or destroyed on these clusters, and this plan cannot be "
               "applied.\n";
        for (const auto& cluster : plan.incomplete) {
            out += fmt::format("  cluster {}:\n", escape_control(cluster.cluster));
            for (const auto& reason : cluster.reasons) out += fmt::format("    - {}\n", escape_control(reason));
            for (const auto& address : cluster.unplanned) {
                out += fmt::format("    not planned: {}\n", escape_control(address));
            }
        }
    }
    for (const auto& error : plan.errors) {
        out += fmt::format("\nError: {}{}\n", error.address.empty() ? "" : escape_control(error.address) + ": ",
                           escape_control(error.message));
    }
    if (!plan.errors.empty()) out += "\nThis plan has errors and cannot be applied.\n";
    return out;
}

}  // namespace dnsctl
