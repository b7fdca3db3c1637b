// Loggers are made here and passed explicitly; library code never uses a
// global default logger.
#pragma once

#include <spdlog/logger.h>
#include <spdlog/sinks/sink.h>

#include <memory>
#include <string_view>

#include "core/error.hpp"

namespace dnsctl {

enum class LogFormat { text, json };

Result<LogFormat> parse_log_format(std::string_view text);

// A logger writing to standard error, one line per event. JSON lines carry
// time, level, logger and message, escaped.
std::shared_ptr<spdlog::logger> make_stderr_logger(std::string name, LogFormat format,
                                                   spdlog::level::level_enum level);

// The same on any sink (tests write to a string). Every message passes
// through escape_control (core/text.hpp) before it is formatted: a VM name or
// an API message holding ESC, BEL, a C1 control, a newline or invalid UTF-8
// cannot drive the terminal or forge a log line.
std::shared_ptr<spdlog::logger> make_logger(std::string name, std::shared_ptr<spdlog::sinks::sink> sink,
                                            LogFormat format, spdlog::level::level_enum level);

// Wraps a sink so that every message it receives is escaped first; patterns
// and formatters set on the wrapper reach the wrapped sink.
std::shared_ptr<spdlog::sinks::sink> make_escaping_sink(std::shared_ptr<spdlog::sinks::sink> inner);

}  // namespace dnsctl
