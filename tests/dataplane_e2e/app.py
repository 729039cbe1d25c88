"""The test "app" for the data-plane tests: HTTP, TCP echo and server-first (banner) servers.

Usage: app.py [--http PORT]... [--http6 PORT]... [--echo PORT]... [--banner PORT]...
HTTP paths: /echo (JSON with what arrived, including the peer address), /flaky/KEY?fail=N
(503 for the first N requests per KEY, then 200), anything else 200 "ok".
"""
import http.server
import json
import socket
import socketserver
import sys
import threading
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
