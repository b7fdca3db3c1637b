#include "core/text.hpp"
#include "proxmox/percent_encoding.hpp"

#include <fmt/format.h>

namespace dnsctl {

namespace {

bool is_unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '~';
}

bool is_segment_char(unsigned char c) {
    if (is_unreserved(c)) return true;
    switch (c) {
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*': case '+': case ',': case ';': case '=':
    case ':': case '@':
        return true;
    default:
        return false;
    }
}

void append_escape(std::string& out, unsigned char c) {
    constexpr char kHex[] = "0123456789ABCDEF";
    out.push_back('%');
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0x0F]);
}

}  // namespace

std::string percent_encode(std::string_view text) {
    std::string out;
    out.reserve(text.size() * 3);
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        if (is_unreserved(c)) {
            out.push_back(ch);
        } else {
            append_escape(out, c);
        }
    }
    return out;
}

Result<std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out.push_back(text[i]);
            continue;
        }
        const bool complete = i + 2 < text.size();
        const int hi = complete ? hex_digit_value(text[i + 1]) : -1;
        const int lo = complete ? hex_digit_value(text[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            return fail(ErrorKind::invalid,
                        fmt::format("invalid percent-encoding at offset {}: '%' must be followed by two hex digits", i));
        }
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

std::string encode_sshkeys(std::string_view keys) { return percent_encode(keys); }

Result<std::string> decode_sshkeys(std::string_view stored) {
    auto decoded = percent_decode(stored);
    if (!decoded) return std::unexpected(decoded.error().within("sshkeys"));
    return decoded;
}

std::string form_encode(const FormFields& fields) {
    std::string out;
    for (const auto& [name, value] : fields) {
        if (!out.empty()) out.push_back('&');
        out += percent_encode(name);
        out.push_back('=');
        out += percent_encode(value);
    }
    return out;
}

std::string encode_path_segment(std::string_view segment) {
    std::string out;
    out.reserve(segment.size());
    for (char ch : segment) {
        auto c = static_cast<unsigned char>(ch);
        if (is_segment_char(c)) {
            out.push_back(ch);
        } else {
            append_escape(out, c);
        }
    }
    return out;
}

}  // namespace dnsctl
