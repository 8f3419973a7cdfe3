"""Compute benchmarks (not tests): the scheduler alone, and a real `cowcloud serve` on the
embedded default (local storage, its own agent, the fake driver) timed from the client.

    .venv/bin/python bench/bench_compute.py [--hosts 1000] [--servers 1000] [--big-mib 1024]

- the scheduler placing --servers servers one after another over --hosts hosts (each placement
  sees the last one's usage), as the filter scheduler does for a multi-create;
- API to ACTIVE for one server from a 64 MiB and from a --big-mib image (the root disk is a
  COW clone: flat in image size);
- 100 servers created at once: p50/p99 of POST -> ACTIVE, and errors.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from pathlib import Path

import httpx
from _common import MiB, admin_token, make_dense, median, start_server

from cowcloud.services.compute.scheduler import (
    BackendState,
    HostState,
    RequestSpec,
    claim,
    schedule,
    schedule_many,
)

PASSWORD = "bench-secret"


def bench_scheduler(n_hosts: int, n_servers: int) -> float:
    backends = (BackendState("vms", "rbd", "fsid", "vms"),
                BackendState("vms2", "rbd", "fsid", "vms2"))
    hosts = [HostState(f"compute{i:04d}", zone="nova", vcpus=64, memory_mb=262144,
                       backends=backends,
                       aggregate_metadata={"ceph": frozenset({"true"})})
             for i in range(n_hosts)]
    spec = RequestSpec(vcpus=2, memory_mb=4096, root_gb=20, backend="vms2",
                       extra_specs={"aggregate_instance_extra_specs:ceph": "true"})
    start = time.perf_counter()
    placed = schedule_many(hosts, spec, n_servers)
    took = time.perf_counter() - start
    assert len(placed) == n_servers
    # for contrast: one schedule() per server over all hosts, as the API places one create
    sample = min(n_servers, 50)
    start = time.perf_counter()
    for _ in range(sample):
        chosen = schedule(hosts, spec)
        hosts = [claim(chosen, spec) if h.host == chosen.host else h for h in hosts]
    one = (time.perf_counter() - start) / sample
    print(f"scheduler, one placement over {n_hosts} hosts (the API's path): "
          f"{one * 1000:.2f} ms", flush=True)
    return took


def serve(folder: Path) -> tuple[object, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (folder / "cowcloud.toml").write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\ndata_dir = "{folder}"\n'
        "[compute]\nquota_instances = -1\nquota_cores = -1\nquota_ram_mb = -1\n"
        "[agent]\nvcpus = 4096\nmemory_mb = 4194304\n")
    return start_server(folder, PASSWORD)


class Client:
    def __init__(self, url: str) -> None:
        self.token, _ = admin_token(url, PASSWORD)
        self.http = httpx.Client(base_url=url, timeout=600, headers={
            "X-Auth-Token": self.token, "OpenStack-API-Version": "compute 2.37"})

    def image(self, path: Path) -> str:
        iid = self.http.post("/image/v2/images", json={
            "name": path.name, "disk_format": "raw", "container_format": "bare"}).json()["id"]
        with path.open("rb") as f:
            resp = self.http.put(f"/image/v2/images/{iid}/file", content=f,
                                 headers={"Content-Type": "application/octet-stream"})
        assert resp.status_code == 204, resp.text
        return str(iid)

    def flavor(self) -> str:
        body = {"name": f"bench-{time.monotonic_ns()}", "ram": 64, "vcpus": 1, "disk": 2}
        return str(self.http.post("/compute/v2.1/flavors", json={"flavor": body}).json()[
            "flavor"]["id"])

    def to_active(self, flavor: str, image: str, poll: float = 0.005) -> float:
        start = time.perf_counter()
        resp = self.http.post("/compute/v2.1/servers", json={"server": {
            "name": "bench", "flavorRef": flavor, "imageRef": image, "networks": "none"}})
        assert resp.status_code == 202, resp.text
        sid = resp.json()["server"]["id"]
        while True:
            status = self.http.get(f"/compute/v2.1/servers/{sid}").json()["server"]["status"]
            if status == "ACTIVE":
                return time.perf_counter() - start
            if status == "ERROR":
                raise RuntimeError(f"server {sid} went to ERROR")
            time.sleep(poll)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--servers", type=int, default=1000)
    ap.add_argument("--big-mib", type=int, default=1024)
    ap.add_argument("--at-once", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    took = bench_scheduler(args.hosts, args.servers)
    print(f"scheduler: {args.servers} servers over {args.hosts} hosts (schedule_many): "
          f"{took:.3f} s "
          f"({took / args.servers * 1000:.2f} ms each)", flush=True)
    with tempfile.TemporaryDirectory(prefix="cowcloud-bench-compute-") as tmp:
        folder = Path(tmp)
        proc, url = serve(folder)
        try:
            c = Client(url)
            flavor = c.flavor()
            for mib in (64, args.big_mib):
                path = folder / f"img-{mib}.raw"
                make_dense(path, mib * MiB)
                image = c.image(path)
                path.unlink()
                times = [c.to_active(flavor, image) for _ in range(args.repeat)]
                print(f"API to ACTIVE, {mib} MiB image: median {median(times):.3f} s "
                      f"(runs: {', '.join(f'{t:.3f}' for t in times)})", flush=True)
            results: list[float | None] = [None] * args.at_once
            barrier = threading.Barrier(args.at_once)

            def one(i: int) -> None:
                barrier.wait()
                try:
                    # clients poll as `openstack server create --wait` does, not in a spin:
                    # a hundred spinning pollers would measure the API's reads instead
                    results[i] = c.to_active(flavor, image, poll=0.25)
                except Exception:
                    results[i] = None
            threads = [threading.Thread(target=one, args=(i,)) for i in range(args.at_once)]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - start
            ok = sorted(r for r in results if r is not None)
            p50 = ok[len(ok) // 2] if ok else float("nan")
            p99 = ok[min(len(ok) - 1, int(len(ok) * 0.99))] if ok else float("nan")
            print(f"{args.at_once} servers at once: p50 {p50:.3f} s, p99 {p99:.3f} s, "
                  f"all ACTIVE after {wall:.3f} s, errors {args.at_once - len(ok)}", flush=True)
        finally:
            proc.terminate()  # type: ignore[attr-defined]
            proc.wait(30)  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
