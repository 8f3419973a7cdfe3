"""Control-plane benchmark: image reads and logins, alone and mixed, against Glance 33 and
Keystone 30 in the same run on the same machine.

    .venv/bin/python bench/bench_control.py [--clients 20] [--requests 1000] [--token-requests N]
                                            [--mix-requests N] [--rounds 2] [--images 20]
                                            [--no-peer] [--baseline-src DIR]
                                            [--only reads,tokens,mix]

Scenarios, each run against cowcloud (one `cowcloud serve`, SQLite) and then against the peers
(Glance 33 under uWSGI from ../shared/peers/glance-setup.sh, no Keystone in front: its requests carry
keystonemiddleware's headers; Keystone 30 under uWSGI from bench/peers/keystone-setup.sh, both on
SQLite, 1 process x 4 threads each, as devstack runs them):
- reads: every client alternates GET /v2/images (a page of --images images) and GET
  /v2/images/{id}; nothing writes meanwhile, so cowcloud answers all but the first of each
  from its read cache (services/images/read_cache.py, SQLite), which Glance does not have;
  `--baseline-src` with a checkout from before the cache measures reads without it;
- tokens: every client issues project-scoped password tokens (POST /v3/auth/tokens, catalog
  included);
- mix: every client lists, shows and issues a token in turn (a third of its requests each), so
  at any moment some clients log in while others read. cowcloud serves all three from one
  process; Glance serves the reads and Keystone the tokens, so the peer's reads never wait
  behind its logins.
Each client sends --requests requests one after another (--token-requests in the tokens
scenario, since Keystone issues about 20 a second here) on a keep-alive connection (the uWSGI
peers close theirs after every response, as devstack's configuration says). Each client holds a
token of its own for its reads. The load comes from 2 processes of threads, whose own CPU is
reported as well.

Reported per scenario and operation: requests/s (requests over the time from the common start
to that operation's last answer), p50 and p99 latency, and CPU per request of the server (its
process and children: the uWSGI master and workers for the peers) and of the load client.
Figures are the medians over --rounds rounds; rounds alternate cowcloud and the peers so that
both meet the same load from the rest of the machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from _common import ROOT
from _glance import HEADERS as GLANCE_HEADERS
from _glance import PEERS, free_port, glance_peer
from ceph_clusters import start_cluster, stop_cluster

PASSWORD = "bench-secret"


def token_body(password: str) -> bytes:
    return json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}).encode()


@dataclass
class Target:
    """Where each operation goes, and who serves it (pids whose CPU is counted)."""
    reads: str  # base URL of the Image API, e.g. http://127.0.0.1:9292 (paths /v2/...)
    tokens: str  # base URL of the Identity API (paths /v3/...)
    image_ids: list[str]
    read_headers: list[dict[str, str]]  # one set per client
    pids: dict[str, list[int]]  # "reads"/"tokens" -> the server processes behind them
    name: str = ""


@dataclass
class Job:
    op: str  # list | show | token
    count: int
    headers: dict[str, str] = field(default_factory=dict)


# --- the load client -------------------------------------------------------------------------

def _client(target: Target, jobs: list[Job], go: threading.Event,
            out: list[tuple[str, float, float, int]]) -> None:
    """One client: its jobs' requests one after another; (op, start, latency, status) each."""
    conns: dict[str, http.client.HTTPConnection] = {}

    def conn_for(base: str) -> tuple[http.client.HTTPConnection, str]:
        """The connection to the base URL's host, and its path prefix."""
        netloc, _, prefix = base.split("//")[1].partition("/")
        if netloc not in conns:
            host, port = netloc.split(":")
            conns[netloc] = http.client.HTTPConnection(host, int(port), timeout=120)
        return conns[netloc], "/" + prefix if prefix else ""

    body = token_body(PASSWORD)
    go.wait()
    n = 0
    for job in jobs:
        for i in range(job.count):
            op = job.op
            if op == "read":
                op = ("list", "show")[i % 2]
            elif op == "mix":
                op = ("list", "show", "token")[i % 3]
            if op == "token":
                base, method, path = target.tokens, "POST", "/v3/auth/tokens"
                headers, payload = {"Content-Type": "application/json"}, body
            else:
                base, method, payload = target.reads, "GET", None
                path = "/v2/images" if op == "list" else \
                    f"/v2/images/{target.image_ids[n % len(target.image_ids)]}"
                headers = job.headers
            n += 1
            conn, prefix = conn_for(base)
            start = time.monotonic()
            try:
                conn.request(method, prefix + path, payload, headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
                if resp.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException):
                conn.close()
                status = 0
            out.append((op, start, time.monotonic() - start, status))


def _process(target: Target, clients: list[list[Job]], barrier: Any, queue: Any) -> None:
    go = threading.Event()
    results: list[list[tuple[str, float, float, int]]] = [[] for _ in clients]
    threads = [threading.Thread(target=_client, args=(target, jobs, go, out))
               for jobs, out in zip(clients, results)]
    for t in threads:
        t.start()
    barrier.wait()
    cpu = time.process_time()
    go.set()
    for t in threads:
        t.join()
    queue.put(([r for out in results for r in out], time.process_time() - cpu))


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes and their children, live or reaped."""
    total = 0.0
    for pid in pids:
        try:
            p = psutil.Process(pid)
            procs = [p, *p.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for q in procs:
            try:
                t = q.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system + (t.children_user + t.children_system if q is p else 0)
    return total


@dataclass
class Result:
    ops: dict[str, dict[str, float]]  # op -> rps, p50, p99, errors, count
    server_cpu: dict[str, float]  # "reads"/"tokens" -> CPU ms per request of that server
    client_cpu_ms: float  # per request
    wall: float


def drive(target: Target, plan: list[list[Job]], processes: int = 2) -> Result:
    """Runs `plan` (one list of jobs per client) from `processes` processes of threads."""
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(processes + 1)
    queue = ctx.Queue()
    shares = [plan[i::processes] for i in range(processes)]
    procs = [ctx.Process(target=_process, args=(target, share, barrier, queue))
             for share in shares]
    for p in procs:
        p.start()
    servers = {k: sorted(set(v)) for k, v in target.pids.items()}
    everyone = sorted({pid for v in servers.values() for pid in v})
    cpu0 = {pid: cpu_seconds([pid]) for pid in everyone}
    barrier.wait()
    t0 = time.monotonic()
    rows: list[tuple[str, float, float, int]] = []
    client_cpu = 0.0
    for _ in procs:
        got, cpu = queue.get()
        rows += got
        client_cpu += cpu
    wall = time.monotonic() - t0
    cpu1 = {pid: cpu_seconds([pid]) for pid in everyone}
    for p in procs:
        p.join()
    ops: dict[str, dict[str, float]] = {}
    for op in sorted({r[0] for r in rows}):
        mine = [r for r in rows if r[0] == op]
        lat = sorted(r[2] for r in mine)
        end = max(r[1] + r[2] for r in mine)
        ops[op] = {"count": len(mine), "rps": len(mine) / (end - t0),
                   "p50": lat[len(lat) // 2] * 1000, "p99": lat[int(len(lat) * 0.99)] * 1000,
                   "errors": sum(1 for r in mine if not 200 <= r[3] < 300)}
    kinds = {"reads": ("list", "show"), "tokens": ("token",)}
    server_cpu = {}
    for kind, pids in servers.items():
        n = sum(ops[o]["count"] for o in kinds[kind] if o in ops)
        if n:
            shared = set(pids) == set(everyone)  # one server behind both: count per request
            n = len(rows) if shared else n
            server_cpu[kind] = sum(cpu1[p] - cpu0[p] for p in pids) / n * 1000
    return Result(ops, server_cpu, client_cpu / len(rows) * 1000, wall)


def plans(scenario: str, target: Target, clients: int, requests: int,
          token_requests: int, mix_requests: int) -> list[list[Job]]:
    def read(i: int, op: str = "read") -> Job:
        return Job(op, requests, target.read_headers[i % len(target.read_headers)])
    if scenario == "reads":
        return [[read(i)] for i in range(clients)]
    if scenario == "tokens":
        return [[Job("token", token_requests)] for _ in range(clients)]
    return [[Job("mix", mix_requests, target.read_headers[i % len(target.read_headers)])]
            for i in range(clients)]


# --- the servers -----------------------------------------------------------------------------

@contextmanager
def cowcloud(folder: Path, images: int, src: Path | None = None,
             name: str = "cowcloud") -> Iterator[Target]:
    """`cowcloud serve` with SQLite and the local store; `src`: the cowcloud sources to run
    (another checkout's src/, to compare a change with what it changes, in the same run)."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cowcloud.toml").write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\ndata_dir = "{folder / "data"}"\n')
    env = {**os.environ, "COWCLOUD_ADMIN_PASSWORD": PASSWORD,
           "OS_CLIENT_CONFIG_FILE": str(folder / "clouds.yaml")}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    log = (folder / "server.log").open("wb")
    proc = subprocess.Popen([str(ROOT / ".venv/bin/cowcloud"), "serve", "--config",
                             str(folder / "cowcloud.toml"), "--log-level", "WARNING"],
                            stdout=log, stderr=log, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"cowcloud did not start: {(folder / 'server.log').read_text()}")
        tokens = [httpx.post(f"{url}/identity/v3/auth/tokens", content=token_body(PASSWORD),
                             headers={"Content-Type": "application/json"}
                             ).headers["X-Subject-Token"] for _ in range(20)]
        http = httpx.Client(base_url=f"{url}/image", headers={"X-Auth-Token": tokens[0]})
        ids = [make_image(http, i) for i in range(images)]
        yield Target(f"{url}/image", f"{url}/identity", ids,
                     [{"X-Auth-Token": t} for t in tokens],
                     {"reads": [proc.pid], "tokens": [proc.pid]}, name)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def make_image(http: httpx.Client, i: int) -> str:
    """An active image with a few properties, as a listing would show them."""
    resp = http.post("/v2/images", json={
        "name": f"bench-{i}", "disk_format": "raw", "container_format": "bare",
        "os_distro": "debian", "os_version": "12", "hw_disk_bus": "scsi"})
    resp.raise_for_status()
    iid = str(resp.json()["id"])
    http.put(f"/v2/images/{iid}/file", content=os.urandom(4096),
             headers={"Content-Type": "application/octet-stream"}).raise_for_status()
    return iid


@contextmanager
def keystone_peer(folder: Path) -> Iterator[tuple[str, list[int]]]:
    port = free_port()
    env = {**os.environ, "KEYSTONE_DIR": str(folder), "KEYSTONE_PORT": str(port),
           "KEYSTONE_PASSWORD": PASSWORD,
           "KEYSTONE_VENV": os.environ.get("KEYSTONE_VENV", "/tmp/bench-keystone-venv")}
    res = subprocess.run([str(PEERS / "keystone-setup.sh")], env=env, capture_output=True,
                         text=True)
    if res.returncode != 0:
        raise RuntimeError(f"keystone-setup.sh failed:\n{res.stdout}\n{res.stderr}")
    try:
        yield f"http://127.0.0.1:{port}", [int((folder / "run" / "uwsgi.pid").read_text())]
    finally:
        subprocess.run([str(PEERS / "keystone-stop.sh")], env=env, capture_output=True)


@contextmanager
def peers(root: Path, images: int, clients: int) -> Iterator[Target]:
    with ExitStack() as stack:
        # Glance's rbd store needs a cluster to name; the reads never touch it
        ceph = start_cluster(root / "ceph", pools=("images",), memstore_bytes=1 << 30)
        stack.callback(stop_cluster, ceph.dir)
        g = stack.enter_context(glance_peer(root / "glance", ceph.conf))
        ks_url, ks_pids = stack.enter_context(keystone_peer(root / "keystone"))
        ids = []
        for i in range(images):
            resp = g.http.post("/v2/images", json={
                "name": f"bench-{i}", "disk_format": "raw", "container_format": "bare",
                "os_distro": "debian", "os_version": "12", "hw_disk_bus": "scsi"})
            resp.raise_for_status()
            gid = str(resp.json()["id"])
            g.http.put(f"/v2/images/{gid}/file", content=os.urandom(4096), headers={
                "Content-Type": "application/octet-stream",
                "X-Image-Meta-Store": "fast"}).raise_for_status()
            ids.append(gid)
        master = int((root / "glance" / "run" / "uwsgi.pid").read_text())
        yield Target(g.base, ks_url, ids, [dict(GLANCE_HEADERS)] * clients,
                     {"reads": [master], "tokens": ks_pids}, "Glance 33 + Keystone 30")


# --- the report ------------------------------------------------------------------------------

def summarise(results: list[Result]) -> dict[str, Any]:
    """Medians over the rounds, figure by figure."""
    median = statistics.median  # of two rounds: their mean
    ops = {op: {k: median([r.ops[op][k] for r in results]) for k in results[0].ops[op]}
           for op in results[0].ops}
    errors = {op: sum(r.ops[op]["errors"] for r in results) for op in results[0].ops}
    cpu = {k: median([r.server_cpu[k] for r in results]) for k in results[0].server_cpu}
    return {"ops": ops, "errors": errors, "cpu": cpu,
            "client": median([r.client_cpu_ms for r in results])}


def print_report(scenarios: list[str], names: list[str],
                 figures: dict[str, dict[str, dict[str, Any]]]) -> None:
    """One markdown table; then each server's requests/s over the first's (cowcloud)."""
    print("\n| scenario | operation | server | requests/s | p50 ms | p99 ms | server CPU ms/req "
          "| client CPU ms/req | errors |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    kind = {"list": "reads", "show": "reads", "token": "tokens"}
    for scenario in scenarios:
        for name in names:
            s = figures[scenario][name]
            for op, f in s["ops"].items():
                cpu = s["cpu"].get(kind[op], float("nan"))
                print(f"| {scenario} | {op} | {name} | {f['rps']:,.0f} | {f['p50']:.1f} | "
                      f"{f['p99']:.1f} | {cpu:.2f} | {s['client']:.2f} | {s['errors'][op]} |")
    print(f"\nrequests/s of {names[0]} over the others' (same run):")
    for scenario in scenarios:
        ours = figures[scenario][names[0]]["ops"]
        for name in names[1:]:
            theirs = figures[scenario][name]["ops"]
            parts = [f"{op} {ours[op]['rps'] / theirs[op]['rps']:.2f}x"
                     for op in ours if op in theirs]
            reads = [op for op in ("list", "show") if op in ours and op in theirs]
            if reads:
                o = sum(ours[op]["rps"] for op in reads)
                t = sum(theirs[op]["rps"] for op in reads)
                parts.append(f"reads {o:,.0f}/s vs {t:,.0f}/s = {o / t:.2f}x")
            print(f"  {scenario:<6} vs {name:<24} " + ", ".join(parts))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=1000, help="per read client")
    ap.add_argument("--token-requests", type=int, default=None,
                    help="per token client (default: --requests)")
    ap.add_argument("--mix-requests", type=int, default=None,
                    help="per client in the mix (default: --requests)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--processes", type=int, default=2, help="load client processes")
    ap.add_argument("--only", default="reads,tokens,mix")
    ap.add_argument("--no-peer", action="store_true", help="cowcloud only")
    ap.add_argument("--baseline-src", type=Path, default=None,
                    help="also run cowcloud from this src/ folder (e.g. `git archive` of main)")
    args = ap.parse_args()
    token_requests = args.token_requests or args.requests
    scenarios = args.only.split(",")
    root = Path(tempfile.mkdtemp(prefix="bench-control-"))
    print(f"{args.clients} clients, {args.requests} reads / {token_requests} tokens / "
          f"{args.mix_requests or args.requests} mixed requests each, "
          f"{args.rounds} rounds; load average {os.getloadavg()[0]:.1f} at start", flush=True)
    try:
        with ExitStack() as stack:
            targets = [stack.enter_context(cowcloud(root / "cowcloud", args.images))]
            if args.baseline_src:
                targets.append(stack.enter_context(cowcloud(
                    root / "baseline", args.images, args.baseline_src, "cowcloud before")))
            if not args.no_peer:
                targets.append(stack.enter_context(peers(root / "peers", args.images,
                                                         args.clients)))
            got: dict[str, dict[str, list[Result]]] = {
                s: {t.name: [] for t in targets} for s in scenarios}
            for rnd in range(args.rounds):
                for scenario in scenarios:
                    for target in targets:
                        res = drive(target, plans(scenario, target, args.clients,
                                                  args.requests, token_requests,
                                                  args.mix_requests or args.requests),
                                    args.processes)
                        got[scenario][target.name].append(res)
                        brief = ", ".join(f"{op} {f['rps']:,.0f}/s p50 {f['p50']:.1f} p99 "
                                          f"{f['p99']:.1f}" for op, f in res.ops.items())
                        cpu = ", ".join(f"{k} {v:.2f}" for k, v in res.server_cpu.items())
                        print(f"round {rnd + 1} {scenario:<6} {target.name:<24} {brief}; "
                              f"server CPU ms/req {cpu}; client {res.client_cpu_ms:.2f}",
                              flush=True)
        print_report(scenarios, [t.name for t in targets],
                     {s: {name: summarise(rs) for name, rs in got[s].items()} for s in scenarios})
        print(f"\nload average {os.getloadavg()[0]:.1f} at the end (the machine is shared)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
