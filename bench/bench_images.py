"""Image API benchmarks: a real `cowcloud serve` over two Ceph clusters, driven with curl, against
the peers in the same run on the same data: the `rbd` CLI, and Glance 33 (bench/peers/
glance-setup.sh, rbd store in the first cluster's `images` pool, file store beside it).

    .venv/bin/python bench/bench_images.py [--size-mib 1024] [--repeat 3] [--only upload]
                                           [--hashing-algorithm sha256] [--no-glance]

Measures upload (create + PUT /file) of dense and sparse data into the rbd store vs `rbd
import`, download (GET /file) of both vs `rbd export`, copy-image of both between the two
clusters until active vs `rbd export - | rbd import -`, and glance-direct (stage, then import to
the other cluster).
Glance does the same on the same files and cluster; its copy-image goes from its file store to
its rbd store (it has one rbd store), its glance-direct import into rbd. Absolute figures of
Glance move by 5x between machines of one kind (310 vs 1,473 MB/s downloading): only the ratio
measured here, in one run, counts.
Prints the server's peak RSS (VmHWM) at the end, and the Glance worker's.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from _common import (
    GiB,
    MiB,
    Table,
    admin_token,
    make_dense,
    make_sparse,
    median,
    run,
    start_server,
)
from _glance import Glance, glance_peer
from ceph_clusters import start_cluster, stop_cluster

PASSWORD = "bench-secret"


def rbd(info, *args: str) -> list[str]:  # type: ignore[no-untyped-def]
    return ["rbd", "--conf", str(info.conf), "--keyring", str(info.keyring), "--id", info.user,
            "--no-progress", *args]


def serve(folder: Path, clusters: list,  # type: ignore[type-arg]
          hashing_algorithm: str) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    parts = [f'[server]\nhost = "127.0.0.1"\nport = {port}\ndata_dir = "{folder}"\n',
             f'[image]\nhashing_algorithm = "{hashing_algorithm}"\n', "[sites.a]\n"]
    for i, info in enumerate(clusters):
        parts.append(f'[clusters.c{i}]\nkind = "rbd"\nsite = "a"\nconf = "{info.conf}"\n'
                     f'keyring = "{info.keyring}"\nuser = "{info.user}"\n')
    parts.append('[image_stores.central]\ncluster = "c0"\npool = "images"\ndefault = true\n'
                 '[image_stores.dcn0]\ncluster = "c1"\npool = "images"\n')
    (folder / "cowcloud.toml").write_text("\n".join(parts))
    return start_server(folder, PASSWORD, OS_CLIENT_CONFIG_FILE=str(folder / "clouds.yaml"))


class Client:
    def __init__(self, url: str) -> None:
        self.token, _project = admin_token(url, PASSWORD)
        self.http = httpx.Client(base_url=f"{url}/image", timeout=600,
                                 headers={"X-Auth-Token": self.token})

    def create(self) -> str:
        return str(self.http.post("/v2/images", json={
            "name": "bench", "disk_format": "raw", "container_format": "bare"}).json()["id"])

    def curl(self, *args: str) -> float:
        return run(["curl", "-sf", "-H", f"X-Auth-Token: {self.token}", *args])

    def wait(self, iid: str, stores: str) -> None:
        while self.http.get(f"/v2/images/{iid}").json().get("stores") != stores:
            time.sleep(0.05)


def download(c: Client, clusters: list, base: str, iid: str, peer_name: str,  # type: ignore[type-arg]
             repeat: int) -> tuple[list[float], list[float]]:
    """GET /file to /dev/null, and the peer: rbd export of the same data (images/PEER_NAME)."""
    ours = [c.curl("-o", "/dev/null", f"{base}/v2/images/{iid}/file") for _ in range(repeat)]
    peer = [run(rbd(clusters[0], "export", f"images/{peer_name}", "-")) for _ in range(repeat)]
    return ours, peer


def copy_image(c: Client, clusters: list, iid: str, peer_name: str,  # type: ignore[type-arg]
               repeat: int) -> tuple[list[float], list[float]]:
    """copy-image central -> dcn0 until active there, and the peer: rbd export | rbd import of
    the same data (imported as images/PEER_NAME in the first cluster)."""
    ours, peer = [], []
    for i in range(repeat):
        start = time.perf_counter()
        c.http.post(f"/v2/images/{iid}/import", json={"method": {"name": "copy-image"},
                                                      "stores": ["dcn0"]})
        c.wait(iid, "central,dcn0")
        ours.append(time.perf_counter() - start)
        c.http.delete(f"/v2/stores/dcn0/{iid}")
        peer.append(run(" ".join(rbd(clusters[0], "export", f"images/{peer_name}", "-")) + " | "
                        + " ".join(rbd(clusters[1], "import", "-", f"images/{peer_name}{i}"))))
    return ours, peer


class GlanceRuns:
    """The same operations on Glance 33, same files, same cluster; None for each when it is off."""

    def __init__(self, g: Glance | None, repeat: int) -> None:
        self.g = g
        self.repeat = repeat

    def upload(self, path: Path, store: str = "ceph") -> float | None:
        if self.g is None:
            return None
        times = []
        for _ in range(self.repeat):
            gid = self.g.create()
            times.append(self.g.upload(gid, path, store))
            self.g.delete(gid)
        return median(times)

    def download(self, path: Path) -> float | None:
        if self.g is None:
            return None
        gid = self.g.create()
        self.g.upload(gid, path)
        times = [self.g.curl("-o", "/dev/null", self.g.url(f"/v2/images/{gid}/file"))
                 for _ in range(self.repeat)]
        self.g.delete(gid)
        return median(times)

    def copy(self, path: Path) -> float | None:
        """copy-image from the file store into the rbd store, until active in both. A new
        image each time: Glance 33 answered one DELETE /v2/stores/ceph/ID right after a copy
        with a 500."""
        g = self.g
        if g is None:
            return None
        times = []
        for _ in range(self.repeat):
            gid = g.create()
            g.upload(gid, path, "fast")
            start = time.perf_counter()
            g.http.post(f"/v2/images/{gid}/import", json={
                "method": {"name": "copy-image"}, "stores": ["ceph"]}).raise_for_status()
            g.wait(gid, lambda i: set(i.get("stores", "").split(",")) == {"fast", "ceph"})
            times.append(time.perf_counter() - start)
            g.delete(gid)
        return median(times)

    def direct(self, path: Path) -> tuple[float | None, float | None]:
        """glance-direct: PUT /stage, then import into the rbd store until active."""
        g = self.g
        if g is None:
            return None, None
        stage, imp = [], []
        for _ in range(self.repeat):
            gid = g.create()
            stage.append(g.curl("-X", "PUT", "-T", str(path), "-H",
                                "Content-Type: application/octet-stream",
                                g.url(f"/v2/images/{gid}/stage")))
            start = time.perf_counter()
            g.http.post(f"/v2/images/{gid}/import", json={
                "method": {"name": "glance-direct"}, "stores": ["ceph"]}).raise_for_status()
            g.wait(gid, lambda i: i.get("status") == "active")
            imp.append(time.perf_counter() - start)
            g.delete(gid)
        return median(stage), median(imp)

    def peak_rss(self) -> str:
        if self.g is None:
            return ""
        hwm = 0
        for pid in self.g.pids():
            status = Path(f"/proc/{pid}/status").read_text()
            hwm = max(hwm, int(next(line.split()[1] for line in status.splitlines()
                                    if line.startswith("VmHWM"))))
        return f"; Glance worker peak RSS: {hwm // 1024} MiB"


def report(proc: subprocess.Popen[bytes], table: Table, algo: str, glance: GlanceRuns) -> None:
    status = Path(f"/proc/{proc.pid}/status").read_text()
    hwm = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
    print(f"\nos_hash_algo {algo}; server peak RSS: {int(hwm) // 1024} MiB{glance.peak_rss()}\n")
    print(table.markdown())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=("all", "upload"), default="all")
    ap.add_argument("--hashing-algorithm", default="sha512", help="[image] hashing_algorithm")
    ap.add_argument("--no-glance", action="store_true", help="skip Glance 33 (the peer)")
    args = ap.parse_args()
    size = args.size_mib * MiB
    root = Path(tempfile.mkdtemp(prefix="bench-images-"))
    clusters = []
    proc = None
    try:
        with ExitStack() as stack:
            for i in range(2):
                clusters.append(start_cluster(root / f"c{i}", pools=("images",),
                                              memstore_bytes=8 * GiB))
            dense, sparse = root / "dense.raw", root / "sparse.raw"
            make_dense(dense, size)
            make_sparse(sparse, size)
            g = None if args.no_glance else stack.enter_context(
                glance_peer(root / "glance", clusters[0].conf))
            proc, url = serve(root, clusters, args.hashing_algorithm)
            measure(proc, Client(url), clusters, dense, sparse, size, args, GlanceRuns(g, args.repeat))
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        for info in clusters:
            stop_cluster(info.dir)
        shutil.rmtree(root, ignore_errors=True)


def measure(proc: subprocess.Popen[bytes], c: Client, clusters: list,  # type: ignore[type-arg]
            dense: Path, sparse: Path, size: int, args: argparse.Namespace,
            glance: GlanceRuns) -> None:
    base = str(c.http.base_url).rstrip("/")
    table = Table()
    for label, path in (("upload, random", dense), ("upload, sparse (16 MiB of data)", sparse)):
        ours, peer = [], []
        for i in range(args.repeat):
            iid = c.create()
            ours.append(c.curl("-T", str(path), "-H", "Content-Type: application/octet-stream",
                               f"{base}/v2/images/{iid}/file"))
            c.http.delete(f"/v2/images/{iid}")
            peer.append(run(rbd(clusters[0], "import", str(path), f"images/peer{i}")))
            run(rbd(clusters[0], "rm", f"images/peer{i}"), stderr=subprocess.DEVNULL)
        table.add(f"{label} -> rbd", median(ours), median(peer), size, "rbd import",
                  glance.upload(path))
    if args.only == "upload":
        return report(proc, table, args.hashing_algorithm, glance)
    iid = c.create()
    c.curl("-T", str(dense), "-H", "Content-Type: application/octet-stream",
           f"{base}/v2/images/{iid}/file")
    run(rbd(clusters[0], "import", str(dense), "images/peer"))
    down, peer = download(c, clusters, base, iid, "peer", args.repeat)
    table.add("download, random <- rbd", median(down), median(peer), size, "rbd export",
              glance.download(dense))
    copies, copy_peer = copy_image(c, clusters, iid, "peer", args.repeat)
    table.add("copy-image cluster -> cluster (Glance: file store -> rbd)", median(copies),
              median(copy_peer), size, "rbd export | rbd import", glance.copy(dense))
    # a sparse image: the copy must cost what its data costs, not its size
    sid = c.create()
    c.curl("-T", str(sparse), "-H", "Content-Type: application/octet-stream",
           f"{base}/v2/images/{sid}/file")
    run(rbd(clusters[0], "import", str(sparse), "images/speer"))
    down, peer = download(c, clusters, base, sid, "speer", args.repeat)
    table.add("download, sparse (16 MiB of data) <- rbd", median(down), median(peer), size,
              "rbd export", glance.download(sparse))
    copies, speer = copy_image(c, clusters, sid, "speer", args.repeat)
    table.add("copy-image, sparse (16 MiB of data), cluster -> cluster", median(copies),
              median(speer), size, "rbd export | rbd import")
    stage, imp = [], []
    for _ in range(args.repeat):
        gid = c.create()
        stage.append(c.curl("-X", "PUT", "-T", str(dense), "-H",
                            "Content-Type: application/octet-stream",
                            f"{base}/v2/images/{gid}/stage"))
        start = time.perf_counter()
        c.http.post(f"/v2/images/{gid}/import", json={"method": {"name": "glance-direct"},
                                                      "stores": ["dcn0"]})
        c.wait(gid, "dcn0")
        imp.append(time.perf_counter() - start)
        c.http.delete(f"/v2/images/{gid}")
    g_stage, g_imp = glance.direct(dense)
    table.add("glance-direct stage", median(stage), median(copy_peer), size,
              "rbd export | rbd import", g_stage)
    table.add("glance-direct import -> other cluster (Glance: -> rbd)", median(imp),
              median(copy_peer), size, "rbd export | rbd import", g_imp)
    report(proc, table, args.hashing_algorithm, glance)


if __name__ == "__main__":
    main()
