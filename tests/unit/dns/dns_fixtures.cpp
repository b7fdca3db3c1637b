#include "dns_fixtures.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/text.hpp"

namespace dnsctl::test {

namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

std::string data_path(std::string_view file) { return std::string(DNSCTL_TEST_DATA) + "/dns/" + std::string(file); }

}  // namespace

std::vector<std::uint8_t> parse_hex(std::string_view text) {
    std::vector<std::uint8_t> out;
    int high = -1;
    bool comment = false;
    for (char c : text) {
        if (c == '\n') comment = false;
        if (c == ';') comment = true;
        if (comment) continue;
        int value = hex_digit_value(c);
        if (value < 0) continue;
        if (high < 0) {
            high = value;
        } else {
            out.push_back(static_cast<std::uint8_t>(high << 4 | value));
            high = -1;
        }
    }
    if (high >= 0) throw std::runtime_error("odd number of hex digits");
    return out;
}

std::vector<std::uint8_t> answer_wire(std::string_view name) {
    return parse_hex(read_text(data_path("answers/" + std::string(name) + ".hex")));
}

DnsMessage answer(std::string_view name) {
    auto message = parse_message(answer_wire(name));
    if (!message) throw std::runtime_error(std::string(name) + ": " + message.error().message);
    return *message;
}

std::int64_t recorded_at() { return std::stoll(read_text(data_path("answers/recorded-at"))); }

std::vector<DnsRecord> records_in(std::string_view file) {
    std::vector<DnsRecord> out;
    const std::string text = read_text(data_path(file));
    for (auto line : split_lines(text)) {
        line = trim(line);
        if (line.empty() || line.front() == ';') continue;
        auto record = parse_record(line);
        if (!record) throw std::runtime_error(std::string(file) + ": " + record.error().message);
        out.push_back(std::move(*record));
    }
    return out;
}

std::vector<DnsRecord> only(const std::vector<DnsRecord>& records, std::uint16_t type, std::string_view owner) {
    std::vector<DnsRecord> out;
    for (const auto& record : records) {
        if (record.type == type && (owner.empty() || record.owner.text == owner)) out.push_back(record);
    }
    return out;
}

}  // namespace dnsctl::test
