#!/usr/bin/env python3
"""Data-plane benchmark (not a test): what the sidecars cost, measured side by side in one run.

Builds two meshed "pods" (network namespaces joined by a veth pair): "client" (the load
generator) and "server" (an HTTP app listening on three ports). The skip lists route each port
differently, so the three scenarios run against the same processes and can be interleaved:

  direct          :8080  client -> app               (skipped by both pods' rules)
  server sidecar  :8081  client -> server Envoy (inbound) -> app   (client skips 8081 outbound)
  both sidecars   :8082  client -> client Envoy (outbound) -> server Envoy (inbound) -> app

Each scenario runs at a fixed rate (default 500 req/s) and at full speed, in several rounds
(scenarios interleaved, so machine noise hits them alike); the tables show the medians.

The sidecars are real: `meshctl proxy-init` writes the rules and the bootstrap, Envoy runs as uid
1337 with the command line `meshctl proxy-init --dry-run -o json` gives. Prints throughput,
p50/p90/p99 latency, Envoy CPU microseconds per request and Envoy memory, then the ratios.

Needs root, iproute2, iptables, setpriv, python3 and the Envoy binary (MESHCTL_ENVOY).
Usage: sudo bench/dataplane.py [--rounds 3] [--rate 500] [--duration 5] [--connections 8]
       [--max-connections 16] [--concurrency 2] [--variant baseline|no-tap|small-buffers|
       lean-stats|request-ids] [--meshctl target/debug/meshctl]
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LOAD = os.path.join(HERE, "dataplane_load.py")
CLIENT_IP, SERVER_IP = "10.88.0.1", "10.88.0.2"
PORTS = {"direct": 8080, "server sidecar": 8081, "both sidecars": 8082}
SCENARIOS = list(PORTS)
TAG = f"mcb{os.getpid() % 100000}"
NS = {"client": f"{TAG}-cli", "server": f"{TAG}-srv"}


def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def in_ns(ns, *args):
    return ["ip", "netns", "exec", ns, *args]


class Bench:
    def __init__(self, opts):
        self.opts = opts
        self.dir = tempfile.mkdtemp(prefix="meshctl-bench-")
        os.chmod(self.dir, 0o755)
        self.procs = {}

    def setup(self):
        sh("ip", "netns", "add", NS["client"])
        sh("ip", "netns", "add", NS["server"])
        sh("ip", "link", "add", f"{TAG}c", "type", "veth", "peer", "name", f"{TAG}s")
        for side, dev, addr in (("client", f"{TAG}c", CLIENT_IP), ("server", f"{TAG}s", SERVER_IP)):
            sh("ip", "link", "set", dev, "netns", NS[side])
            sh("ip", "-n", NS[side], "link", "set", "lo", "up")
            sh("ip", "-n", NS[side], "addr", "add", f"{addr}/24", "dev", dev)
            sh("ip", "-n", NS[side], "link", "set", dev, "up")
        app = subprocess.Popen(
            in_ns(NS["server"], sys.executable, LOAD, "serve", *map(str, PORTS.values())),
            stdout=subprocess.PIPE, text=True,
        )
        self.procs["app"] = app
        if app.stdout.readline().strip() != "ready":
            raise SystemExit("the app did not start")
        self.sidecar("server", ["--skip-inbound-ports", str(PORTS["direct"])])
        self.sidecar("client", ["--skip-outbound-ports",
                                f"{PORTS['direct']},{PORTS['server sidecar']}"])

    def sidecar(self, side, skips):
        """proxy-init + Envoy (uid 1337) in one namespace; returns the Envoy process."""
        ip = SERVER_IP if side == "server" else CLIENT_IP
        bootstrap = os.path.join(self.dir, f"{side}-envoy.yaml")
        env = dict(os.environ, POD_NAME=f"{side}-0", POD_NAMESPACE="bench", POD_IP=ip, POD_IPS=ip,
                   MESHCTL_WORKLOAD_KIND="Deployment", MESHCTL_WORKLOAD_NAME=side)
        common = ["--concurrency", str(self.opts.concurrency), "--bootstrap-out", bootstrap, *skips]
        plan = json.loads(sh(self.opts.meshctl, "proxy-init", "--dry-run", "-o", "json", *common,
                             env=env).stdout)
        sh(*in_ns(NS[side], self.opts.meshctl, "proxy-init", *common), env=env)
        args = plan["envoyArgs"]
        if self.opts.variant != "baseline":
            # A tuning experiment: Envoy runs an edited copy of the bootstrap (JSON).
            edited = os.path.join(self.dir, f"{side}-envoy-{self.opts.variant}.json")
            with open(edited, "w") as f:
                json.dump(VARIANTS[self.opts.variant](plan["bootstrap"]), f)
            os.chmod(edited, 0o644)
            args = [edited if a == bootstrap else a for a in args]
        log = open(os.path.join(self.dir, f"{side}-envoy.log"), "w")
        envoy = subprocess.Popen(
            in_ns(NS[side], "setpriv", "--reuid", "1337", "--regid", "1337", "--clear-groups",
                  self.opts.envoy, *args),
            stdout=log, stderr=log,
        )
        self.procs[f"{side}-envoy"] = envoy
        deadline = time.time() + 60
        while time.time() < deadline:
            probe = subprocess.run(
                in_ns(NS[side], sys.executable, "-c",
                      "import urllib.request;urllib.request.urlopen('http://127.0.0.1:15090/ready',timeout=1)"),
                capture_output=True)
            if probe.returncode == 0:
                return envoy
            if envoy.poll() is not None:
                raise SystemExit(f"envoy in {side} exited; see {log.name}")
            time.sleep(0.2)
        raise SystemExit(f"envoy in {side} never became ready")

    def run_load(self, scenario, rate):
        args = [sys.executable, LOAD, "load", f"http://{SERVER_IP}:{PORTS[scenario]}/",
                "--duration", str(self.opts.duration), "--warmup", "1"]
        if rate:
            args += ["--rate", str(rate), "--connections", str(self.opts.connections)]
        else:
            args += ["--max", "--connections", str(self.opts.max_connections)]
        envoys = [p for name, p in self.procs.items() if name.endswith("envoy")]
        cpu_before = sum(cpu_seconds(p.pid) for p in envoys)
        out = sh(*in_ns(NS["client"], *args)).stdout
        cpu_after = sum(cpu_seconds(p.pid) for p in envoys)
        result = json.loads(out)
        warm = 1 + 0.2
        total_requests = result["requests"] * (self.opts.duration + warm) / self.opts.duration
        result["envoy_cpu_us_per_req"] = (
            round((cpu_after - cpu_before) * 1e6 / total_requests, 1) if envoys and total_requests else None
        )
        if scenario == "direct":
            result["envoy_cpu_us_per_req"] = None  # the Envoys sat idle
        result["envoy_rss_mb"] = round(sum(rss_mb(p.pid) for p in envoys), 1)
        return result

    def cleanup(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        for ns in NS.values():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def http_managers(bootstrap):
    for listener in bootstrap["static_resources"]["listeners"]:
        for chain in listener.get("filter_chains", []):
            for f in chain["filters"]:
                if f["name"] == "envoy.filters.network.http_connection_manager":
                    yield f["typed_config"]


def without_tap(bootstrap):
    for hcm in http_managers(bootstrap):
        hcm["http_filters"] = [f for f in hcm["http_filters"] if f["name"] != "envoy.filters.http.tap"]
    return bootstrap


def small_buffers(bootstrap):
    for listener in bootstrap["static_resources"]["listeners"]:
        listener["per_connection_buffer_limit_bytes"] = 32768
    for cluster in bootstrap["static_resources"]["clusters"]:
        cluster["per_connection_buffer_limit_bytes"] = 32768
    return bootstrap


def lean_stats(bootstrap):
    # Keep only what meshctl stat reads: the HTTP managers' stats and the passthrough clusters'.
    bootstrap["stats_config"]["stats_matcher"] = {"inclusion_list": {"patterns": [
        {"prefix": "http.inbound."}, {"prefix": "http.outbound."},
        {"prefix": "cluster.PassthroughCluster."}, {"prefix": "cluster.InboundPassthroughCluster."},
        {"prefix": "server."}, {"prefix": "listener."}, {"prefix": "tcp."},
    ]}}
    return bootstrap


def request_ids(bootstrap):
    for hcm in http_managers(bootstrap):
        hcm["generate_request_id"] = True
    return bootstrap


VARIANTS = {
    "baseline": lambda b: b,
    "no-tap": without_tap,
    "small-buffers": small_buffers,
    "lean-stats": lean_stats,
    "request-ids": request_ids,
}


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def fmt(v, unit=""):
    return "-" if v is None else f"{v}{unit}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=int, default=500)
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--max-connections", type=int, default=16)
    ap.add_argument("--concurrency", type=int, default=2, help="Envoy worker threads")
    ap.add_argument("--variant", choices=sorted(VARIANTS), default="baseline",
                    help="tuning experiment: run Envoy with an edited bootstrap")
    ap.add_argument("--meshctl", default=os.path.join(HERE, "..", "target", "debug", "meshctl"))
    ap.add_argument("--envoy", default=os.environ.get("MESHCTL_ENVOY", "envoy"))
    opts = ap.parse_args()
    opts.meshctl = os.path.abspath(opts.meshctl)
    if os.geteuid() != 0:
        raise SystemExit("run as root: the benchmark creates network namespaces")

    bench = Bench(opts)
    modes = [(f"{opts.rate} rps", opts.rate), ("max", None)]
    runs = {(n, m): [] for n in SCENARIOS for m, _ in modes}
    try:
        bench.setup()
        for round_no in range(opts.rounds):
            for mode, rate in modes:
                for name in SCENARIOS:
                    r = bench.run_load(name, rate)
                    runs[(name, mode)].append(r)
                    print(f"  round {round_no + 1} {name:15} {mode:8} {json.dumps(r)}", file=sys.stderr)
    finally:
        bench.cleanup()

    by = {key: median_result(rs) for key, rs in runs.items()}
    print(f"\nmeshctl data-plane benchmark: {os.cpu_count()} CPUs, Envoy concurrency "
          f"{opts.concurrency}, bootstrap {opts.variant}, medians of {opts.rounds} rounds of {opts.duration:g}s, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'scenario':16}{'load':>9}{'req/s':>10}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
          f"{'errors':>8}{'envoy µs/req':>14}{'envoys MB':>10}")
    for mode, _ in modes:
        for name in SCENARIOS:
            r = by[(name, mode)]
            print(f"{name:16}{mode:>9}{r['rps']:>10}{fmt(r['p50_ms']):>9}{fmt(r['p90_ms']):>9}"
                  f"{fmt(r['p99_ms']):>9}{r['errors']:>8}{fmt(r['envoy_cpu_us_per_req']):>14}"
                  f"{fmt(r['envoy_rss_mb']):>10}")
    print("\nversus direct (medians):")
    for mode, _ in modes:
        d = by[("direct", mode)]
        for name in SCENARIOS[1:]:
            r = by[(name, mode)]
            added = [None if r[k] is None or d[k] is None else round(r[k] - d[k], 3)
                     for k in ("p50_ms", "p90_ms", "p99_ms")]
            ratio = round(r["rps"] / d["rps"], 2) if d["rps"] else None
            print(f"  {name:15} {mode:>8}: throughput x{fmt(ratio)}, added latency p50 "
                  f"{fmt(added[0])} ms, p90 {fmt(added[1])} ms, p99 {fmt(added[2])} ms")
    both = by[("both sidecars", f"{opts.rate} rps")]["p90_ms"]
    direct = by[("direct", f"{opts.rate} rps")]["p90_ms"]
    if both is not None and direct is not None:
        added = both - direct
        verdict = "meets" if added <= 0.5 else "misses"
        print(f"\ntarget: client+server sidecars add <= 0.5 ms at p90 at {opts.rate} rps: "
              f"{added:.3f} ms ({verdict})")


def median_result(results):
    out = {}
    for key in results[0]:
        values = sorted(r[key] for r in results if r[key] is not None)
        out[key] = values[len(values) // 2] if values else None
    return out


if __name__ == "__main__":
    main()
