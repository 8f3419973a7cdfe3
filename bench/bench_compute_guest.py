"""A real guest through the whole Compute API (not a test): `cowcloud serve` on the embedded
default (local storage, its own agent) with `[agent] driver = "qemu"`, the small Debian guest
of scripts/guest-image uploaded as Nova boots such images (kernel aki, ramdisk ari, a raw root
disk naming them with kernel_id/ramdisk_id/os_command_line).

    .venv/bin/python bench/bench_compute_guest.py [--repeat 3]

For each server, from the client's POST /servers: ACTIVE, the first console line
(os-getConsoleOutput polled every 50 ms, as a user would), and the line where the guest has
read its disk's first line. The first server of a run also fetches the kernel and initrd into
the agent's cache; the others boot from the cache. TCG unless KVM runs (the agent's probe).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from _common import ROOT, MiB, admin_token, median, start_server

PASSWORD = "bench-secret"
READ = "cowcloud-guest: read"


def guest_image() -> tuple[Path, Path]:
    out = subprocess.run([str(ROOT / "scripts" / "guest-image")], check=True,
                         capture_output=True, text=True).stdout
    kv = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return Path(kv["KERNEL"]), Path(kv["INITRD"])


def serve(folder: Path, state: Path) -> tuple[object, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (folder / "cowcloud.toml").write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\ndata_dir = "{folder}"\n'
        f'[agent]\ndriver = "qemu"\nstate_dir = "{state}"\n')
    return start_server(folder, PASSWORD)


class Client:
    def __init__(self, url: str) -> None:
        self.token, _ = admin_token(url, PASSWORD)
        self.http = httpx.Client(base_url=url, timeout=600, headers={
            "X-Auth-Token": self.token, "OpenStack-API-Version": "compute 2.37"})

    def image(self, data: bytes, fmt: str, **props: str) -> str:
        iid = self.http.post("/image/v2/images", json={
            "name": f"bench-{fmt}", "disk_format": fmt,
            "container_format": "bare" if fmt == "raw" else fmt, **props}).json()["id"]
        resp = self.http.put(f"/image/v2/images/{iid}/file", content=data,
                             headers={"Content-Type": "application/octet-stream"})
        assert resp.status_code == 204, resp.text
        return str(iid)

    def flavor(self) -> str:
        body = {"name": f"bench-{time.monotonic_ns()}", "ram": 256, "vcpus": 1, "disk": 0}
        return str(self.http.post("/compute/v2.1/flavors", json={"flavor": body}).json()[
            "flavor"]["id"])

    def console(self, sid: str) -> str:
        resp = self.http.post(f"/compute/v2.1/servers/{sid}/action",
                              json={"os-getConsoleOutput": {}})
        return str(resp.json().get("output", "")) if resp.status_code == 200 else ""

    def boot(self, flavor: str, image: str, timeout: float = 600) -> tuple[float, float, float]:
        """(ACTIVE, first console line, disk read) in seconds from the POST."""
        start = time.perf_counter()
        resp = self.http.post("/compute/v2.1/servers", json={"server": {
            "name": "bench", "flavorRef": flavor, "imageRef": image, "networks": "none"}})
        assert resp.status_code == 202, resp.text
        sid = resp.json()["server"]["id"]
        active = first = None
        try:
            while time.perf_counter() - start < timeout:
                if active is None:
                    status = self.http.get(f"/compute/v2.1/servers/{sid}").json()[
                        "server"]["status"]
                    if status == "ERROR":
                        raise RuntimeError(f"server {sid} went to ERROR")
                    if status == "ACTIVE":
                        active = time.perf_counter() - start
                if active is not None:
                    out = self.console(sid)
                    now = time.perf_counter() - start
                    if first is None and out.strip():
                        first = now
                    if READ in out:
                        assert first is not None
                        return active, first, now
                time.sleep(0.05)
            raise RuntimeError(f"server {sid}: no {READ!r} within {timeout:g} s")
        finally:
            self.http.delete(f"/compute/v2.1/servers/{sid}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    kernel, initrd = guest_image()
    # the agent's state folder apart and short: QMP's socket paths are capped at 108 bytes
    with tempfile.TemporaryDirectory(prefix="cowcloud-bench-guest-") as tmp, \
            tempfile.TemporaryDirectory(prefix="ccbg-") as state:
        folder = Path(tmp)
        proc, url = serve(folder, Path(state))
        try:
            c = Client(url)
            kid = c.image(kernel.read_bytes(), "aki")
            rid = c.image(initrd.read_bytes(), "ari")
            root = c.image(b"cowcloud-image-mark:bench\n".ljust(2 * MiB, b"\0"), "raw",
                           kernel_id=kid, ramdisk_id=rid,
                           os_command_line="console=ttyS0 quiet cowcloud.mark=bench")
            flavor = c.flavor()
            runs = [c.boot(flavor, root) for _ in range(args.repeat)]
            for i, (active, first, read) in enumerate(runs):
                print(f"server {i + 1}{' (kernel fetched)' if i == 0 else ''}: ACTIVE "
                      f"{active:.2f} s, first console line {first:.2f} s, disk read "
                      f"{read:.2f} s", flush=True)
            cached = runs[1:] or runs
            print(f"median over {len(cached)} cached-kernel boots: ACTIVE "
                  f"{median([r[0] for r in cached]):.2f} s, first console line "
                  f"{median([r[1] for r in cached]):.2f} s, disk read "
                  f"{median([r[2] for r in cached]):.2f} s", flush=True)
        finally:
            proc.terminate()  # type: ignore[attr-defined]
            proc.wait(30)  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
