"""A minimal DNS client (UDP, one question) for the lab's readiness polls.
Real checks use kdig; this only answers "does that server serve that name yet"."""
import ipaddress
import os
import socket
import struct

TYPES = {"A": 1, "NS": 2, "SOA": 6, "TXT": 16, "AAAA": 28, "DS": 43, "RRSIG": 46, "DNSKEY": 48}
TYPE_NAMES = {v: k for k, v in TYPES.items()}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def _read_name(packet, offset):
    labels = []
    jumped = False
    end = offset
    for _ in range(128):
        length = packet[offset]
        if length & 0xC0 == 0xC0:
            if not jumped:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | packet[offset + 1]
            jumped = True
            continue
        if length == 0:
            if not jumped:
                end = offset + 1
            return ".".join(labels) + ".", end
        labels.append(packet[offset + 1: offset + 1 + length].decode(errors="replace"))
        offset += 1 + length
    raise ValueError("name loop")


class Answer:
    def __init__(self, rcode, aa, sections):
        self.rcode = rcode
        self.aa = aa
        self.sections = sections      # {"answer"|"authority"|"additional": [(name, type, rdata bytes)]}

    def types(self, section="answer"):
        return {TYPE_NAMES.get(t, str(t)) for _n, t, _r in self.sections[section]}

    def records(self, rtype, section="answer"):
        return [(n, r) for n, t, r in self.sections[section] if t == TYPES[rtype]]


def query(server, name, rtype, timeout=0.5, dnssec=False):
    """Sends one query; returns an Answer, or None on timeout or a malformed reply."""
    qid = int.from_bytes(os.urandom(2), "big")
    header = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 1 if dnssec else 0)
    question = encode_name(name) + struct.pack("!HH", TYPES[rtype], 1)
    opt = b""
    if dnssec:
        opt = b"\0" + struct.pack("!HHIH", 41, 1232, 0x8000, 0)
    family = socket.AF_INET6 if ipaddress.ip_address(server).version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(header + question + opt, (str(server), 53))
            packet, _ = sock.recvfrom(65535)
        except OSError:
            return None
    try:
        rid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", packet[:12])
        if rid != qid:
            return None
        offset = 12
        for _ in range(qd):
            _, offset = _read_name(packet, offset)
            offset += 4
        sections = {}
        for section, count in (("answer", an), ("authority", ns), ("additional", ar)):
            records = []
            for _ in range(count):
                owner, offset = _read_name(packet, offset)
                rtype, _klass, _ttl, length = struct.unpack("!HHIH", packet[offset: offset + 10])
                offset += 10
                records.append((owner.lower(), rtype, packet[offset: offset + length]))
                offset += length
            sections[section] = records
        return Answer(flags & 0xF, bool(flags & 0x0400), sections)
    except (struct.error, IndexError, ValueError):
        return None
