"""One-shot clients for the data-plane tests; prints one JSON object, exits 0 even on errors.

  netclient.py http METHOD URL [--http10] [--header K:V]...   -> {status, headers, body} | {error}
  netclient.py tcp HOST PORT DATA                              -> {received} | {error}
  netclient.py banner HOST PORT                                -> {banner} | {error}
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


def main(argv):
    try:
        if argv[0] == "http":
            result = http(argv[1], argv[2], argv[3:])
        elif argv[0] == "tcp":
            result = tcp(argv[1], argv[2], argv[3])
        elif argv[0] == "banner":
            result = banner(argv[1], argv[2])
        else:
            raise SystemExit(f"unknown mode {argv[0]}")
    except OSError as e:
        result = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
