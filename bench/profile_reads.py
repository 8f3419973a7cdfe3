"""Where an image read's time goes: each stage of the read path timed alone, in one process, then
whole requests over loopback one at a time.

    PYTHONPATH=src .venv/bin/python bench/profile_reads.py [--images 20] [--n 2000]

Stages: Fernet decrypt of the token; token validation (decrypt + revocation check + the rows the
token names, with or without the validated-token cache); the policy check; the database work of
a list and a show (one session, the Core rows, the view dicts), which a read pays only when the
read cache (services/images/read_cache.py) has not kept its answer; the read cache's lookup
(its data_version probe), which every read pays; the JSON encoding of the answer.
Then GET /v2/images and GET /v2/images/{id} against `cowcloud serve`, one at a time (latency
without queueing), with the server's CPU per request, beside GET /v2/schemas/image: the same
token check, middleware and HTTP work without the database, the floor of any read. Nothing is
written meanwhile, so after the first of each the read cache answers them.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT
from bench_control import cowcloud, cpu_seconds

sys.path.insert(0, str(ROOT / "tests"))
from server import ADMIN_PASSWORD, run_server  # noqa: E402

from cowcloud.api.image.common import decorate, page, view_response  # noqa: E402
from cowcloud.services.images.listing import page_ids, parse_query  # noqa: E402
from cowcloud.services.policy import enforce  # noqa: E402


def per_call(fn: Any, n: int) -> float:
    """CPU microseconds (this thread's) per call of fn(), best of 3 runs of n calls: CPU, not
    wall time, since the machine is shared and a wall clock counts the others' work too."""
    best = float("inf")
    for _ in range(3):
        start = time.thread_time()
        for _ in range(n):
            fn()
        best = min(best, time.thread_time() - start)
    return best / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp, \
            run_server(Path(tmp)) as srv:
        rt = srv.app.state.runtime
        body = json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": ADMIN_PASSWORD}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
        host, port = srv.url.split("//")[1].split(":")
        conn = http.client.HTTPConnection(host, int(port))

        def call(method: str, path: str, payload: str | bytes | None = None,
                 headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
            conn.request(method, path, payload, headers or {})
            resp = conn.getresponse()
            resp.data = resp.read()  # type: ignore[attr-defined]
            return resp

        token = call("POST", "/identity/v3/auth/tokens", body,
                     {"Content-Type": "application/json"}).getheader("X-Subject-Token")
        auth = {"X-Auth-Token": token}
        ids = []
        for i in range(args.images):
            resp = call("POST", "/image/v2/images", json.dumps({
                "name": f"bench-{i}", "disk_format": "raw", "container_format": "bare",
                "os_distro": "debian"}), {**auth, "Content-Type": "application/json"})
            iid = json.loads(resp.data)["id"]  # type: ignore[attr-defined]
            call("PUT", f"/image/v2/images/{iid}/file", os.urandom(4096),
                 {**auth, "Content-Type": "application/octet-stream"})
            ids.append(iid)
        info = rt.auth.validate(token)
        ctx = info.context()
        n = args.n
        q = parse_query([])
        svc = rt.images

        def list_db() -> Any:
            with rt.db.session() as s:
                return svc.list_in(s, ctx, q)[0]

        def show_db() -> Any:
            with rt.db.session() as s:
                return svc.show_in(s, ctx, ids[0])

        def page_only() -> Any:
            with rt.db.session() as s:
                return page_ids(s, ctx, q)

        listed = list_db()
        stages = {
            "fernet decrypt": lambda: rt.tokens.decode(token),
            "token validation (auth.validate)": lambda: rt.auth.validate(token),
            "policy check (image:get_image)": lambda: enforce(
                ctx, "image:get_image", {"owner": ctx.project_id, "visibility": "private"}),
            "empty session (begin/commit)": lambda: rt.db.session().__enter__().close(),
            "list: the page's ids (visibility, order)": page_only,
            f"list: database + views ({args.images} images)": list_db,
            "show: database + view": show_db,
            "list: JSON response": lambda: view_response(page(
                "images", [decorate(dict(i)) for i in listed], "/v2/images",
                "/v2/schemas/images", [], None)).body,
            "show: JSON response": lambda: view_response(decorate(dict(listed[0]))).body,
        }
        print("stage                                          us/call")
        for name, fn in stages.items():
            print(f"{name:<46} {per_call(fn, n if 'list' not in name else n // 10):>8.0f}",
                  flush=True)

    # whole requests against `cowcloud serve` in its own process (a server in a thread of this
    # process would share its GIL with the client)
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp, \
            cowcloud(Path(tmp), args.images) as target:
        host, port = target.reads.split("//")[1].split("/")[0].split(":")
        conn = http.client.HTTPConnection(host, int(port))
        auth = target.read_headers[0]
        # the floor: an authenticated route that reads nothing (token, routing, middleware,
        # uvicorn, the socket)
        for label, path in (("GET /v2/schemas/image", "/image/v2/schemas/image"),
                            ("GET /v2/images", "/image/v2/images"),
                            ("GET /v2/images/{id}", f"/image/v2/images/{target.image_ids[0]}")):
            times = []
            cpu = cpu_seconds(target.pids["reads"])
            for _ in range(args.n // 4):
                start = time.perf_counter()
                conn.request("GET", path, None, auth)
                resp = conn.getresponse()
                resp.read()
                times.append(time.perf_counter() - start)
                assert resp.status == 200, resp.status
            cpu = (cpu_seconds(target.pids["reads"]) - cpu) / (args.n // 4)
            times.sort()
            print(f"{label + ' serial, p50 / p99 (us)':<46} {times[len(times) // 2] * 1e6:>8.0f}"
                  f" / {times[int(len(times) * 0.99)] * 1e6:.0f}; server CPU {cpu * 1e6:.0f} us",
                  flush=True)


if __name__ == "__main__":
    main()
