"""Volume API benchmarks: a real `cowcloud serve` over two Ceph clusters, timed from the client
(POST /volumes until status available), against the rbd CLI doing the same by hand in the same
run, and Cinder 29's figures from REFERENCE section 7.

    .venv/bin/python bench/bench_volumes.py [--size-mib 1024] [--repeat 3]
        [--only clone,concurrent,far,misc,backups]

Measures, for an image of --size-mib random bytes in store central (cluster 0):
- a volume from it in the same cluster (a COW clone) vs `rbd clone` + `rbd resize`;
- a volume from it in the other cluster, first time (the image is copied once into that
  cluster's store, then cloned) vs `rbd export | rbd import`, the copy-image import alone (that
  first volume's copy step, so the rest is the volume's own overhead), and the next volume
  there (a clone); bench/profile_copy.py splits the copy itself into its stages;
- a volume from a --small-mib image vs from the --size-mib one, same cluster (flat in size:
  the ratio of the two medians), each beside `rbd clone` + `rbd resize` of the same size, the
  two sizes alternating, at least 5 rounds (a clone is quick, and the machine is shared);
- --concurrent volumes from one image POSTed at once (each timed from its POST until a listing
  shows it available), p50/p99/max and errors, then as many deletes at once (until gone),
  beside the same number of `rbd clone` (and `rbd rm`) processes started at once;
- a blank volume, a volume from a volume (clone), a snapshot, and a delete;
- backups of a volume holding --size-mib random bytes into pool backups of the same cluster:
  full, incremental after 16 MiB of random writes, restore of that incremental into a new
  volume (POST until available), against the same-run `rbd export-diff | rbd import-diff`
  that Cinder's Ceph driver runs (BAK-02) and Cinder 29's figures. `--backups-only` skips the
  sections above.
"""

from __future__ import annotations

import argparse
import asyncio
import os
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


SECTIONS = ("clone", "concurrent", "far", "misc", "backups")


def pct(values: list[float], q: float) -> float:
    """The q-th percentile, nearest rank (p99 of 50 is the 50th value)."""
    values = sorted(values)
    return values[min(len(values) - 1, max(0, -(-len(values) * q // 100) - 1))]


def upload(c: Client, path: Path, name: str) -> str:
    iid = c.image.post("/v2/images", json={"name": name, "disk_format": "raw",
                                           "container_format": "bare"}).json()["id"]
    with path.open("rb") as f:
        assert c.image.put(f"/v2/images/{iid}/file", content=f, headers={
            "Content-Type": "application/octet-stream"}).status_code == 204
    return iid


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--small-mib", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--concurrent", type=int, default=50)
    ap.add_argument("--only", default=",".join(SECTIONS),
                    help=f"comma-separated sections of {', '.join(SECTIONS)}")
    ap.add_argument("--backups-only", action="store_true")
    args = ap.parse_args()
    only = set(["backups"] if args.backups_only else args.only.split(","))
    assert only <= set(SECTIONS), only
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
        print(f"server pid {proc.pid}", flush=True)
        c = Client(url)
        iid = upload(c, dense, "bench")
        far = c.vol.post("/types", json={"volume_type": {
            "name": "dcn0", "extra_specs": {"volume_backend_name": "dcn0"}}}).json()
        assert far["volume_type"]["name"] == "dcn0"
        c0, c1 = clusters
        run(rbd(c0, "import", str(dense), "images/peer"))
        run(rbd(c0, "snap", "create", "images/peer@snap"))
        run(rbd(c0, "snap", "protect", "images/peer@snap"))
        print(f"load average at start: {os.getloadavg()}", flush=True)
        table = Table()
        if "clone" in only:
            small = root / "small.raw"
            make_dense(small, args.small_mib * MiB)
            small_iid = upload(c, small, "bench-small")
            run(rbd(c0, "import", str(small), "images/small"))
            run(rbd(c0, "snap", "create", "images/small@snap"))
            run(rbd(c0, "snap", "protect", "images/small@snap"))
            sizes = {args.small_mib: (small_iid, "images/small@snap"),
                     args.size_mib: (iid, "images/peer@snap")}
            ours, peers = bench_clone(c, c0, sizes, gib, max(args.repeat, 5))
            for label in sizes:
                table.add_times(f"volume from a {label} MiB image, same cluster (COW clone)",
                                ours[label], f"rbd clone + resize: {peers[label]:.3f} s; "
                                f"Cinder 29: {CINDER_CLONE_S} s")
            big, little = ours[args.size_mib], ours[args.small_mib]
            table.rows.append((f"  ratio {args.size_mib} MiB / {args.small_mib} MiB image",
                               f"{big / little:.2f}", f"rbd clone + resize: "
                               f"{peers[args.size_mib] / peers[args.small_mib]:.2f}", ""))
            print(f"  ratio {args.size_mib} MiB / {args.small_mib} MiB: {big / little:.2f}; rbd "
                  f"{peers[args.size_mib] / peers[args.small_mib]:.2f}", flush=True)
        if "concurrent" in only:
            bench_concurrent(c, c0, iid, gib, args.concurrent, args.repeat, table, proc.pid)
        if "far" in only:
            bench_far(c, c0, c1, iid, gib, size, args.repeat, table)
        if "misc" in only:
            bench_misc(c, gib, args.repeat, table)
        if "backups" in only:
            bench_backups(c, c0, dense, size, args.repeat, table)
        print(f"load average at end: {os.getloadavg()}")
        print()
        print(table.markdown())
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        for info in clusters:
            stop_cluster(info.dir)
        shutil.rmtree(root, ignore_errors=True)


def bench_clone(c: Client, c0, sizes: dict[int, tuple[str, str]],  # type: ignore[no-untyped-def]
                gib: int, repeat: int) -> tuple[dict[int, float], dict[int, float]]:
    """Medians per image size of (a volume from the image, `rbd clone` of its peer snapshot +
    resize). The sizes alternate within each round, so a change of load hits both alike."""
    ours: dict[int, list[float]] = {k: [] for k in sizes}
    peer: dict[int, list[float]] = {k: [] for k in sizes}
    for i in range(repeat):
        for label, (iid, peer_snap) in sizes.items():
            vid, seconds = c.create(size=gib, imageRef=iid)
            ours[label].append(seconds)
            c.delete(vid)
            peer[label].append(run(" ".join(rbd(c0, "clone", peer_snap, f"volumes/p{i}"))
                                   + " && " + " ".join(rbd(c0, "resize", "--size", f"{gib}G",
                                                           f"volumes/p{i}"))))
            run(rbd(c0, "rm", "--no-progress", f"volumes/p{i}"))
    return ({k: median(v) for k, v in ours.items()}, {k: median(v) for k, v in peer.items()})


async def _listing(ac: httpx.AsyncClient) -> dict[str, str]:
    body = (await ac.get("/volumes/detail", params={"limit": 1000})).json()
    return {v["id"]: v["status"] for v in body["volumes"]}


async def _concurrent(c: Client, iid: str, gib: int, n: int
                      ) -> tuple[list[float], int, list[float], int]:
    """(seconds to available of each volume, errors, seconds to gone of each delete, errors).

    Each volume is timed from its own POST; one watcher lists /volumes/detail, so fifty clients
    polling do not load the server that is being measured."""
    async with httpx.AsyncClient(base_url=str(c.vol.base_url), timeout=600,
                                 headers={"X-Auth-Token": c.token},
                                 limits=httpx.Limits(max_connections=n + 2)) as ac:
        async def post() -> tuple[str | None, float]:
            start = time.perf_counter()
            resp = await ac.post("/volumes", json={"volume": {"size": gib, "imageRef": iid}})
            return (resp.json()["volume"]["id"] if resp.status_code == 202 else None), start

        posted = await asyncio.gather(*(post() for _ in range(n)))
        started = {vid: t for vid, t in posted if vid is not None}
        errors = n - len(started)
        took: dict[str, float] = {}
        failed: set[str] = set()
        while len(took) + len(failed) < len(started):
            seen = await _listing(ac)
            now = time.perf_counter()  # after the answer: never flatters
            for vid, status in seen.items():
                if vid in started and vid not in took and vid not in failed:
                    if status == "error":
                        failed.add(vid)
                    elif status == "available":
                        took[vid] = now - started[vid]
            await asyncio.sleep(0.05)  # a listing costs the server too

    # New connections for the deletes: the server closes ones idle past its keep-alive, and a
    # request sent on one as it closes fails.
    async with httpx.AsyncClient(base_url=str(c.vol.base_url), timeout=600,
                                 headers={"X-Auth-Token": c.token},
                                 limits=httpx.Limits(max_connections=n + 2)) as ac:
        async def delete(vid: str) -> tuple[str, float, bool]:
            start = time.perf_counter()
            resp = await ac.delete(f"/volumes/{vid}")
            return vid, start, resp.status_code == 202

        deleted = await asyncio.gather(*(delete(v) for v in started))
        begun = {vid: t for vid, t, ok in deleted if ok}
        del_errors = len(deleted) - len(begun)
        gone: dict[str, float] = {}
        while len(gone) < len(begun):
            live = await _listing(ac)
            now = time.perf_counter()
            for vid, t in begun.items():
                if vid not in gone and vid not in live:
                    gone[vid] = now - t
            await asyncio.sleep(0.05)
        return list(took.values()), errors + len(failed), list(gone.values()), del_errors


def _peer_at_once(cmds: list[str]) -> list[float]:
    """Starts every command at once; the seconds each took."""
    start = time.perf_counter()
    procs = [subprocess.Popen(cmd, shell=True, stdout=subprocess.DEVNULL) for cmd in cmds]
    ends: dict[int, float] = {}  # polled, so each end is seen when it happens
    while len(ends) < len(procs):
        for i, p in enumerate(procs):
            if i not in ends and p.poll() is not None:
                assert p.returncode == 0, cmds[i]
                ends[i] = time.perf_counter() - start
        time.sleep(0.01)
    return list(ends.values())


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_concurrent(c: Client, c0, iid: str, gib: int, n: int,  # type: ignore[no-untyped-def]
                     repeat: int, table: Table, server_pid: int) -> None:
    rows: dict[str, list[float]] = {k: [] for k in ("p50", "p99", "max", "dp50", "dp99", "dmax",
                                                    "wall", "pp50", "pp99", "pmax", "pdp50",
                                                    "pdp99", "pdmax")}
    errs = del_errs = 0
    for r in range(repeat):
        start, cpu = time.perf_counter(), cpu_of(server_pid)
        took, e, gone, de = asyncio.run(_concurrent(c, iid, gib, n))
        rows["wall"].append(time.perf_counter() - start)
        rows.setdefault("cpu", []).append(cpu_of(server_pid) - cpu)
        errs += e
        del_errs += de
        for key, vals in (("", took), ("d", gone)):
            rows[key + "p50"].append(pct(vals, 50))
            rows[key + "p99"].append(pct(vals, 99))
            rows[key + "max"].append(max(vals))
        peer = _peer_at_once([" ".join(rbd(c0, "clone", "images/peer@snap", f"volumes/c{r}x{i}"))
                              + " && " + " ".join(rbd(c0, "resize", "--size", f"{gib}G",
                                                      f"volumes/c{r}x{i}")) for i in range(n)])
        pgone = _peer_at_once([" ".join(rbd(c0, "rm", "--no-progress", f"volumes/c{r}x{i}"))
                               for i in range(n)])
        for key, vals in (("p", peer), ("pd", pgone)):
            rows[key + "p50"].append(pct(vals, 50))
            rows[key + "p99"].append(pct(vals, 99))
            rows[key + "max"].append(max(vals))
        print(f"  {n} at once, run {r + 1}: create p50 {rows['p50'][-1]:.2f} p99 "
              f"{rows['p99'][-1]:.2f} max {rows['max'][-1]:.2f} s, errors {e}; delete p50 "
              f"{rows['dp50'][-1]:.2f} p99 {rows['dp99'][-1]:.2f} s, errors {de}; peer create "
              f"p50 {rows['pp50'][-1]:.2f} p99 {rows['pp99'][-1]:.2f}; server CPU "
              f"{rows['cpu'][-1]:.1f} s in {rows['wall'][-1]:.1f} s; load "
              f"{os.getloadavg()[0]:.1f}", flush=True)
    m = {k: median(v) for k, v in rows.items()}
    table.add_times(f"{n} volumes from one image at once: p50", m["p50"],
                    f"{n} x (rbd clone + resize) at once: p50 {m['pp50']:.3f} s")
    table.add_times(f"  p99 / max (errors {errs})", m["p99"],
                    f"max {m['max']:.3f} s; rbd p99 {m['pp99']:.3f} s, max {m['pmax']:.3f} s")
    table.add_times(f"{n} deletes at once: p50", m["dp50"],
                    f"{n} x rbd rm at once: p50 {m['pdp50']:.3f} s")
    table.add_times(f"  p99 / max (errors {del_errs})", m["dp99"],
                    f"max {m['dmax']:.3f} s; rbd p99 {m['pdp99']:.3f} s, max {m['pdmax']:.3f} s")


def bench_far(c: Client, c0, c1, iid: str, gib: int, size: int,  # type: ignore[no-untyped-def]
              repeat: int, table: Table) -> None:
    def drop_far_copy() -> None:
        assert c.image.delete(f"/v2/stores/dcn0/{iid}").status_code == 204
        while "dcn0" in c.image.get(f"/v2/images/{iid}").json()["stores"]:
            time.sleep(0.05)
        time.sleep(1.5)  # the reaper removes the store's device (reap_interval_seconds)

    first, nxt, copy_peer, copy_image = [], [], [], []
    for i in range(repeat):
        # the copy-image import alone (the first volume's copy step), until the store is listed
        start = time.perf_counter()
        assert c.image.post(f"/v2/images/{iid}/import", json={
            "method": {"name": "copy-image"}, "stores": ["dcn0"]}).status_code == 202
        while "dcn0" not in c.image.get(f"/v2/images/{iid}").json()["stores"]:
            time.sleep(0.02)
        copy_image.append(time.perf_counter() - start)
        drop_far_copy()
        vid, seconds = c.create(size=gib, imageRef=iid, volume_type="dcn0")
        first.append(seconds)
        vid2, seconds = c.create(size=gib, imageRef=iid, volume_type="dcn0")
        nxt.append(seconds)
        c.delete(vid)
        c.delete(vid2)
        copy_peer.append(run(" ".join(rbd(c0, "export", "images/peer", "-")) + " | "
                             + " ".join(rbd(c1, "import", "-", f"volumes/p{i}"))))
        run(rbd(c1, "rm", "--no-progress", f"volumes/p{i}"))
        print(f"  other cluster, run {i + 1}: first {first[-1]:.2f} s, next {nxt[-1]:.3f} s; "
              f"copy-image alone {copy_image[-1]:.2f} s; rbd export | rbd import "
              f"{copy_peer[-1]:.2f} s; load {os.getloadavg()[0]:.1f}", flush=True)
        drop_far_copy()
    table.add("volume from image, other cluster, first (copy to its store + clone)",
              median(first), median(copy_peer), size, "rbd export | rbd import")
    table.add("  its copy step alone: copy-image import into that store", median(copy_image),
              median(copy_peer), size, "rbd export | rbd import")
    table.add_times("volume from image, other cluster, next (clone of the copy)",
                    median(nxt), "Cinder 29 from a file-store image: 9.7 s per GiB")


def bench_misc(c: Client, gib: int, repeat: int, table: Table) -> None:
    blank, from_vol, snaps, deletes = [], [], [], []
    for _ in range(repeat):
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
    table.add_times("snapshot (create + protect)", median(snaps), "Cinder 29: 1.0 s")
    table.add_times("delete a volume (until 404)", median(deletes), "")


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
