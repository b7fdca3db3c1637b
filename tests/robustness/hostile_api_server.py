#!/usr/bin/env python3
"""A hostile Proxmox VE API: HTTPS on 127.0.0.1 with a self-signed certificate
(pinned by the client, like a real PVE node's), answering every request in
one of the MODES below. For tests/robustness/hostile_api_test.py.

It listens on two ports: the API, and "elsewhere" (the same certificate), the
target of the redirect modes; every request that reaches elsewhere is logged,
Authorization header included, in RECORD (a client that follows a redirect
leaks its token there). The ready file gets {"port": …, "elsewhere": …}.

In the mode `fine` it answers like a small healthy cluster (node pve1, the
template 9000), so that the same harness shows what a good run looks like.
"""
import argparse
import json
import os
import socket
import ssl
import struct
import threading
import time

TEMPLATE_CONFIG = {
    "name": "tmpl-debian12", "template": 1, "ostype": "l26", "machine": "q35", "cpu": "x86-64-v2-AES",
    "cores": 2, "sockets": 1, "memory": 2048, "scsihw": "virtio-scsi-single",
    "scsi0": "local-lvm:base-9000-disk-0,discard=on,iothread=1,size=2G",
    "ide2": "local-lvm:vm-9000-cloudinit,media=cdrom", "boot": "order=scsi0", "agent": 1, "serial0": "socket",
    "vga": "serial0", "net0": "virtio=BC:24:11:90:00:01,bridge=vmbr0", "ipconfig0": "ip=dhcp",
    "digest": "4f0c1a527d6e4f0b9a381d2c3b4a5e6f00112233",
    "description": "Debian 12 (bookworm) generic cloud image, cloud-init and qemu-guest-agent",
}


def fine_answer(path):
    """(status, reason, payload) of a small healthy cluster."""
    if path == "/api2/json/nodes":
        return 200, "OK", {"data": [{"node": "pve1", "status": "online", "type": "node", "id": "node/pve1"}]}
    if path.startswith("/api2/json/cluster/resources"):
        return 200, "OK", {"data": [{"vmid": 9000, "type": "qemu", "node": "pve1", "status": "stopped",
                                     "name": "tmpl-debian12", "template": 1, "id": "qemu/9000"}]}
    if path == "/api2/json/nodes/pve1/qemu/9000/config":
        return 200, "OK", {"data": TEMPLATE_CONFIG}
    if path.startswith("/api2/json/nodes/pve1/qemu/") and path.endswith("/config"):
        vmid = path.split("/")[5]
        message = "Configuration file 'nodes/pve1/qemu-server/%s.conf' does not exist" % vmid
        return 500, message, {"data": None, "message": message + "\n"}
    return 501, "Method 'GET %s' not implemented" % path, {"data": None}


def wrong_shape(mode, path):
    """The body of a 200 whose shape is wrong in the way `mode` names."""
    listing = path.startswith("/api2/json/cluster/resources") or path == "/api2/json/nodes"
    if mode == "data-string":
        return {"data": "pve1"}
    if mode == "data-number":
        return {"data": 42}
    if mode == "data-null":
        return {"data": None}
    if mode == "data-array":  # a list where an object is expected, and lists of lists
        return {"data": [["pve1"]] if listing else [{"name": "x"}]}
    if mode == "data-object":  # an object where a list is expected
        return {"data": {"node": "pve1", "status": "online"}}
    if mode == "missing-fields":
        return {"data": [{"type": "qemu"}, {}] if listing else {}}
    if mode == "wrong-types":
        if path == "/api2/json/nodes":
            return {"data": [{"node": ["pve1"], "status": {"online": True}}]}
        return {"data": [{"type": "qemu", "vmid": "nine thousand", "node": {"name": "pve1"}, "template": [1]},
                         {"type": "qemu", "vmid": 1e300, "node": "pve1"}]}
    if mode == "no-envelope":
        return [{"node": "pve1", "status": "online"}]
    raise ValueError(mode)


SHAPE_MODES = ["data-string", "data-number", "data-null", "data-array", "data-object", "missing-fields",
               "wrong-types", "no-envelope"]
MODES = ["fine", "invalid-json", "html", "oversize", "endless-chunked", "giant-chunk", "header-flood",
         "trickle-body", "slow-headers", "deep-nesting", "redirect-301", "redirect-302", "redirect-307",
         "unauthorised", "forbidden", "reset", "garbage-status", "close-early"] + SHAPE_MODES


def read_request(conn):
    """The request line and headers (the body, if any, is ignored)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return None, {}
        data += chunk
        if len(data) > 65536:
            return None, {}
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return head[0], headers


def send_json(conn, status, reason, payload, extra=b""):
    body = json.dumps(payload).encode()
    conn.sendall(b"HTTP/1.1 %d %s\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: %d\r\n%s\r\n"
                 % (status, reason.encode(), len(body), extra) + body)


def answer(conn, mode, path, elsewhere_port):
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\n"
    if mode == "fine":
        send_json(conn, *fine_answer(path))
    elif mode == "invalid-json":
        body = b'{"data": [{"node": "pve1", "status": '
        conn.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    elif mode == "html":
        body = b"<html><body>502 Bad Gateway</body></html>"
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    elif mode in SHAPE_MODES:
        send_json(conn, 200, "OK", wrong_shape(mode, path))
    elif mode == "oversize":  # 1 GiB, announced
        size = 1 << 30
        conn.sendall(head + b"Content-Length: %d\r\n\r\n" % size)
        block = b" " * 65536
        for _ in range(size // len(block)):
            conn.sendall(block)
    elif mode == "endless-chunked":
        conn.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"10000\r\n" + b" " * 65536 + b"\r\n"
        while True:
            conn.sendall(chunk)
    elif mode == "giant-chunk":  # one chunk of 2 GiB
        conn.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n7fffffff\r\n")
        block = b" " * 65536
        while True:
            conn.sendall(block)
    elif mode == "header-flood":
        conn.sendall(head)
        lines = (b"X-Filler: " + b"x" * 1000 + b"\r\n") * 64
        while True:
            conn.sendall(lines)
    elif mode == "trickle-body":  # one byte every 2 s, each its own chunk
        conn.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
        while True:
            conn.sendall(b"1\r\n \r\n")
            time.sleep(2)
    elif mode == "slow-headers":  # one header byte every 2 s
        for byte in head * 1000:
            conn.sendall(bytes([byte]))
            time.sleep(2)
    elif mode == "deep-nesting":
        depth = 300000
        body = b'{"data":' + b"[" * depth + b"]" * depth + b"}"
        conn.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    elif mode.startswith("redirect-"):
        status = int(mode.split("-")[1])
        location = "https://127.0.0.1:%d%s" % (elsewhere_port, path)
        conn.sendall(b"HTTP/1.1 %d Moved\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n" % (status, location.encode()))
    elif mode == "unauthorised":
        conn.sendall(b"HTTP/1.1 401 authentication failure\r\nContent-Length: 0\r\n\r\n")
    elif mode == "forbidden":
        send_json(conn, 403, "Permission check failed (/, Sys.Audit)",
                  {"data": None, "message": "Permission check failed (/, Sys.Audit)\n"})
    elif mode == "reset":
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    elif mode == "garbage-status":
        conn.sendall(b"\x16\x03\x01garbage\x00\x1b[2J\r\n\r\n")
    elif mode == "close-early":  # headers promise more than comes
        conn.sendall(head + b"Content-Length: 1000\r\n\r\n{\"data\":")
    else:
        raise ValueError(mode)


def serve(listener, context, handler):
    while True:
        raw, _ = listener.accept()
        threading.Thread(target=handle_connection, args=(raw, context, handler), daemon=True).start()


def handle_connection(raw, context, handler):
    try:
        conn = context.wrap_socket(raw, server_side=True)
    except (OSError, ssl.SSLError):
        raw.close()
        return
    try:
        while True:
            line, headers = read_request(conn)
            if line is None:
                break
            if not handler(conn, line, headers):
                break
    except (OSError, ssl.SSLError):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", required=True, choices=MODES)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--record", required=True, help="requests that reached elsewhere are appended here")
    args = parser.parse_args()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    api = socket.create_server(("127.0.0.1", 0))
    elsewhere = socket.create_server(("127.0.0.1", 0))
    elsewhere_port = elsewhere.getsockname()[1]
    record_lock = threading.Lock()

    def api_request(conn, line, headers):
        path = line.split(" ")[1] if line.count(" ") >= 2 else "/"
        answer(conn, args.mode, path, elsewhere_port)
        return args.mode in ("fine", "unauthorised", "forbidden") or args.mode in SHAPE_MODES

    def elsewhere_request(conn, line, headers):
        with record_lock, open(args.record, "a") as f:
            f.write("%s | Authorization: %s\n" % (line, headers.get("authorization", "(none)")))
        send_json(conn, *fine_answer(line.split(" ")[1]))
        return True

    threading.Thread(target=serve, args=(elsewhere, context, elsewhere_request), daemon=True).start()
    with open(args.ready_file + ".tmp", "w") as f:
        json.dump({"port": api.getsockname()[1], "elsewhere": elsewhere_port}, f)
    os.rename(args.ready_file + ".tmp", args.ready_file)
    serve(api, context, api_request)


if __name__ == "__main__":
    main()
