"""The test "app" for the data-plane tests: HTTP, TCP echo and server-first (banner) servers.

Usage: app.py [--http PORT]... [--http6 PORT]... [--echo PORT]... [--banner PORT]... [--h2c PORT]...
HTTP paths: /echo (JSON with what arrived, including the peer address), /slow?ms=N, /ws (WebSocket upgrade, then a raw echo),
/flaky/KEY?fail=N
(503 for the first N requests per KEY, then 200), anything else 200 "ok".
"""
import http.server
import json
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

FLAKY = {}
FLAKY_LOCK = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "meshctl-test-app"

    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("content-length") or 0)
        body_in = self.rfile.read(length) if length else b""
        url = urllib.parse.urlsplit(self.path)
        status = 200
        if url.path == "/echo":
            body = json.dumps({
                "method": self.command,
                "path": self.path,
                "version": self.request_version,
                "peer": self.client_address[0],
                "local_port": self.server.server_address[1],
                "headers": [[k.lower(), v] for k, v in self.headers.items()],
                "body": body_in.decode("utf-8", "replace"),
            }).encode()
        elif url.path == "/ws" and self.headers.get("upgrade", "").lower() == "websocket":
            # Switch protocols, then echo raw bytes until the client closes.
            self.wfile.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
            )
            self.wfile.flush()
            while True:
                data = self.connection.recv(65536)
                if not data:
                    break
                self.connection.sendall(data)
            self.close_connection = True
            return
        elif url.path == "/slow":
            ms = int(urllib.parse.parse_qs(url.query).get("ms", ["1000"])[0])
            time.sleep(ms / 1000)
            body = b"slow ok\n"
        elif url.path.startswith("/flaky/"):
            fail = int(urllib.parse.parse_qs(url.query).get("fail", ["1"])[0])
            with FLAKY_LOCK:
                seen = FLAKY.get(url.path, 0)
                FLAKY[url.path] = seen + 1
            status = 503 if seen < fail else 200
            body = json.dumps({"attempt": seen + 1}).encode()
        else:
            body = b"ok\n"
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.send_header("x-app", "yes")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any


class HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class HTTPServer6(HTTPServer):
    address_family = socket.AF_INET6

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()


class TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            self.request.sendall(data)


class Banner(Echo):
    def handle(self):
        self.request.sendall(b"220 meshctl-test ESMTP ready\r\n")
        super().handle()


H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def h2_frame(kind, flags, stream, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def h2_read_frame(rfile):
    head = rfile.read(9)
    if len(head) < 9:
        return None
    length = int.from_bytes(head[:3], "big")
    stream = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
    return head[3], head[4], stream, rfile.read(length)


class H2c(socketserver.StreamRequestHandler):
    """Just enough HTTP/2 with prior knowledge (h2c): every request gets 200 "h2c ok". An
    HTTP/1.x client (or proxy) gets the connection closed, so a 200 proves h2c end to end."""

    def handle(self):
        if self.rfile.read(len(H2_PREFACE)) != H2_PREFACE:
            return
        out = self.wfile
        out.write(h2_frame(0x4, 0, 0))
        while True:
            frame = h2_read_frame(self.rfile)
            if frame is None:
                return
            kind, flags, stream, payload = frame
            if kind == 0x4 and not flags & 0x1:
                out.write(h2_frame(0x4, 0x1, 0))
            elif kind == 0x6 and not flags & 0x1:
                out.write(h2_frame(0x6, 0x1, 0, payload))
            elif kind == 0x7:
                return
            elif (kind in (0x0, 0x1)) and flags & 0x1:
                # End of a request: ":status: 200" (static table index 8), then the body.
                out.write(h2_frame(0x1, 0x4, stream, b"\x88"))
                out.write(h2_frame(0x0, 0x1, stream, b"h2c ok"))
            out.flush()


def main(argv):
    servers = []
    i = 0
    while i < len(argv):
        kind, port = argv[i], int(argv[i + 1])
        i += 2
        if kind == "--http":
            servers.append(HTTPServer(("0.0.0.0", port), Handler))
        elif kind == "--http6":
            servers.append(HTTPServer6(("::", port), Handler))
        elif kind == "--echo":
            servers.append(TCPServer(("0.0.0.0", port), Echo))
        elif kind == "--h2c":
            servers.append(TCPServer(("0.0.0.0", port), H2c))
        elif kind == "--banner":
            servers.append(TCPServer(("0.0.0.0", port), Banner))
        else:
            sys.exit(f"unknown option {kind}")
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    print("ready", flush=True)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main(sys.argv[1:])
