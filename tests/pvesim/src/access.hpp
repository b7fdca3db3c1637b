// Users, API tokens, roles and ACLs of one simulated cluster, evaluated the way
// pve-access-control does: the most specific ACL path wins, `propagate`
// controls inheritance, user entries override group entries, and a
// privilege-separated token gets the intersection of its own and its user's
// rights. Also the ticket and CSRF token of password logins.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace pvesim {

using PrivilegeSet = std::set<std::string>;

// Every privilege PVE 8.4 knows (Administrator has them all).
const std::vector<std::string>& all_privileges();
// PVE's built-in roles (Administrator, PVEVMAdmin, PVEAuditor, …).
const std::map<std::string, PrivilegeSet>& builtin_roles();

struct User {
    std::string id;  // user@realm
    std::string password;
    bool enabled = true;
    std::vector<std::string> groups;
};

struct Token {
    std::string user;  // user@realm
    std::string name;  // tokenid
    std::string secret;
    bool privsep = true;
    std::int64_t expire = 0;  // unix time, 0 = never

    [[nodiscard]] std::string id() const { return user + "!" + name; }
};

struct AclEntry {
    std::string path;     // "/", "/vms/101", "/storage/local-lvm", "/pool/dns", …
    std::string subject;  // "user@realm", "user@realm!token" or "@group"
    std::vector<std::string> roles;
    bool propagate = true;
};

// An authenticated caller.
struct Identity {
    std::string user;      // user@realm
    std::string token;     // token name, empty for ticket logins
    [[nodiscard]] std::string authid() const { return token.empty() ? user : user + "!" + token; }
    [[nodiscard]] bool is_token() const { return !token.empty(); }
};

class AccessControl {
public:
    void add_user(User user);
    void add_token(Token token);
    void add_role(std::string name, PrivilegeSet privileges);
    void add_acl(AclEntry entry);

    [[nodiscard]] const User* user(std::string_view id) const;
    [[nodiscard]] const Token* token(std::string_view user, std::string_view name) const;
    [[nodiscard]] const std::map<std::string, PrivilegeSet>& roles() const { return roles_; }
    [[nodiscard]] const std::vector<AclEntry>& acl() const { return acl_; }

    // Checks `PVEAPIToken=user@realm!name=secret` credentials (already split).
    [[nodiscard]] std::optional<Identity> verify_token(std::string_view user, std::string_view name,
                                                       std::string_view secret, std::int64_t now) const;
    [[nodiscard]] bool verify_password(std::string_view user, std::string_view password) const;

    // Effective privileges of the caller on `path`, and whether each one propagates.
    [[nodiscard]] std::map<std::string, bool> permissions(const Identity& who, std::string_view path) const;
    [[nodiscard]] PrivilegeSet privileges(const Identity& who, std::string_view path) const;
    [[nodiscard]] bool allowed(const Identity& who, std::string_view path, std::string_view privilege) const;
    // Every ACL path plus "/": where /access/permissions looks.
    [[nodiscard]] std::vector<std::string> acl_paths() const;

private:
    // Roles of `subject` (user or token id; groups of users included) on `path`.
    std::map<std::string, bool> roles_for(std::string_view subject, const std::vector<std::string>& groups,
                                          std::string_view path) const;
    std::map<std::string, bool> expand(const std::map<std::string, bool>& roles) const;

    std::map<std::string, User> users_;
    std::map<std::string, Token> tokens_;  // by token id
    std::map<std::string, PrivilegeSet> roles_ = builtin_roles();
    std::vector<AclEntry> acl_;
};

// Tickets (`PVE:<user>:<HEX time>::<signature>`) and CSRF prevention tokens
// (`<HEX time>:<signature>`), HMAC-SHA256 with a per-state-dir key.
class TicketSigner {
public:
    explicit TicketSigner(std::string key) : key_(std::move(key)) {}

    [[nodiscard]] std::string make_ticket(std::string_view user, std::int64_t now) const;
    // The user of a valid ticket (age between -300 s and 2 h).
    [[nodiscard]] std::optional<std::string> verify_ticket(std::string_view ticket, std::int64_t now) const;
    [[nodiscard]] std::string make_csrf(std::string_view user, std::int64_t now) const;
    [[nodiscard]] bool verify_csrf(std::string_view token, std::string_view user, std::int64_t now) const;

private:
    [[nodiscard]] std::string sign(std::string_view data) const;
    std::string key_;
};

}  // namespace pvesim
