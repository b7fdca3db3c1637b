// Loggers are made here and passed explicitly; library code never uses a
// global default logger.
#pragma once

#include <spdlog/logger.h>

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

}  // namespace dnsctl
