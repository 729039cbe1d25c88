"""One-shot clients for the data-plane tests; prints one JSON object, exits 0 even on errors.

  netclient.py http METHOD URL [--http10] [--header K:V]...   -> {status, headers, body} | {error}
  netclient.py tcp HOST PORT DATA                              -> {received} | {error}
  netclient.py banner HOST PORT                                -> {banner} | {error}
  netclient.py upgrade URL DATA                                -> {status, echoed} | {error}
  netclient.py h2c URL                                         -> {status, body} | {error}
"""
import json
import socket
import sys
import urllib.parse

TIMEOUT = 15


def recv_all(sock):
    chunks = []
    while True:
        data = sock.recv(65536)
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def recv_response(sock, method):
    """Reads one response: up to Content-Length, the last chunk, or the close. (Waiting for the
    close when the length is known would wait on the server's delayed-close timer.)"""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    fields = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        k, _, v = line.partition(":")
        fields[k.strip().lower()] = v.strip()
    status = int(head.split()[1])
    if method == "HEAD" or status in (204, 304):
        return data
    if "content-length" in fields:
        want = int(fields["content-length"])
        while len(body) < want:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body
    if "chunked" in fields.get("transfer-encoding", ""):
        while not body.endswith(b"0\r\n\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body
    return data + recv_all(sock)


def http(method, url, rest):
    version = "HTTP/1.1"
    headers = []
    i = 0
    while i < len(rest):
        if rest[i] == "--http10":
            version = "HTTP/1.0"
            i += 1
        elif rest[i] == "--header":
            k, v = rest[i + 1].split(":", 1)
            headers.append((k.strip(), v.strip()))
            i += 2
        else:
            raise SystemExit(f"unknown option {rest[i]}")
    u = urllib.parse.urlsplit(url)
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    lines = [f"{method} {path} {version}"]
    if version == "HTTP/1.1":
        lines.append(f"Host: {u.netloc}")
    lines.append("Connection: close")
    if method in ("POST", "PUT"):
        lines.append("Content-Length: 0")
    lines += [f"{k}: {v}" for k, v in headers]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode()
    with socket.create_connection((u.hostname, u.port or 80), timeout=TIMEOUT) as s:
        s.sendall(raw)
        data = recv_response(s, method)
    head, _, body = data.partition(b"\r\n\r\n")
    head_lines = head.decode("latin-1").split("\r\n")
    if not head_lines or not head_lines[0].startswith("HTTP/"):
        return {"error": f"not an HTTP response: {data[:200]!r}"}
    status = int(head_lines[0].split()[1])
    hdrs = []
    for line in head_lines[1:]:
        k, _, v = line.partition(":")
        hdrs.append([k.strip().lower(), v.strip()])
    if any(k == "transfer-encoding" and "chunked" in v for k, v in hdrs):
        body = dechunk(body)
    return {"status": status, "headers": hdrs, "body": body.decode("utf-8", "replace")}


def dechunk(body):
    out = b""
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += body[:size]
        body = body[size + 2:]
    return out


def tcp(host, port, data):
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as s:
        s.sendall(data.encode())
        got = b""
        while len(got) < len(data):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    return {"received": got.decode("utf-8", "replace")}


def banner(host, port):
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as s:
        got = b""
        while b"\n" not in got:
            chunk = s.recv(1024)
            if not chunk:
                break
            got += chunk
    return {"banner": got.decode("utf-8", "replace")}


def h2c(url):
    """One GET over HTTP/2 with prior knowledge: {status, body}; status 200 is the only one the
    test server sends (HPACK static index 8), anything else is reported raw."""
    u = urllib.parse.urlsplit(url)
    path = (u.path or "/").encode()
    authority = u.netloc.encode()

    def frame(kind, flags, stream, payload=b""):
        return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload

    # :method GET (2), :scheme http (6), :path and :authority as literals with indexed names.
    block = b"\x82\x86" + b"\x04" + bytes([len(path)]) + path + b"\x01" + bytes([len(authority)]) + authority
    with socket.create_connection((u.hostname, u.port or 80), timeout=TIMEOUT) as s:
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(0x4, 0, 0) + frame(0x1, 0x5, 1, block))
        rfile = s.makefile("rb")
        status, body = None, b""
        while True:
            head = rfile.read(9)
            if len(head) < 9:
                return {"error": "connection closed before the response ended", "status": status}
            length = int.from_bytes(head[:3], "big")
            kind, flags = head[3], head[4]
            stream = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
            payload = rfile.read(length)
            if kind == 0x4 and not flags & 0x1:
                s.sendall(frame(0x4, 0x1, 0))
            elif kind == 0x7:
                return {"error": "GOAWAY", "status": status}
            elif stream == 1 and kind == 0x1:
                status = 200 if payload[:1] == b"\x88" else payload.hex()
            elif stream == 1 and kind == 0x0:
                body += payload
            if stream == 1 and kind in (0x0, 0x1) and flags & 0x1:
                return {"status": status, "body": body.decode("utf-8", "replace")}


def upgrade(url, data):
    """A WebSocket-style upgrade, then `data` echoed over the upgraded connection."""
    u = urllib.parse.urlsplit(url)
    request = (
        f"GET {u.path or '/'} HTTP/1.1\r\nHost: {u.netloc}\r\nConnection: Upgrade\r\n"
        "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    ).encode()
    with socket.create_connection((u.hostname, u.port or 80), timeout=TIMEOUT) as s:
        s.sendall(request)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(1)
            if not chunk:
                return {"error": f"closed during the handshake: {head!r}"}
            head += chunk
        status = int(head.split()[1])
        if status != 101:
            return {"status": status}
        s.sendall(data.encode())
        got = b""
        while len(got) < len(data):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    return {"status": status, "echoed": got.decode("utf-8", "replace")}


def main(argv):
    try:
        if argv[0] == "http":
            result = http(argv[1], argv[2], argv[3:])
        elif argv[0] == "tcp":
            result = tcp(argv[1], argv[2], argv[3])
        elif argv[0] == "upgrade":
            result = upgrade(argv[1], argv[2])
        elif argv[0] == "h2c":
            result = h2c(argv[1])
        elif argv[0] == "banner":
            result = banner(argv[1], argv[2])
        else:
            raise SystemExit(f"unknown mode {argv[0]}")
    except OSError as e:
        result = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
