"""Load generator and a minimal HTTP app for bench/dataplane.py (stdlib only).

  dataplane_load.py serve PORT...
      HTTP/1.1 keep-alive server answering every request with a 2-byte body.
  dataplane_load.py load URL --rate R|--max --connections C --duration S [--warmup S]
      Prints one JSON object: {"requests", "errors", "seconds", "rps", "p50_ms", "p90_ms", "p99_ms"}.
      --rate: open loop, requests scheduled at fixed intervals; latency is measured from the
      scheduled time, so a stalled connection shows up in the tail (no coordinated omission).
      --max: closed loop, each connection sends its next request when the previous answered.
"""
import asyncio
import json
import sys
import time
import urllib.parse

RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"


async def serve(ports):
    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                writer.write(RESPONSE)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    servers = [await asyncio.start_server(handle, "0.0.0.0", p, backlog=1024) for p in ports]
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return head[9:12]


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


async def load(url, rate, connections, duration, warmup):
    u = urllib.parse.urlsplit(url)
    request = (
        f"GET {u.path or '/'} HTTP/1.1\r\nHost: {u.netloc}\r\nUser-Agent: meshctl-bench\r\n\r\n"
    ).encode()
    latencies = []
    errors = 0
    start = time.perf_counter() + 0.2
    measure_from = start + warmup
    end = measure_from + duration
    counter = {"next": 0}

    async def worker():
        nonlocal errors
        reader, writer = await asyncio.open_connection(u.hostname, u.port or 80)
        try:
            while True:
                if rate:
                    i = counter["next"]
                    counter["next"] += 1
                    scheduled = start + i / rate
                    if scheduled >= end:
                        return
                    delay = scheduled - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                else:
                    scheduled = time.perf_counter()
                    if scheduled >= end:
                        return
                writer.write(request)
                status = await read_response(reader)
                done = time.perf_counter()
                if scheduled >= measure_from:
                    if status == b"200":
                        latencies.append(done - scheduled)
                    else:
                        errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    latencies.sort()
    ms = lambda v: None if v is None else round(v * 1000, 3)
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": duration,
        "rps": round(len(latencies) / duration, 1),
        "p50_ms": ms(percentile(latencies, 50)),
        "p90_ms": ms(percentile(latencies, 90)),
        "p99_ms": ms(percentile(latencies, 99)),
    }


def main(argv):
    if argv[0] == "serve":
        asyncio.run(serve([int(p) for p in argv[1:]]))
        return
    if argv[0] != "load":
        raise SystemExit(__doc__)
    url = argv[1]
    opts = {"--rate": None, "--connections": "8", "--duration": "10", "--warmup": "1"}
    rest = argv[2:]
    i = 0
    while i < len(rest):
        if rest[i] == "--max":
            opts["--rate"] = None
            i += 1
        else:
            opts[rest[i]] = rest[i + 1]
            i += 2
    rate = float(opts["--rate"]) if opts["--rate"] else None
    result = asyncio.run(
        load(url, rate, int(opts["--connections"]), float(opts["--duration"]), float(opts["--warmup"]))
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
