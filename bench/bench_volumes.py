"""Volume API benchmarks: a real `cowcloud serve` over two Ceph clusters, timed from the client
(POST /volumes until status available), against the rbd CLI doing the same by hand in the same
run, and Cinder 29's figures from REFERENCE section 7.

    .venv/bin/python bench/bench_volumes.py [--size-mib 1024] [--repeat 3]

Measures, for an image of --size-mib random bytes in store central (cluster 0):
- a volume from it in the same cluster (a COW clone) vs `rbd clone` + `rbd resize`;
- a volume from it in the other cluster, first time (the image is copied once into that
  cluster's store, then cloned) vs `rbd export | rbd import`, and the next volume there (a clone);
- a blank volume, a volume from a volume (clone), a snapshot, and a delete.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from _common import GiB, MiB, Table, admin_token, make_dense, median, run, start_server
from ceph_clusters import start_cluster, stop_cluster

CINDER_CLONE_S = 0.75  # REFERENCE section 7: a volume from an rbd image, 0.7-0.8 s any size
PASSWORD = "bench-secret"


def rbd(info, *args: str) -> list[str]:  # type: ignore[no-untyped-def]
    quiet = ["--no-progress"] if args[0] in ("import", "export", "resize") else []
    return ["rbd", "--conf", str(info.conf), "--keyring", str(info.keyring), "--id", info.user,
            *quiet, *args]


def serve(folder: Path, clusters: list) -> tuple[subprocess.Popen[bytes], str]:  # type: ignore[type-arg]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    parts = [f'[server]\nhost = "127.0.0.1"\nport = {port}\ndata_dir = "{folder}"\n',
             "[image]\nreap_interval_seconds = 1\n", "[sites.central]\n[sites.dcn0]\n"]
    for i, info in enumerate(clusters):
        parts.append(f'[clusters.c{i}]\nkind = "rbd"\nsite = "{("central", "dcn0")[i]}"\n'
                     f'conf = "{info.conf}"\nkeyring = "{info.keyring}"\nuser = "{info.user}"\n')
    for section in ("image_stores", "volume_backends"):
        pool = "images" if section == "image_stores" else "volumes"
        parts.append(f'[{section}.central]\ncluster = "c0"\npool = "{pool}"\ndefault = true\n'
                     f'[{section}.dcn0]\ncluster = "c1"\npool = "{pool}"\n')
    (folder / "cowcloud.toml").write_text("\n".join(parts))
    return start_server(folder, PASSWORD)


class Client:
    def __init__(self, url: str) -> None:
        self.token, project = admin_token(url, PASSWORD)
        headers = {"X-Auth-Token": self.token}
        self.image = httpx.Client(base_url=f"{url}/image", timeout=600, headers=headers)
        self.vol = httpx.Client(base_url=f"{url}/volume/v3/{project}", timeout=600,
                                headers=headers)

    def wait(self, vid: str, status: str = "available") -> None:
        while True:
            got = self.vol.get(f"/volumes/{vid}").json()["volume"]["status"]
            if got == status:
                return
            assert got != "error", vid
            time.sleep(0.02)

    def gone(self, path: str) -> None:
        while self.vol.get(path).status_code != 404:
            time.sleep(0.02)

    def create(self, **spec: object) -> tuple[str, float]:
        """(volume id, seconds from POST until available)."""
        start = time.perf_counter()
        vid = self.vol.post("/volumes", json={"volume": spec}).json()["volume"]["id"]
        self.wait(vid)
        return vid, time.perf_counter() - start

    def delete(self, vid: str) -> float:
        start = time.perf_counter()
        assert self.vol.delete(f"/volumes/{vid}").status_code == 202
        self.gone(f"/volumes/{vid}")
        return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    size = args.size_mib * MiB
    gib = -(-size // GiB) + 1  # volumes one GiB larger than the image: the clone is resized
    root = Path(tempfile.mkdtemp(prefix="bench-volumes-"))
    clusters = []
    proc = None
    try:
        for i in range(2):
            clusters.append(start_cluster(root / f"c{i}", pools=("images", "volumes"),
                                          memstore_bytes=8 * GiB))
        dense = root / "dense.raw"
        make_dense(dense, size)
        proc, url = serve(root, clusters)
        c = Client(url)
        iid = c.image.post("/v2/images", json={"name": "bench", "disk_format": "raw",
                                               "container_format": "bare"}).json()["id"]
        with dense.open("rb") as f:
            assert c.image.put(f"/v2/images/{iid}/file", content=f, headers={
                "Content-Type": "application/octet-stream"}).status_code == 204
        far = c.vol.post("/types", json={"volume_type": {
            "name": "dcn0", "extra_specs": {"volume_backend_name": "dcn0"}}}).json()
        assert far["volume_type"]["name"] == "dcn0"
        c0, c1 = clusters
        run(rbd(c0, "import", str(dense), "images/peer"))
        run(rbd(c0, "snap", "create", "images/peer@snap"))
        run(rbd(c0, "snap", "protect", "images/peer@snap"))
        table = Table()

        clones, peer = [], []
        for i in range(args.repeat):
            vid, seconds = c.create(size=gib, imageRef=iid)
            clones.append(seconds)
            c.delete(vid)
            peer.append(run(" ".join(rbd(c0, "clone", "images/peer@snap", f"volumes/p{i}"))
                            + " && " + " ".join(rbd(c0, "resize", "--size", f"{gib}G",
                                                    f"volumes/p{i}"))))
            run(rbd(c0, "rm", f"volumes/p{i}"))
        table.add_times("volume from image, same cluster (COW clone)", median(clones),
                        f"rbd clone + resize: {median(peer):.3f} s; Cinder 29: "
                        f"{CINDER_CLONE_S} s")

        first, nxt, copy_peer = [], [], []
        for i in range(args.repeat):
            vid, seconds = c.create(size=gib, imageRef=iid, volume_type="dcn0")
            first.append(seconds)
            vid2, seconds = c.create(size=gib, imageRef=iid, volume_type="dcn0")
            nxt.append(seconds)
            c.delete(vid)
            c.delete(vid2)
            assert c.image.delete(f"/v2/stores/dcn0/{iid}").status_code == 204
            copy_peer.append(run(" ".join(rbd(c0, "export", "images/peer", "-")) + " | "
                                 + " ".join(rbd(c1, "import", "-", f"volumes/p{i}"))))
            run(rbd(c1, "rm", f"volumes/p{i}"))
            while "dcn0" in c.image.get(f"/v2/images/{iid}").json()["stores"]:
                time.sleep(0.05)
            time.sleep(1.5)  # the reaper removes the store's device (reap_interval_seconds)
        table.add("volume from image, other cluster, first (copy to its store + clone)",
                  median(first), median(copy_peer), size, "rbd export | rbd import")
        table.add_times("volume from image, other cluster, next (clone of the copy)",
                        median(nxt), "Cinder 29 from a file-store image: 9.7 s per GiB")

        blank, from_vol, snaps, deletes = [], [], [], []
        for _ in range(args.repeat):
            vid, seconds = c.create(size=gib)
            blank.append(seconds)
            clone, seconds = c.create(source_volid=vid)
            from_vol.append(seconds)
            start = time.perf_counter()
            sid = c.vol.post("/snapshots", json={"snapshot": {"volume_id": vid}}).json()[
                "snapshot"]["id"]
            snaps.append(time.perf_counter() - start)
            assert c.vol.delete(f"/snapshots/{sid}").status_code == 202
            c.gone(f"/snapshots/{sid}")
            deletes.append(c.delete(clone))
            c.delete(vid)
        table.add_times("blank volume", median(blank), "")
        table.add_times("volume from volume (clone)", median(from_vol), "")
        table.add_times("snapshot (create + protect)", median(snaps), "")
        table.add_times("delete a volume (until 404)", median(deletes), "")
        print()
        print(table.markdown())
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        for info in clusters:
            stop_cluster(info.dir)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
