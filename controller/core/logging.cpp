#include "core/logging.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <chrono>

#include "core/text.hpp"

namespace dnsctl {

namespace {

// Formats each record as one JSON object; nlohmann does the escaping.
class JsonLineFormatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        auto seconds = std::chrono::time_point_cast<std::chrono::milliseconds>(msg.time);
        nlohmann::json line = {
            {"time_ms", seconds.time_since_epoch().count()},
            {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                                  spdlog::level::to_string_view(msg.level).size())},
            {"logger", std::string(msg.logger_name.data(), msg.logger_name.size())},
            {"msg", std::string(msg.payload.data(), msg.payload.size())},
        };
        auto text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        dest.append(text.data(), text.data() + text.size());
        dest.push_back('\n');
    }
    std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLineFormatter>(); }
};

// Escapes the message, then hands it to the wrapped sink. The logger name
// comes from the code, never from outside, and is left alone.
class EscapingSink final : public spdlog::sinks::sink {
public:
    explicit EscapingSink(std::shared_ptr<spdlog::sinks::sink> inner) : inner_(std::move(inner)) {}
    void log(const spdlog::details::log_msg& msg) override {
        std::string escaped = escape_control(std::string_view(msg.payload.data(), msg.payload.size()));
        spdlog::details::log_msg copy = msg;
        copy.payload = spdlog::string_view_t(escaped.data(), escaped.size());
        inner_->log(copy);
    }
    void flush() override { inner_->flush(); }
    void set_pattern(const std::string& pattern) override { inner_->set_pattern(pattern); }
    void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
        inner_->set_formatter(std::move(formatter));
    }

private:
    std::shared_ptr<spdlog::sinks::sink> inner_;
};

}  // namespace

std::shared_ptr<spdlog::sinks::sink> make_escaping_sink(std::shared_ptr<spdlog::sinks::sink> inner) {
    return std::make_shared<EscapingSink>(std::move(inner));
}

Result<LogFormat> parse_log_format(std::string_view text) {
    if (text == "text") return LogFormat::text;
    if (text == "json") return LogFormat::json;
    return fail(ErrorKind::invalid, "log format must be text or json");
}

std::shared_ptr<spdlog::logger> make_stderr_logger(std::string name, LogFormat format,
                                                   spdlog::level::level_enum level) {
    return make_logger(std::move(name), std::make_shared<spdlog::sinks::stderr_sink_mt>(), format, level);
}

std::shared_ptr<spdlog::logger> make_logger(std::string name, std::shared_ptr<spdlog::sinks::sink> sink,
                                            LogFormat format, spdlog::level::level_enum level) {
    auto logger = std::make_shared<spdlog::logger>(std::move(name), make_escaping_sink(std::move(sink)));
    if (format == LogFormat::json) {
        logger->set_formatter(std::make_unique<JsonLineFormatter>());
    } else {
        logger->set_pattern("%^%l%$: %v");
    }
    logger->set_level(level);
    return logger;
}

}  // namespace dnsctl
