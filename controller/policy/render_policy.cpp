#include "core/text.hpp"
#include "policy/render_policy.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace dnsctl {

namespace {

std::vector<std::string> names(const std::vector<DnsName>& list) {
    std::vector<std::string> out;
    for (const auto& name : list) out.push_back(name.str());
    return out;
}

// The first label: enough to tell the nameservers of one estate apart in a table.
std::string short_name(const DnsName& name) {
    auto labels = name.labels();
    return labels.empty() ? name.str() : std::string(labels.front());
}

std::string values_cell(const PolicyRow& row) {
    std::vector<std::string> values;
    for (const auto& value : row.values) values.push_back(value.value);
    std::string out = values.empty() ? "-" : join(values, ", ");
    if (!row.unknown.empty()) {
        std::vector<std::string> without;
        for (const auto& name : row.unknown) without.push_back(short_name(name));
        out += fmt::format(" (none: {})", join(without, ", "));
    }
    return out;
}

std::string verdict_cell(const PolicyRow& row) {
    if (row.verdict == Verdict::pass) return "pass";
    std::vector<std::string> why;
    if (row.distinct_required && !row.distinct_ok) why.push_back("shared");
    if (!row.enough_values) why.push_back("too few");
    if (!row.survives_loss) why.push_back("N-1");
    return fmt::format("FAIL ({})", join(why, ", "));
}

nlohmann::ordered_json survivors_to_json(const Survivors& s) { return {{"ipv4", s.ipv4}, {"ipv6", s.ipv6}}; }

nlohmann::ordered_json value_to_json(const DimensionValue& value) {
    return {{"value", value.value}, {"nameservers", names(value.nameservers)},
            {"surviving", survivors_to_json(value.survivors)}};
}

}  // namespace

std::string render_policy_table(const PolicyReport& report) {
    struct Line {
        std::string dimension, distinct, values, worst, ipv4, ipv6, verdict;
    };
    std::vector<Line> lines;
    lines.push_back({"DIMENSION", "DISTINCT", "VALUES", "WORST SINGLE LOSS", "IPv4", "IPv6", "VERDICT"});
    for (const auto& row : report.rows) {
        Line line;
        line.dimension = row.title;
        line.distinct = fmt::format("{}{}", row.values.size(), row.distinct_required ? " (required)" : "");
        line.values = values_cell(row);
        if (row.worst_loss) {
            line.worst = row.worst_loss->value;
            line.ipv4 = std::to_string(row.worst_loss->survivors.ipv4);
            line.ipv6 = std::to_string(row.worst_loss->survivors.ipv6);
        } else {
            line.worst = "-";
            line.ipv4 = std::to_string(report.reachable.ipv4);
            line.ipv6 = std::to_string(report.reachable.ipv6);
        }
        line.verdict = verdict_cell(row);
        lines.push_back(std::move(line));
    }
    // Values come from the inventory: no control character reaches the terminal.
    for (auto& l : lines) {
        for (auto* cell : {&l.dimension, &l.distinct, &l.values, &l.worst, &l.ipv4, &l.ipv6, &l.verdict}) {
            *cell = escape_control(*cell);
        }
    }
    std::size_t w[6] = {};
    for (const auto& l : lines) {
        w[0] = std::max(w[0], l.dimension.size());
        w[1] = std::max(w[1], l.distinct.size());
        w[2] = std::max(w[2], l.values.size());
        w[3] = std::max(w[3], l.worst.size());
        w[4] = std::max(w[4], l.ipv4.size());
        w[5] = std::max(w[5], l.ipv6.size());
    }
    std::string out = fmt::format(
        "Diversity policy: {} public nameservers ({} with IPv4, {} with IPv6); losing any one value must leave "
        "at least {} per address family\n",
        report.nameserver_count, report.reachable.ipv4, report.reachable.ipv6, report.min_surviving);
    for (const auto& l : lines) {
        out += fmt::format("  {:<{}}  {:<{}}  {:<{}}  {:<{}}  {:>{}}  {:>{}}  {}\n", l.dimension, w[0], l.distinct,
                           w[1], l.values, w[2], l.worst, w[3], l.ipv4, w[4], l.ipv6, w[5], l.verdict);
    }
    out += "  (IPv4, IPv6: nameservers still answering after the worst single loss)\n";
    return out;
}

std::string format_finding(const PolicyFinding& finding) {
    std::string basis = finding.basis.empty() ? "" : "; " + join(finding.basis, ", ");
    return fmt::format("{}: {}: {} [{}{}]", finding.where.format(),
                       finding.severity == Severity::error ? "error" : "warning", finding.message, finding.id(),
                       basis);
}

nlohmann::ordered_json location_to_json(const SourceLocation& where) {
    nlohmann::ordered_json out = {{"file", where.file}};
    out["line"] = where.line > 0 ? nlohmann::ordered_json(where.line) : nlohmann::ordered_json(nullptr);
    out["column"] = where.column > 0 ? nlohmann::ordered_json(where.column) : nlohmann::ordered_json(nullptr);
    return out;
}

nlohmann::ordered_json policy_to_json(const PolicyReport& report) {
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (const auto& row : report.rows) {
        nlohmann::ordered_json values = nlohmann::ordered_json::array();
        for (const auto& value : row.values) values.push_back(value_to_json(value));
        rows.push_back({
            {"dimension", std::string(to_string(row.dimension))},
            {"title", row.title},
            {"distinct_required", row.distinct_required},
            {"distinct_count", row.values.size()},
            {"values", std::move(values)},
            {"without_value", names(row.unknown)},
            {"worst_loss", row.worst_loss ? value_to_json(*row.worst_loss) : nlohmann::ordered_json(nullptr)},
            {"distinct_ok", row.distinct_ok},
            {"enough_values", row.enough_values},
            {"survives_loss", row.survives_loss},
            {"verdict", std::string(to_string(row.verdict))},
        });
    }
    nlohmann::ordered_json findings = nlohmann::ordered_json::array();
    for (const auto& f : report.findings) {
        findings.push_back({
            {"id", f.id()},
            {"rule", std::string(to_string(f.rule))},
            {"severity", f.severity == Severity::error ? "error" : "warning"},
            {"dimension", f.dimension ? nlohmann::ordered_json(std::string(to_string(*f.dimension))) : nlohmann::ordered_json(nullptr)},
            {"family", f.family ? nlohmann::ordered_json(f.family == AddressFamily::ipv4 ? "ipv4" : "ipv6")
                                : nlohmann::ordered_json(nullptr)},
            {"nameservers", names(f.nameservers)},
            {"zones", names(f.zones)},
            {"basis", f.basis},
            {"message", f.message},
            {"location", location_to_json(f.where)},
        });
    }
    return {
        {"passed", report.passed()},
        {"nameservers", report.nameserver_count},
        {"reachable", survivors_to_json(report.reachable)},
        {"min_surviving", report.min_surviving},
        {"rows", std::move(rows)},
        {"findings", std::move(findings)},
    };
}

}  // namespace dnsctl
