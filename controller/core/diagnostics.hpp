// Validation collects every problem it finds (file:line:col: message) instead
// of stopping at the first one.
#pragma once

#include <cstddef>
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

// Messages and file names are stored with their control characters escaped
// (escape_control): they quote files and answers from outside, and end up on
// a terminal. Only the first `limit` diagnostics are kept; the others are
// counted, so a hostile file with a million faults costs neither memory nor
// a screenful per fault, and the counts stay true.
class Diagnostics {
public:
    static constexpr std::size_t kDefaultLimit = 100;

    Diagnostics() = default;
    explicit Diagnostics(std::size_t limit) : limit_(limit) {}

    void error(SourceLocation where, std::string message);
    void warning(SourceLocation where, std::string message);
    void append(const Diagnostics& other);

    [[nodiscard]] bool has_errors() const { return errors_ > 0; }
    // Every error reported, kept or not.
    [[nodiscard]] std::size_t error_count() const { return errors_; }
    [[nodiscard]] std::size_t warning_count() const { return warnings_; }
    // The kept diagnostics (at most the limit).
    [[nodiscard]] const std::vector<Diagnostic>& items() const { return items_; }
    // How many were reported beyond the limit and not kept.
    [[nodiscard]] std::size_t omitted() const { return errors_ + warnings_ - items_.size(); }
    [[nodiscard]] bool empty() const { return errors_ == 0 && warnings_ == 0; }

    // Stable order for output: by file, line, column, then insertion.
    void sort();

    // One line per kept diagnostic, then "… and 9,812 more errors (only the
    // first 100 are shown)" when some were not kept.
    [[nodiscard]] std::string format() const;

private:
    void add(Severity severity, SourceLocation where, std::string message);

    std::size_t limit_ = kDefaultLimit;
    std::size_t errors_ = 0;
    std::size_t warnings_ = 0;
    std::vector<Diagnostic> items_;
};

// 9812 -> "9,812".
std::string group_thousands(std::size_t n);

}  // namespace dnsctl
