// Validation collects every problem it finds (file:line:col: message) instead
// of stopping at the first one.
#pragma once

#include <string>
#include <vector>

namespace dnsctl {

struct SourceLocation {
    std::string file;
    int line = 0;    // 1-based; 0 = unknown
    int column = 0;  // 1-based; 0 = unknown

    [[nodiscard]] std::string format() const;  // "file:line:col" (parts that are known)
};

enum class Severity { error, warning };

struct Diagnostic {
    Severity severity = Severity::error;
    SourceLocation where;
    std::string message;

    [[nodiscard]] std::string format() const;  // "file:line:col: error: message"
};

class Diagnostics {
public:
    void error(SourceLocation where, std::string message);
    void warning(SourceLocation where, std::string message);
    void append(const Diagnostics& other);

    [[nodiscard]] bool has_errors() const;
    [[nodiscard]] std::size_t error_count() const;
    [[nodiscard]] const std::vector<Diagnostic>& items() const { return items_; }
    [[nodiscard]] bool empty() const { return items_.empty(); }

    // Stable order for output: by file, line, column, then insertion.
    void sort();

private:
    std::vector<Diagnostic> items_;
};

}  // namespace dnsctl
