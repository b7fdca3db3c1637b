#include "dns/ldns_support.hpp"  // first: <stdbool.h> before ldns

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <optional>
#include <queue>
#include <tuple>
#include <unordered_map>

#include "dns/ldns_dns_probe.hpp"
#include "dns/message.hpp"

namespace dnsctl {

namespace {

using time_point = Clock::time_point;
using std::chrono::milliseconds;

std::string errno_text(int error) { return std::strerror(error); }

// Random bytes from getrandom(), drawn in blocks.
class RandomSource {
public:
    std::uint16_t u16() {
        if (pos_ + 2 > filled_) refill();
        std::uint16_t value = static_cast<std::uint16_t>(buffer_[pos_] << 8 | buffer_[pos_ + 1]);
        pos_ += 2;
        return value;
    }

private:
    void refill() {
        filled_ = 0;
        while (filled_ < buffer_.size()) {
            ssize_t n = getrandom(buffer_.data() + filled_, buffer_.size() - filled_, 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                std::abort();  // getrandom cannot fail with these arguments on Linux ≥ 3.17
            }
            filled_ += static_cast<std::size_t>(n);
        }
        pos_ = 0;
    }
    std::array<std::uint8_t, 512> buffer_{};
    std::size_t filled_ = 0;
    std::size_t pos_ = 0;
};

// The ephemeral port range, where random source ports are drawn from.
std::pair<int, int> local_port_range() {
    std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
    int low = 0;
    int high = 0;
    if (in >> low >> high && low >= 1024 && high <= 65535 && low < high) return {low, high};
    return {32768, 60999};
}

struct Endpoint {
    sockaddr_storage storage{};
    socklen_t length = 0;
};

// The server's address for a socket of `family` (AF_INET6 sockets reach IPv4
// servers through v4-mapped addresses).
Endpoint endpoint(const IpAddress& address, std::uint16_t port, int family) {
    Endpoint out;
    if (family == AF_INET) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        std::memcpy(&sin->sin_addr, address.bytes().data(), 4);
        out.length = sizeof(sockaddr_in);
    } else {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        if (address.family() == AddressFamily::ipv4) {
            sin6->sin6_addr.s6_addr[10] = 0xff;
            sin6->sin6_addr.s6_addr[11] = 0xff;
            std::memcpy(&sin6->sin6_addr.s6_addr[12], address.bytes().data(), 4);
        } else {
            std::memcpy(&sin6->sin6_addr, address.bytes().data(), 16);
        }
        out.length = sizeof(sockaddr_in6);
    }
    return out;
}

bool same_endpoint(const sockaddr_storage& from, const IpAddress& address, std::uint16_t port) {
    const auto& want = address.bytes();
    if (from.ss_family == AF_INET) {
        const auto* sin = reinterpret_cast<const sockaddr_in*>(&from);
        return address.family() == AddressFamily::ipv4 && ntohs(sin->sin_port) == port &&
               std::memcmp(&sin->sin_addr, want.data(), 4) == 0;
    }
    if (from.ss_family == AF_INET6) {
        const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&from);
        if (ntohs(sin6->sin6_port) != port) return false;
        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            return address.family() == AddressFamily::ipv4 &&
                   std::memcmp(&sin6->sin6_addr.s6_addr[12], want.data(), 4) == 0;
        }
        return address.family() == AddressFamily::ipv6 && std::memcmp(&sin6->sin6_addr, want.data(), 16) == 0;
    }
    return false;
}

// The query message, built by ldns: no RD (the servers are authoritative),
// EDNS0 with the buffer size, DO as asked.
Result<std::vector<std::uint8_t>> build_query(const DnsQuery& query, std::uint16_t id, std::uint16_t edns_size) {
    ldns::Rdf name(ldns_dname_new_frm_str(query.qname.fqdn().c_str()));
    if (!name) return fail(ErrorKind::invalid, fmt::format("'{}' is not a query name", query.qname.str()));
    ldns::Pkt pkt(ldns_pkt_query_new(name.release(), static_cast<ldns_rr_type>(query.qtype), LDNS_RR_CLASS_IN, 0));
    if (!pkt) return fail(ErrorKind::internal, "cannot build a query");
    ldns_pkt_set_id(pkt.get(), id);
    ldns_pkt_set_edns_udp_size(pkt.get(), edns_size);
    ldns_pkt_set_edns_do(pkt.get(), query.dnssec_ok);
    std::uint8_t* raw = nullptr;
    std::size_t size = 0;
    auto status = ldns_pkt2wire(&raw, pkt.get(), &size);
    ldns::Bytes wire(raw);
    if (status != LDNS_STATUS_OK) return fail(ErrorKind::internal, "cannot build a query: " + ldns::status_text(status));
    return std::vector<std::uint8_t>(raw, raw + size);
}

// The end of the question in a query we built (header, one name, type, class).
std::size_t question_end(const std::vector<std::uint8_t>& query) {
    std::size_t pos = 12;
    while (pos < query.size() && query[pos] != 0) pos += query[pos] + 1u;
    return pos + 1 + 4;
}

std::uint8_t lower(std::uint8_t c) { return c >= 'A' && c <= 'Z' ? static_cast<std::uint8_t>(c + 32) : c; }

// Is `answer` a response to `query`: same ID, QR set, opcode QUERY, one
// question equal to ours (names compared without case)? An error answer
// (FORMERR, NOTIMP…) may come without the question (RFC 6891 §7).
bool answers(const std::vector<std::uint8_t>& query, std::span<const std::uint8_t> answer) {
    if (answer.size() < 12) return false;
    if (answer[0] != query[0] || answer[1] != query[1]) return false;
    if ((answer[2] & 0x80) == 0 || (answer[2] & 0x78) != 0) return false;  // QR, opcode 0
    if (answer[4] == 0 && answer[5] == 0) return (answer[3] & 0x0f) != 0;   // no question: errors only
    if (answer[4] != 0 || answer[5] != 1) return false;                      // QDCOUNT 1
    const std::size_t end = question_end(query);
    if (answer.size() < end) return false;
    const std::size_t name_end = end - 4;
    for (std::size_t i = 12; i < name_end; ++i) {
        if (lower(answer[i]) != lower(query[i])) return false;
    }
    return std::equal(query.begin() + static_cast<long>(name_end), query.begin() + static_cast<long>(end),
                      answer.begin() + static_cast<long>(name_end));
}

bool truncated(std::span<const std::uint8_t> answer) { return answer.size() > 2 && (answer[2] & 0x02) != 0; }

enum class Stage { queued_udp, udp, queued_tcp, tcp, done };

struct Item {
    const DnsQuery* query = nullptr;
    std::vector<std::uint8_t> wire;  // built when first sent
    std::uint16_t id = 0;
    Stage stage = Stage::queued_udp;
    int attempts = 0;  // of the current transport
    int slot = -1;     // UDP socket or TCP connection
    std::size_t endpoint = 0;  // the server address and port
    time_point sent_at{};
    std::uint32_t generation = 0;  // the live timer's; bumped to cancel it
};

// What this call has seen of one server address and port.
struct EndpointHealth {
    bool answered = false;
    int timeouts = 0;  // queries that ended without an answer
};

struct UdpSlot {
    int fd = -1;
    int outstanding = 0;
    int carried = 0;
};

struct TcpConnection {
    int fd = -1;
    std::size_t item = 0;
    bool connected = false;
    std::vector<std::uint8_t> out;  // length prefix + message
    std::size_t written = 0;
    std::vector<std::uint8_t> in;
};

struct Timer {
    time_point at;
    std::size_t item;
    std::uint32_t generation;
    bool operator>(const Timer& other) const { return at > other.at; }
};

constexpr std::uint64_t kUdpTag = 1ULL << 32;
constexpr std::size_t kBatch = 16;              // datagrams per sendmmsg/recvmmsg
constexpr std::size_t kDatagramSize = 65536;    // any UDP payload fits
constexpr std::uint64_t kTcpTag = 2ULL << 32;

// One query() call: every socket it opens is closed when it ends.
class Run {
public:
    Run(Clock& clock, const LdnsDnsProbeOptions& options, std::span<const DnsQuery> queries,
        LdnsDnsProbe::Counters& counters)
        : clock_(clock), options_(options), counters_(counters), items_(queries.size()), results_(queries.size()) {
        std::map<std::pair<IpAddress, std::uint16_t>, std::size_t> endpoints;
        for (std::size_t i = 0; i < queries.size(); ++i) {
            items_[i].query = &queries[i];
            auto [it, added] = endpoints.emplace(std::pair{queries[i].server, queries[i].port}, endpoints.size());
            items_[i].endpoint = it->second;
        }
        health_.resize(endpoints.size());
        udp_.resize(static_cast<std::size_t>(std::max(1, options_.max_udp_sockets)));
        tcp_.resize(static_cast<std::size_t>(std::max(1, options_.max_tcp_connections)));
        port_range_ = local_port_range();
        receive_buffer_.resize(kBatch * kDatagramSize);
    }

    ~Run() {
        for (auto& slot : udp_) close_fd(slot.fd);
        for (auto& connection : tcp_) close_fd(connection.fd);
        close_fd(epoll_fd_);
    }
    Run(const Run&) = delete;
    Run& operator=(const Run&) = delete;

    std::vector<Result<DnsResponse>> run() {
        remaining_ = items_.size();
        epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
        for (std::size_t i = 0; i < items_.size(); ++i) {
            if (epoll_fd_ < 0) {
                finish(i, fail(ErrorKind::unavailable, "epoll_create1: " + errno_text(errno)));
                continue;
            }
            if (items_[i].query->transport == DnsTransport::tcp) {
                items_[i].stage = Stage::queued_tcp;
                tcp_queue_.push_back(i);
            } else {
                udp_queue_.push_back(i);
            }
        }

        std::array<epoll_event, 256> events{};
        while (remaining_ > 0) {
            start_udp();
            start_tcp();
            if (remaining_ == 0) break;
            int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), wait_ms());
            if (n < 0 && errno != EINTR) {
                int error = errno;
                fail_all("epoll_wait: " + errno_text(error));
                break;
            }
            for (int e = 0; e < n; ++e) {
                auto tag = events[static_cast<std::size_t>(e)].data.u64;
                auto slot = static_cast<std::size_t>(tag & 0xffffffffULL);
                if ((tag & ~0xffffffffULL) == kUdpTag) {
                    on_udp(slot, events[static_cast<std::size_t>(e)].events);
                } else {
                    on_tcp(slot, events[static_cast<std::size_t>(e)].events);
                }
            }
            expire_timers();
        }

        std::vector<Result<DnsResponse>> out;
        out.reserve(results_.size());
        for (auto& result : results_) out.push_back(std::move(*result));
        return out;
    }

private:
    // --- bookkeeping -------------------------------------------------------

    static void close_fd(int& fd) {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }

    std::string describe(const Item& item, std::string_view transport) const {
        const auto& q = *item.query;
        std::string server = q.server.family() == AddressFamily::ipv6 ? fmt::format("[{}]", q.server.str())
                                                                      : q.server.str();
        return fmt::format("{} {} @{}:{} over {}", q.qname.fqdn(), type_name(q.qtype), server, q.port, transport);
    }

    void finish(std::size_t index, Result<DnsResponse> result) {
        auto& item = items_[index];
        item.stage = Stage::done;
        ++item.generation;
        results_[index] = std::move(result);
        --remaining_;
    }

    void note_timeout(const Item& item) { ++health_[item.endpoint].timeouts; }
    void note_answer(const Item& item) { health_[item.endpoint].answered = true; }

    // A server that answered nothing in this call and let enough queries time
    // out gets no more: its waiting queries fail at once instead of each
    // spending timeout × attempts in a slot.
    bool gave_up(std::size_t index, std::string_view transport) {
        const auto& item = items_[index];
        const auto& health = health_[item.endpoint];
        if (options_.give_up_after_timeouts <= 0 || health.answered ||
            health.timeouts < options_.give_up_after_timeouts) {
            return false;
        }
        finish(index, fail(ErrorKind::unavailable,
                           fmt::format("{}: not sent: the server answered none of {} queries that timed out",
                                       describe(item, transport), health.timeouts)));
        return true;
    }

    void fail_all(const std::string& why) {
        for (std::size_t i = 0; i < items_.size(); ++i) {
            if (items_[i].stage == Stage::done) continue;
            if (items_[i].stage == Stage::udp) release_udp(i);
            if (items_[i].stage == Stage::tcp) close_tcp(static_cast<std::size_t>(items_[i].slot));
            finish(i, fail(ErrorKind::unavailable, why));
        }
    }

    void arm(std::size_t index) {
        auto& item = items_[index];
        ++item.generation;
        timers_.push(Timer{item.sent_at + item.query->timeout, index, item.generation});
    }

    int wait_ms() {
        while (!timers_.empty() && items_[timers_.top().item].generation != timers_.top().generation) timers_.pop();
        if (timers_.empty()) return 1000;  // nothing in flight waits on time; a safety net only
        auto left = timers_.top().at - clock_.now();
        if (left <= Clock::duration::zero()) return 0;
        auto ms = std::chrono::ceil<milliseconds>(left).count();
        return static_cast<int>(std::min<long long>(ms, 60'000));
    }

    void expire_timers() {
        const auto now = clock_.now();
        while (!timers_.empty() && timers_.top().at <= now) {
            Timer timer = timers_.top();
            timers_.pop();
            auto& item = items_[timer.item];
            if (item.generation != timer.generation) continue;
            if (item.stage == Stage::udp) {
                if (item.attempts < item.query->attempts) {
                    const std::size_t index = timer.item;
                    send_udp(static_cast<std::size_t>(item.slot), std::span<const std::size_t>(&index, 1));
                } else {
                    release_udp(timer.item);
                    note_timeout(item);
                    finish(timer.item, fail(ErrorKind::unavailable,
                                            fmt::format("{}: no answer after {} attempts of {} ms",
                                                        describe(item, "UDP"), item.attempts,
                                                        item.query->timeout.count())));
                }
            } else if (item.stage == Stage::tcp) {
                tcp_failed(static_cast<std::size_t>(item.slot),
                           fmt::format("no answer within {} ms", item.query->timeout.count()), false, true);
            }
        }
    }

    // The message for a query with this ID: ldns builds it once per distinct
    // question, later ones are copies with their own ID (the first two bytes).
    Result<std::vector<std::uint8_t>> query_message(const DnsQuery& query, std::uint16_t id) {
        auto key = std::tuple(query.qname, query.qtype, query.dnssec_ok);
        auto it = messages_.find(key);
        if (it == messages_.end()) {
            auto built = build_query(query, 0, options_.edns_udp_size);
            if (!built) return built;
            it = messages_.emplace(std::move(key), std::move(*built)).first;
        }
        std::vector<std::uint8_t> out = it->second;
        out[0] = static_cast<std::uint8_t>(id >> 8);
        out[1] = static_cast<std::uint8_t>(id & 0xff);
        return out;
    }

    // --- UDP ---------------------------------------------------------------

    std::uint64_t udp_key(std::size_t slot, std::uint16_t id) const {
        return static_cast<std::uint64_t>(slot) << 16 | id;
    }

    Result<int> open_udp_socket() {
        int fd = -1;
        if (!ipv4_only_) {
            fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0 && (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT)) ipv4_only_ = true;
        }
        if (ipv4_only_) fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return fail(ErrorKind::unavailable, "cannot open a UDP socket: " + errno_text(errno));

        int on = 1;
        int off = 0;
        if (!ipv4_only_) {
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
            setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on);
        }
        setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on);  // ICMP errors, also for v4-mapped peers

        // A random source port from the ephemeral range; the kernel's choice
        // if the draws keep colliding.
        const int span = port_range_.second - port_range_.first + 1;
        bool bound = false;
        for (int attempt = 0; attempt < 16 && !bound; ++attempt) {
            auto port = static_cast<std::uint16_t>(port_range_.first + random_.u16() % span);
            bound = bind_port(fd, port);
        }
        if (!bound && !bind_port(fd, 0)) {
            int error = errno;
            ::close(fd);
            return fail(ErrorKind::unavailable, "cannot bind a UDP socket: " + errno_text(error));
        }
        return fd;
    }

    bool bind_port(int fd, std::uint16_t port) {
        if (ipv4_only_) {
            sockaddr_in any{};
            any.sin_family = AF_INET;
            any.sin_port = htons(port);
            return bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof any) == 0;
        }
        sockaddr_in6 any{};
        any.sin6_family = AF_INET6;
        any.sin6_port = htons(port);
        return bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof any) == 0;
    }

    // A socket for the next batch of queries: an open one with room (fewer
    // than a batch awaiting answers, its share not yet carried), else a new
    // one while under the bound, else any open one with its share left.
    // -1: none now (every socket retiring).
    Result<int> pick_udp_slot() {
        const std::size_t start = random_.u16() % udp_.size();
        for (std::size_t k = 0; k < udp_.size(); ++k) {
            const auto& slot = udp_[(start + k) % udp_.size()];
            if (slot.fd >= 0 && slot.outstanding < static_cast<int>(kBatch) && slot.carried < options_.queries_per_udp_socket) {
                return static_cast<int>((start + k) % udp_.size());
            }
        }
        for (std::size_t i = 0; udp_open_ < static_cast<int>(udp_.size()) && i < udp_.size(); ++i) {
            if (udp_[i].fd >= 0) continue;
            auto fd = open_udp_socket();
            if (!fd) {
                if (udp_open_ == 0) return std::unexpected(fd.error());
                break;  // use the open ones
            }
            udp_[i] = UdpSlot{*fd, 0, 0};
            epoll_event event{};
            event.events = EPOLLIN;  // EPOLLERR is always reported
            event.data.u64 = kUdpTag | i;
            if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, *fd, &event) != 0) {
                int error = errno;
                close_fd(udp_[i].fd);
                return fail(ErrorKind::unavailable, "epoll_ctl: " + errno_text(error));
            }
            ++udp_open_;
            ++counters_.udp_sockets_opened;
            counters_.peak_udp_sockets = std::max(counters_.peak_udp_sockets, udp_open_);
            return static_cast<int>(i);
        }
        for (std::size_t k = 0; k < udp_.size(); ++k) {
            const auto& slot = udp_[(start + k) % udp_.size()];
            if (slot.fd >= 0 && slot.carried < options_.queries_per_udp_socket) {
                return static_cast<int>((start + k) % udp_.size());
            }
        }
        return -1;
    }

    // Queries leave in batches: up to kBatch on one socket, one sendmmsg.
    void start_udp() {
        while (!udp_queue_.empty() && udp_in_flight_ < options_.max_udp_in_flight) {
            const std::size_t first = udp_queue_.front();
            if (gave_up(first, "UDP")) {
                udp_queue_.pop_front();
                continue;
            }
            if (ipv4_only_ && items_[first].query->server.family() == AddressFamily::ipv6) {
                udp_queue_.pop_front();
                finish(first, fail(ErrorKind::unavailable, describe(items_[first], "UDP") + ": IPv6 is not available here"));
                continue;
            }
            auto slot = pick_udp_slot();
            if (!slot) {
                udp_queue_.pop_front();
                finish(first, std::unexpected(slot.error().within(describe(items_[first], "UDP"))));
                continue;
            }
            if (*slot < 0) break;  // every socket retiring: wait for answers
            const auto slot_index = static_cast<std::size_t>(*slot);
            auto& socket = udp_[slot_index];

            batch_.clear();
            while (!udp_queue_.empty() && batch_.size() < kBatch && udp_in_flight_ < options_.max_udp_in_flight &&
                   socket.carried < options_.queries_per_udp_socket) {
                const std::size_t index = udp_queue_.front();
                auto& item = items_[index];
                if (gave_up(index, "UDP")) {
                    udp_queue_.pop_front();
                    continue;
                }
                if (ipv4_only_ && item.query->server.family() == AddressFamily::ipv6) break;  // next round
                udp_queue_.pop_front();
                std::uint16_t id = random_.u16();
                while (udp_waiting_.contains(udp_key(slot_index, id))) id = random_.u16();
                auto wire = query_message(*item.query, id);
                if (!wire) {
                    finish(index, std::unexpected(wire.error().within(describe(item, "UDP"))));
                    continue;
                }
                item.wire = std::move(*wire);
                item.id = id;
                item.slot = *slot;
                item.stage = Stage::udp;
                item.attempts = 0;
                udp_waiting_.emplace(udp_key(slot_index, id), index);
                ++socket.outstanding;
                ++socket.carried;
                ++udp_in_flight_;
                batch_.push_back(index);
            }
            send_udp(slot_index, batch_);
        }
    }

    // Sends (or resends) the queries of one socket; each is armed for its
    // timeout. A datagram the kernel could not queue counts as lost.
    void send_udp(std::size_t slot, std::span<const std::size_t> indices) {
        if (indices.empty()) return;
        std::array<mmsghdr, kBatch> messages{};
        std::array<iovec, kBatch> iov{};
        std::array<Endpoint, kBatch> to{};
        const int family = ipv4_only_ ? AF_INET : AF_INET6;
        const std::size_t n = std::min(indices.size(), kBatch);
        for (std::size_t i = 0; i < n; ++i) {
            auto& item = items_[indices[i]];
            to[i] = endpoint(item.query->server, item.query->port, family);
            iov[i] = iovec{item.wire.data(), item.wire.size()};
            messages[i].msg_hdr.msg_name = &to[i].storage;
            messages[i].msg_hdr.msg_namelen = to[i].length;
            messages[i].msg_hdr.msg_iov = &iov[i];
            messages[i].msg_hdr.msg_iovlen = 1;
        }
        const auto now = clock_.now();
        std::size_t at = 0;
        bool retried = false;
        while (at < n) {
            int sent = sendmmsg(udp_[slot].fd, messages.data() + at, static_cast<unsigned>(n - at), 0);
            if (sent > 0) {
                for (int k = 0; k < sent; ++k) sent_udp(indices[at + static_cast<std::size_t>(k)], now);
                at += static_cast<std::size_t>(sent);
                continue;
            }
            const int error = errno;
            // A pending ICMP error of another query fails one send: send again.
            if (error == ECONNREFUSED && !retried) {
                retried = true;
                continue;
            }
            retried = false;
            const std::size_t index = indices[at++];
            if (error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS || error == EINTR ||
                error == ECONNREFUSED) {
                sent_udp(index, now);  // lost on the way; the timeout resends it
            } else {
                release_udp(index);
                finish(index, fail(ErrorKind::unavailable, fmt::format("{}: {}", describe(items_[index], "UDP"),
                                                                       errno_text(error))));
            }
        }
    }

    void sent_udp(std::size_t index, time_point now) {
        auto& item = items_[index];
        ++item.attempts;
        item.sent_at = now;
        ++counters_.udp_sent;
        arm(index);
    }

    void release_udp(std::size_t index) {
        auto& item = items_[index];
        auto slot = static_cast<std::size_t>(item.slot);
        udp_waiting_.erase(udp_key(slot, item.id));
        auto& socket = udp_[slot];
        --socket.outstanding;
        --udp_in_flight_;
        item.slot = -1;
        if (socket.outstanding == 0 && socket.carried >= options_.queries_per_udp_socket) {
            close_fd(socket.fd);  // done its share: the next one gets a fresh port
            socket = UdpSlot{};
            --udp_open_;
        }
    }

    // Reads up to a batch per recvmmsg; epoll is level-triggered, so what
    // is left is reported again and no call is spent to learn "empty".
    void on_udp(std::size_t slot, std::uint32_t events) {
        if (slot >= udp_.size()) return;
        if ((events & EPOLLERR) != 0) drain_udp_errors(slot);
        for (int round = 0; round < 4 && udp_[slot].fd >= 0; ++round) {
            std::array<mmsghdr, kBatch> messages{};
            std::array<iovec, kBatch> iov{};
            std::array<sockaddr_storage, kBatch> from{};
            for (std::size_t i = 0; i < kBatch; ++i) {
                iov[i] = iovec{receive_buffer_.data() + i * kDatagramSize, kDatagramSize};
                messages[i].msg_hdr.msg_name = &from[i];
                messages[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
                messages[i].msg_hdr.msg_iov = &iov[i];
                messages[i].msg_hdr.msg_iovlen = 1;
            }
            int n = recvmmsg(udp_[slot].fd, messages.data(), kBatch, MSG_DONTWAIT, nullptr);
            if (n < 0) {
                const int error = errno;
                if (error == ECONNREFUSED || error == EHOSTUNREACH || error == ENETUNREACH) {
                    drain_udp_errors(slot);  // the error queue says whose it was
                    continue;
                }
                if (error == EINTR) continue;
                return;  // EAGAIN, or nothing more to learn here
            }
            for (int i = 0; i < n; ++i) {
                const auto& header = messages[static_cast<std::size_t>(i)];
                if ((header.msg_hdr.msg_flags & MSG_TRUNC) != 0) {
                    ++counters_.udp_strays;  // larger than any DNS message
                    continue;
                }
                on_datagram(slot,
                            std::span<const std::uint8_t>(receive_buffer_.data() + static_cast<std::size_t>(i) * kDatagramSize,
                                                          header.msg_len),
                            from[static_cast<std::size_t>(i)]);
            }
            if (n < static_cast<int>(kBatch)) return;
        }
    }

    void on_datagram(std::size_t slot, std::span<const std::uint8_t> data, const sockaddr_storage& from) {
        if (data.size() < 12) {
            ++counters_.udp_strays;
            return;
        }
        const auto id = static_cast<std::uint16_t>(data[0] << 8 | data[1]);
        auto it = udp_waiting_.find(udp_key(slot, id));
        if (it == udp_waiting_.end()) {
            ++counters_.udp_strays;
            return;
        }
        const std::size_t index = it->second;
        auto& item = items_[index];
        if (!same_endpoint(from, item.query->server, item.query->port) || !answers(item.wire, data)) {
            ++counters_.udp_strays;
            return;
        }
        const auto round_trip = std::chrono::duration_cast<std::chrono::microseconds>(clock_.now() - item.sent_at);
        release_udp(index);
        note_answer(item);
        if (truncated(data) && item.query->transport == DnsTransport::udp_then_tcp) {
            ++item.generation;
            item.stage = Stage::queued_tcp;
            item.attempts = 0;
            tcp_queue_.push_back(index);
            return;
        }
        finish(index, DnsResponse{std::vector<std::uint8_t>(data.begin(), data.end()), DnsTransport::udp, round_trip});
    }

    // ICMP errors (IP_RECVERR): the original datagram comes back with the
    // address it was sent to, so it names its query.
    void drain_udp_errors(std::size_t slot) {
        std::array<std::uint8_t, 512> payload{};
        std::array<char, 512> control{};
        while (udp_[slot].fd >= 0) {
            sockaddr_storage to{};
            iovec iov{payload.data(), payload.size()};
            msghdr message{};
            message.msg_name = &to;
            message.msg_namelen = sizeof to;
            message.msg_iov = &iov;
            message.msg_iovlen = 1;
            message.msg_control = control.data();
            message.msg_controllen = control.size();
            ssize_t n = recvmsg(udp_[slot].fd, &message, MSG_ERRQUEUE);
            if (n < 0) break;
            int error = 0;
            for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
                if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
                    sock_extended_err err{};
                    std::memcpy(&err, CMSG_DATA(c), sizeof err);
                    if (err.ee_origin == SO_EE_ORIGIN_ICMP || err.ee_origin == SO_EE_ORIGIN_ICMP6) {
                        error = static_cast<int>(err.ee_errno);
                    }
                }
            }
            if (error == 0 || n < 2) continue;
            const auto id = static_cast<std::uint16_t>(payload[0] << 8 | payload[1]);
            auto it = udp_waiting_.find(udp_key(slot, id));
            if (it == udp_waiting_.end()) continue;
            const std::size_t index = it->second;
            auto& item = items_[index];
            if (!same_endpoint(to, item.query->server, item.query->port)) continue;
            release_udp(index);
            finish(index, fail(ErrorKind::unavailable, fmt::format("{}: {}", describe(item, "UDP"), errno_text(error))));
        }
    }

    // --- TCP ---------------------------------------------------------------

    void start_tcp() {
        while (!tcp_queue_.empty() && tcp_open_ < static_cast<int>(tcp_.size())) {
            const std::size_t index = tcp_queue_.front();
            auto& item = items_[index];
            if (gave_up(index, "TCP")) {
                tcp_queue_.pop_front();
                continue;
            }
            const int family = item.query->server.family() == AddressFamily::ipv6 ? AF_INET6 : AF_INET;
            int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                int error = errno;
                if (tcp_open_ > 0 && (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM)) {
                    break;  // wait for a connection to close
                }
                tcp_queue_.pop_front();
                finish(index, fail(ErrorKind::unavailable,
                                   fmt::format("{}: cannot open a socket: {}", describe(item, "TCP"), errno_text(error))));
                continue;
            }
            tcp_queue_.pop_front();
            if (item.wire.empty()) {
                auto wire = query_message(*item.query, random_.u16());
                if (!wire) {
                    ::close(fd);
                    finish(index, std::unexpected(wire.error().within(describe(item, "TCP"))));
                    continue;
                }
                item.wire = std::move(*wire);
            }
            int on = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);

            std::size_t slot = 0;
            while (tcp_[slot].fd >= 0) ++slot;
            auto& connection = tcp_[slot];
            connection = TcpConnection{};
            connection.fd = fd;
            connection.item = index;
            connection.out.reserve(item.wire.size() + 2);
            connection.out.push_back(static_cast<std::uint8_t>(item.wire.size() >> 8));
            connection.out.push_back(static_cast<std::uint8_t>(item.wire.size() & 0xff));
            connection.out.insert(connection.out.end(), item.wire.begin(), item.wire.end());
            ++tcp_open_;
            ++counters_.tcp_connections;
            counters_.peak_tcp_connections = std::max(counters_.peak_tcp_connections, tcp_open_);

            item.stage = Stage::tcp;
            item.slot = static_cast<int>(slot);
            ++item.attempts;
            item.sent_at = clock_.now();
            arm(index);

            epoll_event event{};
            event.events = EPOLLOUT;
            event.data.u64 = kTcpTag | slot;
            if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
                tcp_failed(slot, "epoll_ctl: " + errno_text(errno), true);
                continue;
            }
            const auto to = endpoint(item.query->server, item.query->port, family);
            if (connect(fd, reinterpret_cast<const sockaddr*>(&to.storage), to.length) != 0 && errno != EINPROGRESS) {
                int error = errno;
                tcp_failed(slot, errno_text(error), error == ECONNREFUSED);
            }
        }
    }

    void close_tcp(std::size_t slot) {
        auto& connection = tcp_[slot];
        if (connection.fd < 0) return;
        close_fd(connection.fd);  // closing also removes it from the epoll set
        connection = TcpConnection{};
        --tcp_open_;
    }

    // This attempt failed: try again while attempts remain (never after a refusal).
    void tcp_failed(std::size_t slot, const std::string& why, bool final, bool timed_out = false) {
        const std::size_t index = tcp_[slot].item;
        close_tcp(slot);
        auto& item = items_[index];
        item.slot = -1;
        ++item.generation;
        if (!final && item.attempts < item.query->attempts) {
            item.stage = Stage::queued_tcp;
            tcp_queue_.push_front(index);
            return;
        }
        if (timed_out) note_timeout(item);
        finish(index, fail(ErrorKind::unavailable,
                           fmt::format("{}: {} (attempt {} of {})", describe(item, "TCP"), why, item.attempts,
                                       item.query->attempts)));
    }

    void on_tcp(std::size_t slot, std::uint32_t events) {
        if (slot >= tcp_.size() || tcp_[slot].fd < 0) return;
        auto& connection = tcp_[slot];
        if (!connection.connected) {
            int error = 0;
            socklen_t length = sizeof error;
            getsockopt(connection.fd, SOL_SOCKET, SO_ERROR, &error, &length);
            if (error != 0) {
                tcp_failed(slot, errno_text(error), error == ECONNREFUSED);
                return;
            }
            if ((events & (EPOLLOUT | EPOLLIN)) == 0) {
                tcp_failed(slot, "connection failed", false);
                return;
            }
            connection.connected = true;
        }
        if (connection.written < connection.out.size()) {
            while (connection.written < connection.out.size()) {
                ssize_t n = send(connection.fd, connection.out.data() + connection.written,
                                 connection.out.size() - connection.written, MSG_NOSIGNAL);
                if (n < 0) {
                    if (errno == EAGAIN || errno == EWOULDBLOCK) return;  // EPOLLOUT again
                    if (errno == EINTR) continue;
                    tcp_failed(slot, errno_text(errno), false);
                    return;
                }
                connection.written += static_cast<std::size_t>(n);
            }
            epoll_event event{};
            event.events = EPOLLIN;
            event.data.u64 = kTcpTag | slot;
            if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, connection.fd, &event) != 0) {
                tcp_failed(slot, "epoll_ctl: " + errno_text(errno), false);
            }
            return;  // the answer is announced by EPOLLIN
        }
        while (true) {
            std::size_t old = connection.in.size();
            connection.in.resize(old + 16384);
            ssize_t n = recv(connection.fd, connection.in.data() + old, 16384, 0);
            connection.in.resize(old + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) return;
                if (errno == EINTR) continue;
                tcp_failed(slot, errno_text(errno), false);
                return;
            }
            if (n == 0) {
                tcp_failed(slot, "connection closed before the whole answer came", false);
                return;
            }
            if (connection.in.size() >= 2) {
                const std::size_t length = static_cast<std::size_t>(connection.in[0] << 8 | connection.in[1]);
                if (connection.in.size() >= 2 + length) {
                    tcp_answer(slot, length);
                    return;
                }
            }
        }
    }

    void tcp_answer(std::size_t slot, std::size_t length) {
        auto& connection = tcp_[slot];
        const std::size_t index = connection.item;
        auto& item = items_[index];
        std::vector<std::uint8_t> answer(connection.in.begin() + 2, connection.in.begin() + 2 + static_cast<long>(length));
        close_tcp(slot);
        item.slot = -1;
        note_answer(item);
        const auto round_trip = std::chrono::duration_cast<std::chrono::microseconds>(clock_.now() - item.sent_at);
        if (!answers(item.wire, answer)) {
            finish(index, fail(ErrorKind::invalid, describe(item, "TCP") + ": the answer is not for this question"));
        } else if (truncated(answer)) {
            finish(index, fail(ErrorKind::invalid, describe(item, "TCP") + ": the answer is truncated (TC over TCP)"));
        } else {
            finish(index, DnsResponse{std::move(answer), DnsTransport::tcp, round_trip});
        }
    }

    Clock& clock_;
    const LdnsDnsProbeOptions& options_;
    LdnsDnsProbe::Counters& counters_;
    std::vector<Item> items_;
    std::map<std::tuple<DnsName, std::uint16_t, bool>, std::vector<std::uint8_t>> messages_;
    std::vector<EndpointHealth> health_;
    std::vector<std::optional<Result<DnsResponse>>> results_;
    std::size_t remaining_ = 0;

    int epoll_fd_ = -1;
    RandomSource random_;
    std::pair<int, int> port_range_;
    std::vector<std::uint8_t> receive_buffer_;
    std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;

    bool ipv4_only_ = false;
    std::vector<UdpSlot> udp_;
    int udp_open_ = 0;
    int udp_in_flight_ = 0;
    std::deque<std::size_t> udp_queue_;
    std::vector<std::size_t> batch_;
    std::unordered_map<std::uint64_t, std::size_t> udp_waiting_;

    std::vector<TcpConnection> tcp_;
    int tcp_open_ = 0;
    std::deque<std::size_t> tcp_queue_;
};

}  // namespace

LdnsDnsProbe::LdnsDnsProbe(Clock& clock, LdnsDnsProbeOptions options) : clock_(clock), options_(options) {
    options_.max_udp_sockets = std::max(1, options_.max_udp_sockets);
    options_.max_tcp_connections = std::max(1, options_.max_tcp_connections);
    options_.max_udp_in_flight = std::max(1, options_.max_udp_in_flight);
    options_.queries_per_udp_socket = std::max(1, options_.queries_per_udp_socket);
    options_.edns_udp_size = std::max<std::uint16_t>(512, options_.edns_udp_size);
}

std::vector<Result<DnsResponse>> LdnsDnsProbe::query(std::span<const DnsQuery> queries) {
    counters_ = Counters{};
    Run run(clock_, options_, queries, counters_);
    return run.run();
}

}  // namespace dnsctl
