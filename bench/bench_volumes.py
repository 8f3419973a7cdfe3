"""Volume API benchmarks: a real `cowcloud serve` over two Ceph clusters, timed from the client
(POST /volumes until status available), against the rbd CLI doing the same by hand in the same
run, and Cinder 29's figures from REFERENCE section 7.

    .venv/bin/python bench/bench_volumes.py [--size-mib 1024] [--repeat 3]

Measures, for an image of --size-mib random bytes in store central (cluster 0):
- a volume from it in the same cluster (a COW clone) vs `rbd clone` + `rbd resize`;
- a volume from it in the other cluster, first time (the image is copied once into that
  cluster's store, then cloned) vs `rbd export | rbd import`, and the next volume there (a clone);
- a blank volume, a volume from a volume (clone), a snapshot, and a delete;
- backups of a volume holding --size-mib random bytes into pool backups of the same cluster:
  full, incremental after 16 MiB of random writes, restore of that incremental into a new
  volume (POST until available), against the same-run `rbd export-diff | rbd import-diff`
  that Cinder's Ceph driver runs (BAK-02) and Cinder 29's figures. `--backups-only` skips the
  sections above.
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
# MEASURED.md / REFERENCE section 7: Cinder 29's Ceph backup driver, 1 GiB volume
CINDER_FULL_S, CINDER_INCR_S, CINDER_RESTORE_S = 4.05, 1.95, 6.15
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
    for section in ("image_stores", "volume_backends", "backup_targets"):
        pool = {"image_stores": "images", "volume_backends": "volumes"}.get(section, "backups")
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

    def backup(self, vid: str, **spec: object) -> tuple[str, float]:
        """(backup id, seconds from POST until available)."""
        start = time.perf_counter()
        bid = self.vol.post("/backups", json={"backup": {"volume_id": vid, **spec}}).json()[
            "backup"]["id"]
        while True:
            got = self.vol.get(f"/backups/{bid}").json()["backup"]["status"]
            if got == "available":
                return bid, time.perf_counter() - start
            assert got != "error", bid
            time.sleep(0.02)

    def drop_backup(self, bid: str) -> None:
        assert self.vol.delete(f"/backups/{bid}").status_code == 202
        self.gone(f"/backups/{bid}")

    def delete(self, vid: str) -> float:
        start = time.perf_counter()
        assert self.vol.delete(f"/volumes/{vid}").status_code == 202
        self.gone(f"/volumes/{vid}")
        return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--backups-only", action="store_true")
    args = ap.parse_args()
    size = args.size_mib * MiB
    gib = -(-size // GiB) + 1  # volumes one GiB larger than the image: the clone is resized
    root = Path(tempfile.mkdtemp(prefix="bench-volumes-"))
    clusters = []
    proc = None
    try:
        for i in range(2):
            clusters.append(start_cluster(root / f"c{i}", pools=("images", "volumes", "backups"),
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
        if args.backups_only:
            bench_backups(c, c0, dense, size, args.repeat, table)
            print()
            print(table.markdown())
            return
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
        bench_backups(c, c0, dense, size, args.repeat, table)
        print()
        print(table.markdown())
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        for info in clusters:
            stop_cluster(info.dir)
        shutil.rmtree(root, ignore_errors=True)


def bench_backups(c: Client, c0, dense: Path, size: int, repeat: int,  # type: ignore[no-untyped-def]
                  table: Table) -> None:
    gib = -(-size // GiB)
    vid, _ = c.create(size=gib)
    dev = f"volumes/volume-{vid}"
    run(["qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", str(dense),
         f"rbd:{dev}:conf={c0.conf}:id={c0.user}:keyring={c0.keyring}"])
    change = rbd(c0, "bench", "--io-type", "write", "--io-size", "4M", "--io-threads", "1",
                 "--io-total", "16M", "--io-pattern", "rand", dev)
    full, incr, restore, p_full, p_incr, p_restore = [], [], [], [], [], []
    for i in range(repeat):
        bid, seconds = c.backup(vid)
        full.append(seconds)
        run(change)
        inc, seconds = c.backup(vid, incremental=True)
        incr.append(seconds)
        start = time.perf_counter()
        new = c.vol.post(f"/backups/{inc}/restore", json={"restore": {}}).json()[
            "restore"]["volume_id"]
        c.wait(new)
        restore.append(time.perf_counter() - start)
        c.delete(new)
        for b in (inc, bid):
            c.drop_backup(b)

        # the peer, as Cinder's driver pipes it: a base image, then export-diff | import-diff
        base, s1, s2 = f"backups/peer{i}", f"{dev}@peer{i}a", f"{dev}@peer{i}b"
        p_full.append(run(" && ".join([
            " ".join(rbd(c0, "snap", "create", "--no-progress", s1)),
            " ".join(rbd(c0, "create", "--size", f"{gib}G", base)),
            " ".join(rbd(c0, "export-diff", "--no-progress", s1, "-")) + " | "
            + " ".join(rbd(c0, "import-diff", "--no-progress", "-", base))])))
        run(change)
        p_incr.append(run(" && ".join([
            " ".join(rbd(c0, "snap", "create", "--no-progress", s2)),
            " ".join(rbd(c0, "export-diff", "--no-progress", "--from-snap", f"peer{i}a", s2,
                         "-")) + " | "
            + " ".join(rbd(c0, "import-diff", "--no-progress", "-", base))])))
        p_restore.append(run(" && ".join([
            " ".join(rbd(c0, "create", "--size", f"{gib}G", f"volumes/peer{i}r")),
            " ".join(rbd(c0, "export-diff", "--no-progress", f"{base}@peer{i}b", "-")) + " | "
            + " ".join(rbd(c0, "import-diff", "--no-progress", "-", f"volumes/peer{i}r"))])))
        run(rbd(c0, "snap", "purge", "--no-progress", f"volumes/peer{i}r"))  # import-diff's
        run(rbd(c0, "rm", "--no-progress", f"volumes/peer{i}r"))
        run(rbd(c0, "snap", "purge", "--no-progress", base))
        run(rbd(c0, "rm", "--no-progress", base))
        for snap in (s1, s2):
            run(rbd(c0, "snap", "rm", "--no-progress", snap))
        print(f"  backups, run {i + 1}: full {full[-1]:.2f} s, incremental {incr[-1]:.2f} s, "
              f"restore {restore[-1]:.2f} s; peer {p_full[-1]:.2f} / {p_incr[-1]:.2f} / "
              f"{p_restore[-1]:.2f} s", flush=True)
    table.add("backup, full (POST until available)", median(full), median(p_full), size,
              "rbd export-diff | import-diff")
    table.add_times("  (Cinder 29, full backup of 1 GiB)", CINDER_FULL_S, "")
    table.add_times("backup, incremental of 16 MiB changed", median(incr),
                    f"rbd export-diff --from-snap | import-diff: {median(p_incr):.3f} s; "
                    f"Cinder 29: {CINDER_INCR_S} s")
    table.add("restore of the incremental into a new volume", median(restore),
              median(p_restore), size, "rbd export-diff | import-diff")
    table.add_times("  (Cinder 29, restore of 1 GiB)", CINDER_RESTORE_S, "")
    c.delete(vid)


if __name__ == "__main__":
    main()
