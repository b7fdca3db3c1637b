#!/usr/bin/env python3
"""A tiny HTTPS server that answers a few Proxmox API paths the way PVE does,
for the CpprestProxmoxApi integration tests (TLS trust, auth header, wire form,
connection failures). It binds 127.0.0.1 on a free port and writes the port to
the ready file once listening.

Paths:
  GET  /api2/json/nodes                         -> one node
  GET  /api2/json/cluster/resources             -> never answers (read timeout)
  GET  /api2/json/nodes/pve2/qemu/101/config    -> 595 No route to host
  GET  /api2/json/nodes/pve1/tasks/<UPID>/status -> stopped OK, only if the UPID came raw
  PUT  /api2/json/nodes/pve1/qemu/101/config    -> null; the request is written to <record>
  POST /api2/json/nodes/pve1/qemu/101/status/start -> the connection is reset, no answer;
                                                    each one is counted in <record>.starts
Hostile answers to GET /api2/json/nodes/pve1/qemu/<vmid>/config:
  301, 302, 307 -> that redirect, to /api2/json/redirected on this server (a
                   request there, with the header it carried, is logged in <record>.redirected)
  410 -> a chunked JSON body of 20 bytes, one byte per chunk every 0.4 s
  411 -> headers sent one byte every 0.4 s
  412 -> a chunked body that never ends (64 KiB chunks, as fast as read)
  413 -> a body of 64 MiB with Content-Length
  414 -> one chunk announced as 2 GiB, its bytes sent as fast as read
  415 -> header lines that never end
  416 -> {"data":{"a":[[[…]]]}} nested 300000 levels deep
"""
import argparse
import json
import os
import socket
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UPID = "UPID:pve1:00076C9F:0106C652:646A9B55:qmclone:9000:dnsctl@pve!ctl:"


def make_handler(expected_auth, record_path):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet; never log headers
            pass

        def reply(self, status, reason, payload):
            body = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status, reason)
            if payload is not None:
                self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def read_body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length).decode() if length else ""

        def raw(self, data):
            self.wfile.write(data)
            self.wfile.flush()

        def hostile(self, vmid):
            """Answers that a cluster's API never gives; True when one was sent."""
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            try:
                if vmid in (301, 302, 307):
                    target = "https://127.0.0.1:%d/api2/json/redirected" % self.server.server_address[1]
                    self.send_response(vmid)
                    self.send_header("Location", target)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif vmid == 410:
                    self.raw(head + b"Transfer-Encoding: chunked\r\n\r\n")
                    for byte in b'{"data":{"a":"123"}}':
                        time.sleep(0.4)
                        self.raw(b"1\r\n" + bytes([byte]) + b"\r\n")
                    self.raw(b"0\r\n\r\n")
                elif vmid == 411:
                    for byte in head:
                        time.sleep(0.4)
                        self.raw(bytes([byte]))
                elif vmid == 412:
                    self.raw(head + b"Transfer-Encoding: chunked\r\n\r\n")
                    chunk = b"%x\r\n" % 65536 + b" " * 65536 + b"\r\n"
                    while True:
                        self.raw(chunk)
                elif vmid == 413:
                    size = 64 << 20
                    self.raw(head + b"Content-Length: %d\r\n\r\n" % size)
                    block = b" " * 65536
                    for _ in range(size // len(block)):
                        self.raw(block)
                elif vmid == 414:
                    self.raw(head + b"Transfer-Encoding: chunked\r\n\r\n7fffffff\r\n")
                    block = b" " * 65536
                    while True:
                        self.raw(block)
                elif vmid == 415:
                    self.raw(head)
                    line = b"X-Filler: " + b"x" * 1000 + b"\r\n"
                    while True:
                        self.raw(line * 64)
                elif vmid == 416:
                    depth = 300000
                    body = b'{"data":{"a":' + b"[" * depth + b"]" * depth + b"}}"
                    self.raw(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
                else:
                    return False
            except OSError:
                pass  # the client gave up: that is the point
            self.close_connection = True
            return True

        def authorised(self):
            if self.headers.get("Authorization") == expected_auth:
                return True
            self.reply(401, "Authentication failed!", None)
            return False

        def do_GET(self):
            if not self.authorised():
                return
            if self.path == "/api2/json/nodes":
                self.reply(200, "OK", {"data": [{"node": "pve1", "status": "online"}]})
            elif self.path.startswith("/api2/json/cluster/resources"):
                time.sleep(60)
            elif self.path == "/api2/json/nodes/pve2/qemu/101/config":
                self.reply(595, "No route to host", None)
            elif self.path == "/api2/json/redirected":
                with open(record_path + ".redirected", "a") as f:
                    f.write("GET /api2/json/redirected with Authorization: %s\n" % self.headers.get("Authorization"))
                self.reply(200, "OK", {"data": {"redirected": "1"}})
            elif self.path.startswith("/api2/json/nodes/pve1/qemu/") and self.path.endswith("/config") and \
                    self.hostile(int(self.path.split("/")[6])):
                pass
            elif self.path == "/api2/json/nodes/pve1/tasks/" + UPID + "/status":
                self.reply(200, "OK", {"data": {"upid": UPID, "status": "stopped", "exitstatus": "OK"}})
            else:
                self.reply(501, "Method 'GET %s' not implemented" % self.path, {"data": None})

        def do_PUT(self):
            if not self.authorised():
                return
            body = self.read_body()
            if self.path == "/api2/json/nodes/pve1/qemu/101/config":
                record = {"content_type": self.headers.get("Content-Type"), "body": body}
                with open(record_path + ".tmp", "w") as f:
                    json.dump(record, f)
                os.rename(record_path + ".tmp", record_path)
                self.reply(200, "OK", {"data": None})
            else:
                self.reply(501, "Method 'PUT %s' not implemented" % self.path, {"data": None})

        def do_POST(self):
            if not self.authorised():
                return
            self.read_body()
            if self.path == "/api2/json/nodes/pve1/qemu/101/status/start":
                with open(record_path + ".starts", "a") as f:
                    f.write("start\n")
                # The request arrived; no answer leaves: the connection is
                # reset (RST, as a crashing proxy would).
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                return
            self.reply(501, "Method 'POST %s' not implemented" % self.path, {"data": None})

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--auth", required=True, help="the exact Authorization header to accept")
    parser.add_argument("--alternate-cert", nargs=2, metavar=("CERT", "KEY"),
                        help="present this certificate on every second connection")
    args = parser.parse_args()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    if args.alternate_cert:
        other = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        other.load_cert_chain(*args.alternate_cert)
        handshakes = [0]
        lock = threading.Lock()

        def alternate(sock, _name, _context):
            with lock:
                handshakes[0] += 1
                if handshakes[0] % 2 == 0:
                    sock.context = other

        context.sni_callback = alternate
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(args.auth, args.record))
    server.daemon_threads = True
    # Handshakes happen in the handler threads, so a client that refuses the
    # certificate never blocks the accept loop.
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    with open(args.ready_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(args.ready_file + ".tmp", args.ready_file)
    threading.current_thread().name = "tls-test-server"
    server.serve_forever()


if __name__ == "__main__":
    main()
