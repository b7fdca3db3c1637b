#include "access.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

#include <fmt/format.h>

#include "values.hpp"

namespace pvesim {

namespace {

constexpr std::int64_t kTicketLifetime = 2 * 3600;
constexpr std::int64_t kClockSkew = 300;

bool path_applies(std::string_view acl_path, std::string_view path) {
    if (acl_path == "/" || acl_path == path) return true;
    return path.size() > acl_path.size() && path.substr(0, acl_path.size()) == acl_path && path[acl_path.size()] == '/';
}

std::string base64(const unsigned char* data, std::size_t length, bool pad) {
    std::string out(4 * ((length + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(length));
    out.resize(static_cast<std::size_t>(n));
    if (!pad) {
        while (!out.empty() && out.back() == '=') out.pop_back();
    }
    return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<std::int64_t> parse_hex_time(std::string_view text) {
    if (text.size() != 8) return std::nullopt;
    std::int64_t value = 0;
    for (char c : text) {
        int digit = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                    : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                                : -1;
        if (digit < 0) return std::nullopt;
        value = value * 16 + digit;
    }
    return value;
}

bool fresh(std::int64_t issued, std::int64_t now) {
    auto age = now - issued;
    return age > -kClockSkew && age < kTicketLifetime;
}

}  // namespace

const std::vector<std::string>& all_privileges() {
    static const std::vector<std::string> privileges = {
        "Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate", "Datastore.Audit",
        "Group.Allocate", "Mapping.Audit", "Mapping.Modify", "Mapping.Use", "Permissions.Modify", "Pool.Allocate",
        "Pool.Audit", "Realm.Allocate", "Realm.AllocateUser", "SDN.Allocate", "SDN.Audit", "SDN.Use",
        "Sys.AccessNetwork", "Sys.Audit", "Sys.Console", "Sys.Incoming", "Sys.Modify", "Sys.PowerMgmt",
        "Sys.Syslog", "User.Modify", "VM.Allocate", "VM.Audit", "VM.Backup", "VM.Clone", "VM.Config.CDROM",
        "VM.Config.CPU", "VM.Config.Cloudinit", "VM.Config.Disk", "VM.Config.HWType", "VM.Config.Memory",
        "VM.Config.Network", "VM.Config.Options", "VM.Console", "VM.Migrate", "VM.Monitor", "VM.PowerMgmt",
        "VM.Snapshot", "VM.Snapshot.Rollback",
    };
    return privileges;
}

const std::map<std::string, PrivilegeSet>& builtin_roles() {
    static const std::map<std::string, PrivilegeSet> roles = [] {
        std::map<std::string, PrivilegeSet> r;
        const auto& all = all_privileges();
        r["Administrator"] = PrivilegeSet(all.begin(), all.end());
        r["NoAccess"] = {};
        PrivilegeSet admin(all.begin(), all.end());
        for (const char* p : {"Permissions.Modify", "Realm.Allocate", "Sys.Modify", "Sys.PowerMgmt"}) admin.erase(p);
        r["PVEAdmin"] = admin;
        r["PVEAuditor"] = {"Datastore.Audit", "Mapping.Audit", "Pool.Audit", "SDN.Audit", "Sys.Audit", "VM.Audit"};
        r["PVEDatastoreAdmin"] = {"Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate",
                                  "Datastore.Audit"};
        r["PVEDatastoreUser"] = {"Datastore.AllocateSpace", "Datastore.Audit"};
        r["PVEPoolAdmin"] = {"Pool.Allocate", "Pool.Audit"};
        r["PVEPoolUser"] = {"Pool.Audit"};
        r["PVESDNAdmin"] = {"SDN.Allocate", "SDN.Audit", "SDN.Use"};
        r["PVESDNUser"] = {"SDN.Audit", "SDN.Use"};
        r["PVESysAdmin"] = {"Sys.AccessNetwork", "Sys.Audit", "Sys.Console", "Sys.Syslog", "Sys.Modify",
                            "Sys.PowerMgmt"};
        r["PVETemplateUser"] = {"VM.Audit", "VM.Clone"};
        r["PVEUserAdmin"] = {"Group.Allocate", "Realm.AllocateUser", "User.Modify"};
        r["PVEVMUser"] = {"VM.Audit", "VM.Backup", "VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console",
                          "VM.PowerMgmt"};
        PrivilegeSet vm_admin;
        for (const auto& p : all) {
            if (p.rfind("VM.", 0) == 0) vm_admin.insert(p);
        }
        r["PVEVMAdmin"] = vm_admin;
        return r;
    }();
    return roles;
}

void AccessControl::add_user(User user) {
    auto id = user.id;
    users_[id] = std::move(user);
}

void AccessControl::add_token(Token token) {
    auto id = token.id();
    tokens_[id] = std::move(token);
}

void AccessControl::add_role(std::string name, PrivilegeSet privileges) { roles_[std::move(name)] = std::move(privileges); }

void AccessControl::add_acl(AclEntry entry) { acl_.push_back(std::move(entry)); }

const User* AccessControl::user(std::string_view id) const {
    auto it = users_.find(std::string(id));
    return it == users_.end() ? nullptr : &it->second;
}

const Token* AccessControl::token(std::string_view user, std::string_view name) const {
    auto it = tokens_.find(fmt::format("{}!{}", user, name));
    return it == tokens_.end() ? nullptr : &it->second;
}

std::optional<Identity> AccessControl::verify_token(std::string_view user_id, std::string_view name,
                                                    std::string_view secret, std::int64_t now) const {
    const auto* u = user(user_id);
    const auto* t = token(user_id, name);
    if (!u || !t || !u->enabled) return std::nullopt;
    if (t->expire != 0 && t->expire <= now) return std::nullopt;
    if (!equal_constant_time(t->secret, secret)) return std::nullopt;
    return Identity{std::string(user_id), std::string(name)};
}

bool AccessControl::verify_password(std::string_view user_id, std::string_view password) const {
    const auto* u = user(user_id);
    return u && u->enabled && !u->password.empty() && equal_constant_time(u->password, password);
}

std::map<std::string, bool> AccessControl::roles_for(std::string_view subject, const std::vector<std::string>& groups,
                                                     std::string_view path) const {
    std::set<std::string> paths;
    for (const auto& entry : acl_) paths.insert(entry.path);
    std::map<std::string, bool> roles;
    for (const auto& p : paths) {  // sorted: "/" before "/vms" before "/vms/101"
        if (!path_applies(p, path)) continue;
        bool final = p == path;
        std::map<std::string, bool> own;
        std::map<std::string, bool> from_groups;
        for (const auto& entry : acl_) {
            if (entry.path != p || !(final || entry.propagate)) continue;
            if (entry.subject == subject) {
                for (const auto& role : entry.roles) own[role] = entry.propagate;
            } else if (!entry.subject.empty() && entry.subject.front() == '@' &&
                       std::find(groups.begin(), groups.end(), entry.subject.substr(1)) != groups.end()) {
                for (const auto& role : entry.roles) from_groups[role] = entry.propagate;
            }
        }
        if (!own.empty()) {
            roles = std::move(own);
        } else if (!from_groups.empty()) {
            roles = std::move(from_groups);
        }
    }
    if (roles.count("NoAccess")) return {};
    return roles;
}

std::map<std::string, bool> AccessControl::expand(const std::map<std::string, bool>& roles) const {
    std::map<std::string, bool> privileges;
    for (const auto& [role, propagate] : roles) {
        auto it = roles_.find(role);
        if (it == roles_.end()) continue;
        for (const auto& privilege : it->second) privileges[privilege] = privileges[privilege] || propagate;
    }
    return privileges;
}

std::map<std::string, bool> AccessControl::permissions(const Identity& who, std::string_view path) const {
    const auto* u = user(who.user);
    if (!u || !u->enabled) return {};
    std::map<std::string, bool> user_privileges;
    if (who.user == "root@pam") {
        for (const auto& p : all_privileges()) user_privileges[p] = true;
    } else {
        user_privileges = expand(roles_for(who.user, u->groups, path));
    }
    if (!who.is_token()) return user_privileges;
    const auto* t = token(who.user, who.token);
    if (!t) return {};
    if (!t->privsep) return user_privileges;
    auto token_privileges = expand(roles_for(who.authid(), {}, path));
    std::map<std::string, bool> both;
    for (const auto& [privilege, propagate] : token_privileges) {
        auto it = user_privileges.find(privilege);
        if (it != user_privileges.end()) both[privilege] = propagate && it->second;
    }
    return both;
}

PrivilegeSet AccessControl::privileges(const Identity& who, std::string_view path) const {
    PrivilegeSet out;
    for (const auto& [privilege, _] : permissions(who, path)) out.insert(privilege);
    return out;
}

bool AccessControl::allowed(const Identity& who, std::string_view path, std::string_view privilege) const {
    return permissions(who, path).count(std::string(privilege)) > 0;
}

std::vector<std::string> AccessControl::acl_paths() const {
    std::set<std::string> paths{"/"};
    for (const auto& entry : acl_) paths.insert(entry.path);
    return {paths.begin(), paths.end()};
}

std::string TicketSigner::sign(std::string_view data) const {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), digest, &length);
    return base64(digest, length, false);
}

std::string TicketSigner::make_ticket(std::string_view user, std::int64_t now) const {
    auto plain = fmt::format("PVE:{}:{:08X}", user, static_cast<std::uint32_t>(now));
    return fmt::format("{}::{}", plain, sign(plain));
}

std::optional<std::string> TicketSigner::verify_ticket(std::string_view ticket, std::int64_t now) const {
    auto sep = ticket.find("::");
    if (sep == std::string_view::npos) return std::nullopt;
    auto plain = ticket.substr(0, sep);
    auto signature = ticket.substr(sep + 2);
    if (!equal_constant_time(sign(plain), signature)) return std::nullopt;
    auto parts = split(plain, ':');
    if (parts.size() != 3 || parts[0] != "PVE") return std::nullopt;
    auto issued = parse_hex_time(parts[2]);
    if (!issued || !fresh(*issued, now)) return std::nullopt;
    return parts[1];
}

std::string TicketSigner::make_csrf(std::string_view user, std::int64_t now) const {
    auto stamp = fmt::format("{:08X}", static_cast<std::uint32_t>(now));
    return fmt::format("{}:{}", stamp, sign(fmt::format("{}:{}", stamp, user)));
}

bool TicketSigner::verify_csrf(std::string_view token, std::string_view user, std::int64_t now) const {
    auto colon = token.find(':');
    if (colon == std::string_view::npos) return false;
    auto stamp = token.substr(0, colon);
    auto issued = parse_hex_time(stamp);
    if (!issued || !fresh(*issued, now)) return false;
    return equal_constant_time(sign(fmt::format("{}:{}", stamp, user)), token.substr(colon + 1));
}

}  // namespace pvesim
