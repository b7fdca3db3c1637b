#include <catch2/catch.hpp>

#include "access.hpp"

using namespace pvesim;

namespace {

AccessControl make_access() {
    AccessControl access;
    access.add_user(User{"alice@pve", "secret", true, {"ops"}});
    access.add_user(User{"root@pam", "rootpw", true, {}});
    access.add_token(Token{"alice@pve", "ci", "tok", true, 0});
    access.add_token(Token{"alice@pve", "full", "tok2", false, 0});
    access.add_token(Token{"alice@pve", "old", "tok3", true, 1000});
    return access;
}

}  // namespace

TEST_CASE("access: the most specific ACL path wins") {
    auto access = make_access();
    access.add_acl({"/", "alice@pve", {"PVEAuditor"}, true});
    access.add_acl({"/vms/101", "alice@pve", {"PVEVMAdmin"}, true});
    Identity alice{"alice@pve", ""};
    CHECK(access.allowed(alice, "/vms/101", "VM.PowerMgmt"));
    CHECK_FALSE(access.allowed(alice, "/vms/101", "Sys.Audit"));  // replaced, not added
    CHECK(access.allowed(alice, "/vms/102", "VM.Audit"));
    CHECK_FALSE(access.allowed(alice, "/vms/102", "VM.PowerMgmt"));
}

TEST_CASE("access: propagate=0 applies to the exact path only") {
    auto access = make_access();
    access.add_acl({"/vms", "alice@pve", {"PVEVMAdmin"}, false});
    Identity alice{"alice@pve", ""};
    CHECK(access.allowed(alice, "/vms", "VM.Audit"));
    CHECK_FALSE(access.allowed(alice, "/vms/101", "VM.Audit"));
}

TEST_CASE("access: NoAccess and groups") {
    auto access = make_access();
    access.add_acl({"/", "@ops", {"PVEVMAdmin"}, true});
    access.add_acl({"/vms/666", "alice@pve", {"NoAccess"}, true});
    Identity alice{"alice@pve", ""};
    CHECK(access.allowed(alice, "/vms/1", "VM.Allocate"));
    CHECK_FALSE(access.allowed(alice, "/vms/666", "VM.Audit"));
}

TEST_CASE("access: a privilege-separated token gets the intersection") {
    auto access = make_access();
    access.add_acl({"/", "alice@pve", {"PVEAuditor"}, true});
    access.add_acl({"/", "alice@pve!ci", {"PVEVMAdmin"}, true});
    Identity token{"alice@pve", "ci"};
    CHECK(access.allowed(token, "/vms/101", "VM.Audit"));          // both have it
    CHECK_FALSE(access.allowed(token, "/vms/101", "VM.PowerMgmt"));  // user lacks it
    CHECK_FALSE(access.allowed(token, "/", "Sys.Audit"));           // token lacks it
    Identity full{"alice@pve", "full"};                             // privsep=0: the user's rights
    CHECK(access.allowed(full, "/", "Sys.Audit"));
    Identity fresh{"alice@pve", "unknown"};
    CHECK(access.permissions(fresh, "/").empty());
}

TEST_CASE("access: a fresh privsep token has no rights") {
    auto access = make_access();
    access.add_acl({"/", "alice@pve", {"Administrator"}, true});
    CHECK(access.permissions(Identity{"alice@pve", "ci"}, "/vms/1").empty());
}

TEST_CASE("access: root@pam can do anything") {
    auto access = make_access();
    CHECK(access.allowed(Identity{"root@pam", ""}, "/vms/1", "VM.Allocate"));
}

TEST_CASE("access: token and password verification") {
    auto access = make_access();
    CHECK(access.verify_token("alice@pve", "ci", "tok", 2000));
    CHECK_FALSE(access.verify_token("alice@pve", "ci", "wrong", 2000));
    CHECK_FALSE(access.verify_token("alice@pve", "old", "tok3", 2000));  // expired
    CHECK(access.verify_password("alice@pve", "secret"));
    CHECK_FALSE(access.verify_password("alice@pve", "nope"));
}

TEST_CASE("tickets: signed, bound to the user, valid for two hours") {
    TicketSigner signer("key");
    auto ticket = signer.make_ticket("alice@pve", 1'000'000);
    CHECK(ticket.rfind("PVE:alice@pve:000F4240::", 0) == 0);
    CHECK(signer.verify_ticket(ticket, 1'000'000) == std::optional<std::string>("alice@pve"));
    CHECK(signer.verify_ticket(ticket, 1'000'000 + 7199));
    CHECK_FALSE(signer.verify_ticket(ticket, 1'000'000 + 7200));
    auto forged = ticket;
    forged.replace(4, 5, "bobby");
    CHECK_FALSE(signer.verify_ticket(forged, 1'000'000));
    CHECK_FALSE(TicketSigner("other").verify_ticket(ticket, 1'000'000));
    auto csrf = signer.make_csrf("alice@pve", 1'000'000);
    CHECK(signer.verify_csrf(csrf, "alice@pve", 1'000'010));
    CHECK_FALSE(signer.verify_csrf(csrf, "bob@pve", 1'000'010));
}
