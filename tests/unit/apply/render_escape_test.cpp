// Output safety of the apply views: what the clusters say (node names, task
// logs, API messages) reaches the terminal escaped.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "apply/execute.hpp"

using namespace dnsctl;

namespace {

bool terminal_safe(const std::string& text) {
    return std::none_of(text.begin(), text.end(), [](char c) {
        auto byte = static_cast<unsigned char>(c);
        return (byte < 0x20 && byte != '\n') || byte >= 0x7F;
    });
}

}  // namespace

TEST_CASE("format_progress: node names and error messages are escaped", "[apply][render]") {
    ProgressEvent event;
    event.address = "vm[th2/101]";
    event.step = 0;
    event.steps = 9;
    event.kind = "clone";
    event.what = "clone template 9000 on pve\x1b[31m as VM 101";
    event.phase = StepPhase::failed;
    event.detail = "500 \x1b]0;pwned\x07 \xC2\x9B" "2J \xFF";
    auto line = format_progress(event);
    CHECK(terminal_safe(line));
    CHECK(line.find("on pve\\x1b[31m as VM 101: FAILED") != std::string::npos);
    CHECK(line.find("500 \\x1b]0;pwned\\x07 \\u009b2J \\xff") != std::string::npos);

    event.phase = StepPhase::done;
    event.detail = "WARNINGS: 1\nforged line";
    CHECK(format_progress(event).find("(WARNINGS: 1\\nforged line)") != std::string::npos);
}

TEST_CASE("render_apply_report: names, errors and task logs are escaped, a log line at a time", "[apply][render]") {
    ApplyReport report;
    ChangeReport change;
    change.address = "vm[th2/101]";
    change.name = "ns\x1b[2J.example";
    change.actions = {Action::create};
    change.outcome = ChangeOutcome::failed;
    change.error = Error{ErrorKind::internal, "step 1/9 (clone): \x07\xC2\x85\xED\xA0\x80", false};
    change.warnings = {"task UPID:x ended with WARNINGS: 1\nwarning: \x1b[31mdisk\x1b[0m slow"};
    report.changes.push_back(change);
    auto text = render_apply_report(report);
    CHECK(terminal_safe(text));
    CHECK(text.find("ns\\x1b[2J.example") != std::string::npos);
    CHECK(text.find("error: step 1/9 (clone): \\x07\\u0085\\xed\\xa0\\x80") != std::string::npos);
    CHECK(text.find("             warning: \\x1b[31mdisk\\x1b[0m slow\n") != std::string::npos);
}
