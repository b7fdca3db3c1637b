// The libpsl adapter: registrable domains from the Public Suffix List compiled
// into libpsl (the same answer on every machine with the same libpsl).
#pragma once

#include <optional>
#include <string>

#include "core/types.hpp"

namespace dnsctl {

// "ns-ipset.rdem-systems.eu" -> "rdem-systems.eu"; "a.b.co.uk" -> "b.co.uk".
// A suffix the list does not know counts as one label (the list's `*` rule),
// so "ns.example.lab" -> "example.lab". Nothing when the name is itself a
// public suffix ("co.uk").
std::optional<std::string> registrable_domain(const DnsName& name);

}  // namespace dnsctl
