#include "core/diagnostics.hpp"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

#include "core/text.hpp"

namespace dnsctl {

std::string SourceLocation::format() const {
    if (line <= 0) return file;
    if (column <= 0) return fmt::format("{}:{}", file, line);
    return fmt::format("{}:{}:{}", file, line, column);
}

std::string Diagnostic::format() const {
    return fmt::format("{}: {}: {}", where.format(),
                       severity == Severity::error ? "error" : "warning", message);
}

void Diagnostics::add(Severity severity, SourceLocation where, std::string message) {
    (severity == Severity::error ? errors_ : warnings_) += 1;
    if (items_.size() >= limit_) return;
    where.file = escape_control(where.file);
    items_.push_back({severity, std::move(where), escape_control(message)});
}

void Diagnostics::error(SourceLocation where, std::string message) {
    add(Severity::error, std::move(where), std::move(message));
}

void Diagnostics::warning(SourceLocation where, std::string message) {
    add(Severity::warning, std::move(where), std::move(message));
}

void Diagnostics::append(const Diagnostics& other) {
    for (const auto& d : other.items_) {
        if (items_.size() < limit_) items_.push_back(d);
    }
    // What was not kept here or there is still counted.
    errors_ += other.errors_;
    warnings_ += other.warnings_;
}

void Diagnostics::sort() {
    std::stable_sort(items_.begin(), items_.end(), [](const Diagnostic& a, const Diagnostic& b) {
        return std::tie(a.where.file, a.where.line, a.where.column) <
               std::tie(b.where.file, b.where.line, b.where.column);
    });
}

std::string Diagnostics::format() const {
    std::string out;
    for (const auto& d : items_) out += d.format() + "\n";
    std::size_t hidden = omitted();
    if (hidden == 0) return out;
    std::size_t kept_errors = static_cast<std::size_t>(
        std::count_if(items_.begin(), items_.end(), [](const Diagnostic& d) { return d.severity == Severity::error; }));
    std::size_t hidden_errors = errors_ - kept_errors;
    std::size_t hidden_warnings = hidden - hidden_errors;
    std::string what;
    if (hidden_errors > 0) what = fmt::format("{} more error{}", group_thousands(hidden_errors), hidden_errors == 1 ? "" : "s");
    if (hidden_warnings > 0) {
        what += fmt::format("{}{} {}warning{}", what.empty() ? "" : " and ", group_thousands(hidden_warnings),
                            what.empty() ? "more " : "", hidden_warnings == 1 ? "" : "s");
    }
    out += fmt::format("… and {} (only the first {} are shown)\n", what, items_.size());
    return out;
}

std::string group_thousands(std::size_t n) {
    std::string digits = std::to_string(n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

}  // namespace dnsctl
