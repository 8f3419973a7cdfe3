"""`cowcloud config check` against real Ceph clusters: what it reports on stdout, line by line,
and its exit status, for a good file and for each problem an operator meets (a missing ceph.conf,
a cluster nobody answers for, a pool that is not there, a user whose caps only allow reading)."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from ceph_clusters import CephClusterInfo
from server import VENV_BIN

SRC = Path(__file__).resolve().parents[1] / "src"


def check(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run([str(VENV_BIN / "cowcloud"), "config", "check", "--config", str(config),
                           *extra], capture_output=True, text=True, timeout=120, env=env)


def lines_about(out: str, subject: str) -> list[str]:
    """The lines whose subject (after `ok`/`problem` and the padding) is `subject`."""
    return [line for line in out.splitlines() if line[9:].startswith(f"{subject}: ")]


def ceph(info: CephClusterInfo, *args: str) -> str:
    return subprocess.run(["ceph", "-c", str(info.conf), "-k", str(info.keyring), *args],
                          check=True, capture_output=True, text=True, timeout=60).stdout


def rbd_ls(info: CephClusterInfo, pool: str) -> list[str]:
    return subprocess.run(["rbd", "-c", str(info.conf), "-k", str(info.keyring), "ls", pool],
                          check=True, capture_output=True, text=True, timeout=60).stdout.split()


@pytest.fixture(scope="module")
def limited(ceph_clusters: list[CephClusterInfo], tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Path]:
    """client.limited on cluster 0: may read pool images, write nowhere; its keyring file."""
    c0 = ceph_clusters[0]
    keyring = tmp_path_factory.mktemp("limited") / "ceph.client.limited.keyring"
    keyring.write_text(ceph(c0, "auth", "get-or-create", "client.limited", "mon", "profile rbd",
                            "osd", "profile rbd-read-only pool=images"))
    yield keyring
    ceph(c0, "auth", "del", "client.limited")


def rbd_cluster(name: str, site: str, conf: Path, keyring: Path, user: str) -> str:
    return (f'[clusters.{name}]\nkind = "rbd"\nsite = "{site}"\nconf = "{conf}"\n'
            f'keyring = "{keyring}"\nuser = "{user}"\n')


def store(section: str, name: str, cluster: str, pool: str) -> str:
    return f'[{section}.{name}]\ncluster = "{cluster}"\npool = "{pool}"\n'


def test_a_good_file_reports_every_cluster_and_target_ok(
        ceph_clusters: list[CephClusterInfo], tmp_path: Path) -> None:
    c0, c1 = ceph_clusters
    config = tmp_path / "cowcloud.toml"
    config.write_text("\n".join([
        f'[server]\ndata_dir = "{tmp_path / "data"}"\n',
        "[sites.central]\n[sites.dcn0]\n",
        rbd_cluster("central", "central", c0.conf, c0.keyring, c0.user),
        rbd_cluster("dcn0", "dcn0", c1.conf, c1.keyring, c1.user),
        store("image_stores", "default_backend", "central", "images"),
        store("image_stores", "dcn0", "dcn0", "images"),
        store("volume_backends", "central", "central", "volumes"),
    ]))
    res = check(config)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert lines_about(out, "cluster central") == [
        f"ok       cluster central: conf {c0.conf}: readable",
        f"ok       cluster central: keyring {c0.keyring}: readable",
        f"ok       cluster central: reached as client.{c0.user}, fsid {c0.fsid}"]
    assert f"reached as client.{c1.user}, fsid {c1.fsid}" in lines_about(out, "cluster dcn0")[-1]
    assert lines_about(out, "image store dcn0") == [
        f"ok       image store dcn0: pool images on cluster dcn0: client.{c1.user} can read "
        "and write"]
    assert lines_about(out, "volume backend central")[0].startswith("ok ")
    assert out.splitlines()[-1].startswith("all ") and "problem" not in out
    # the write probe cleans up after itself
    for info in (c0, c1):
        assert not [n for n in rbd_ls(info, "images") if n.startswith("cowcloud-config-check")]


def test_each_problem_is_one_line_and_the_exit_status_says_so(
        ceph_clusters: list[CephClusterInfo], limited: Path, tmp_path: Path) -> None:
    c0 = ceph_clusters[0]
    with socket.socket() as s:  # a port nobody listens on once closed
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    dead_conf = tmp_path / "dead.conf"
    dead_conf.write_text(f"[global]\nfsid = 3161a3b4-e5ff-42a0-9f53-860403b29a33\n"
                         f"mon_host = v2:127.0.0.1:{dead_port}\n")
    wrong_key = tmp_path / "wrong.keyring"  # client.admin, but not the key the cluster knows
    subprocess.run(["ceph-authtool", "--create-keyring", str(wrong_key), "--gen-key", "-n",
                    "client.admin"], check=True, capture_output=True, timeout=30)
    config = tmp_path / "cowcloud.toml"
    config.write_text("\n".join([
        f'[server]\ndata_dir = "{tmp_path / "data"}"\n',
        "[sites.a]\n",
        rbd_cluster("wrongkey", "a", c0.conf, wrong_key, "admin"),
        rbd_cluster("gone", "a", tmp_path / "no" / "ceph.conf", c0.keyring, "admin"),
        rbd_cluster("dead", "a", dead_conf, c0.keyring, "admin"),
        rbd_cluster("central", "a", c0.conf, c0.keyring, c0.user),
        rbd_cluster("readonly", "a", c0.conf, limited, "limited"),
        store("image_stores", "on_gone", "gone", "images"),
        store("image_stores", "on_dead", "dead", "images"),
        store("image_stores", "nopool", "central", "nosuch"),
        store("image_stores", "limited", "readonly", "images"),
        store("backup_targets", "limited_backups", "readonly", "volumes"),
    ]))
    res = check(config, "--timeout", "2")
    assert res.returncode == 1, res.stdout + res.stderr
    out = res.stdout

    gone = lines_about(out, "cluster gone")
    assert gone[0] == (f"problem  cluster gone: conf {tmp_path}/no/ceph.conf: cannot read: "
                       "No such file or directory"), out
    assert len(gone) == 2 and gone[1].startswith("ok       cluster gone: keyring")
    assert lines_about(out, "image store on_gone") == [
        "problem  image store on_gone: pool images not checked: cluster gone was not contacted"]

    dead = lines_about(out, "cluster dead")
    assert dead[-1].startswith("problem  cluster dead: connect to") and "timed out" in dead[-1]
    assert "no monitor answered within 2s" in dead[-1]
    assert lines_about(out, "image store on_dead")[0].startswith("problem ")

    wrong = lines_about(out, "cluster wrongkey")[-1]
    assert wrong.startswith("problem  cluster wrongkey: connect to") and "permission" in wrong.lower()
    assert wrong.endswith("(is the key of client.admin in the keyring the one the cluster knows?)")

    assert lines_about(out, "cluster central")[-1].startswith("ok ")
    nopool = lines_about(out, "image store nopool")
    assert nopool == ["problem  image store nopool: pool nosuch on cluster central: does not "
                      "exist (create it: ceph osd pool create nosuch; rbd pool init nosuch)"]

    # reaching the cluster is fine, the caps are not: reading images yes, writing no
    assert lines_about(out, "cluster readonly")[-1].startswith(
        "ok       cluster readonly: reached as client.limited")
    ro = lines_about(out, "image store limited")
    assert len(ro) == 1 and ro[0].startswith(
        "problem  image store limited: pool images on cluster readonly: read only: create rbd "
        "image images/cowcloud-config-check-"), out
    assert "client.limited needs osd 'profile rbd pool=images'" in ro[0]
    no_read = lines_about(out, "backup target limited_backups")
    assert len(no_read) == 1 and "cannot read" in no_read[0]
    assert "needs osd 'profile rbd pool=volumes'" in no_read[0]

    assert out.splitlines()[-1].endswith("checks") and " problem(s) in " in out
    assert not [n for n in rbd_ls(c0, "images") if n.startswith("cowcloud-config-check")]


def test_an_invalid_file_is_reported_on_stdout_with_status_2(tmp_path: Path) -> None:
    config = tmp_path / "cowcloud.toml"
    config.write_text('[image]\nshow_image_direct_url = true\n')
    res = check(config)
    assert res.returncode == 2
    assert res.stdout.startswith("problem  configuration: ")
    assert "image.show_image_direct_url" in res.stdout and "[image] show_locations" in res.stdout


def test_the_database_is_reached_or_named_as_a_problem(postgres_url: str, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    for url, status, words in (
            (postgres_url, 0, "ok       database: "),
            (f"postgresql://cowcloud@127.0.0.1:{dead_port}/cowcloud", 1,
             "problem  database: postgresql://cowcloud@127.0.0.1:"),
    ):
        config = tmp_path / "cowcloud.toml"
        config.write_text(f'[server]\ndata_dir = "{tmp_path / "data"}"\ndatabase = "{url}"\n')
        res = check(config, "--timeout", "2")
        assert res.returncode == status, res.stdout
        (line,) = lines_about(res.stdout, "database")
        assert line.startswith(words), line
        assert line.endswith(": reached") if status == 0 else "cannot connect" in line
