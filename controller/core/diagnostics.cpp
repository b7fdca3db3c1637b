#include "core/diagnostics.hpp"

#include <algorithm>
#include <fmt/format.h>

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

void Diagnostics::error(SourceLocation where, std::string message) {
    items_.push_back({Severity::error, std::move(where), std::move(message)});
}

void Diagnostics::warning(SourceLocation where, std::string message) {
    items_.push_back({Severity::warning, std::move(where), std::move(message)});
}

void Diagnostics::append(const Diagnostics& other) {
    items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

bool Diagnostics::has_errors() const { return error_count() > 0; }

std::size_t Diagnostics::error_count() const {
    return static_cast<std::size_t>(std::count_if(items_.begin(), items_.end(), [](const Diagnostic& d) {
        return d.severity == Severity::error;
    }));
}

void Diagnostics::sort() {
    std::stable_sort(items_.begin(), items_.end(), [](const Diagnostic& a, const Diagnostic& b) {
        return std::tie(a.where.file, a.where.line, a.where.column) <
               std::tie(b.where.file, b.where.line, b.where.column);
    });
}

}  // namespace dnsctl
