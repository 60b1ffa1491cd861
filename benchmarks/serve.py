"""Serving benchmark: ``recsys serve`` on a lake, load from ``wrk`` on 127.0.0.1.

For each lake (built first with ``recsys pipeline --size <preset>`` unless it exists) the server
runs in its own process (uvicorn, one worker), and the script measures:

- ``GET /users/{id}/recommendations`` with ``wrk`` (one thread, ``--connections`` connections,
  a random known user per request): requests/s and latency percentiles;
- ``POST /users/{id}/ratings`` (one rating, fold-in and a Delta commit each): latencies of
  sequential requests from one client, and ``wrk`` at 8 connections (commits are batched);
- the server's resident memory (``VmRSS``) after the load, and its start-up time.

    .venv/bin/python benchmarks/serve.py --sizes 1m,10m --lakes /tmp/serve-lakes
    .venv/bin/python benchmarks/serve.py --lake /tmp/qs    # an existing lake

Needs Debian's ``wrk`` (``apt-get install wrk``). The server and wrk share the machine's cores:
run it alone.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GET_SCRIPT = """
math.randomseed(42)
local users = {%s}
request = function()
  return wrk.format("GET", "/users/" .. users[math.random(#users)] .. "/recommendations")
end
"""
POST_SCRIPT = """
math.randomseed(7)
local users = {%s}
local movies = {%s}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local body = '{"ratings":[{"movie_id":' .. movies[math.random(#movies)] .. ',"rating":4}]}'
  return wrk.format(nil, "/users/" .. users[math.random(#users)] .. "/ratings", nil, body)
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(size: str, root: Path) -> None:
    if (root / "recommendations").exists():
        return
    print(f"building the {size} lake in {root} (recsys pipeline --size {size})", flush=True)
    subprocess.run(
        [sys.executable, "-m", "recsys.cli", "pipeline", "--size", size, "--lake-root",
         str(root), "--stages", "ingest,als,content,blend"],
        check=True, cwd=REPO,
    )  # fmt: skip


def get(port: int, path: str) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path)
    return json.loads(conn.getresponse().read())


def start(root: Path, port: int) -> tuple[subprocess.Popen, float]:
    t0 = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "recsys.cli", "serve", "--lake-root", str(root), "--port",
         str(port), "--set", "serve.reload_seconds=0"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    while True:
        try:
            get(port, "/health")
            return server, time.perf_counter() - t0
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"recsys serve exited with {server.returncode}") from None
            time.sleep(0.2)


def wrk(port: int, script: str, connections: int, seconds: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", f.name,
         f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    os.unlink(f.name)

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms("50%"),
        "p99": ms("99%"),
        "errors": int(errors.group(1)) if errors else 0,
    }


def sequential_posts(port: int, users: list[int], movies: list[int], count: int) -> list[float]:
    rng = random.Random(3)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    took = []
    for _ in range(count):
        body = json.dumps({"ratings": [{"movie_id": rng.choice(movies), "rating": 4}]})
        t0 = time.perf_counter()
        conn.request("POST", f"/users/{rng.choice(users)}/ratings", body,
                     {"Content-Type": "application/json"})  # fmt: skip
        response = conn.getresponse()
        response.read()
        took.append((time.perf_counter() - t0) * 1000)
        assert response.status == 200, response.status
    return sorted(took)


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024


def measure(label: str, root: Path, args: argparse.Namespace) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="recsys-serve-"))
    lake = work / "lake"  # a copy: the posts write feedback, the built lake stays as it was
    shutil.copytree(root, lake, ignore=shutil.ignore_patterns("_eval", "_models", "feedback"))
    port = free_port()
    server, startup = start(lake, port)
    try:
        health = get(port, "/health")
        import deltalake

        recs = deltalake.DeltaTable(str(lake / "recommendations")).to_pyarrow_table(
            columns=["user_id"]
        )
        users = sorted(set(recs.column("user_id").to_pylist()))
        sample = random.Random(1).sample(users, min(len(users), 5000))
        movies = get(port, "/popular?n=100")["items"]
        movie_ids = [m["movie_id"] for m in movies]
        ids = ",".join(map(str, sample))
        wrk(port, GET_SCRIPT % ids, args.connections, 3)  # warm-up
        got = wrk(port, GET_SCRIPT % ids, args.connections, args.seconds)
        seq = sequential_posts(port, sample, movie_ids, args.posts)
        posts = wrk(port, POST_SCRIPT % (ids, ",".join(map(str, movie_ids))), 8, args.seconds)
        return {
            "lake": label,
            "users": health["users"],
            "movies": health["movies"],
            "startup_s": startup,
            "get_rps": got["rps"],
            "get_p50_ms": got["p50"],
            "get_p99_ms": got["p99"],
            "get_errors": got["errors"],
            "post_seq_p50_ms": seq[len(seq) // 2],
            "post_seq_p99_ms": seq[int(len(seq) * 0.99) - 1],
            "post8_rps": posts["rps"],
            "post8_p99_ms": posts["p99"],
            "post_errors": posts["errors"],
            "rss_mib": rss_mib(server.pid),
        }
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1m", help="presets of recsys ingest --size")
    ap.add_argument("--lakes", default="/tmp/recsys-serve-lakes", help="where built lakes live")
    ap.add_argument("--lake", help="an existing lake instead of --sizes")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--posts", type=int, default=500, help="sequential POSTs timed")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("benchmarks/serve.py needs wrk: apt-get install wrk")
    lakes = [(args.lake, Path(args.lake))] if args.lake else []
    for size in [] if args.lake else args.sizes.split(","):
        root = Path(args.lakes) / size
        build(size, root)
        lakes.append((size, root))
    rows = [measure(label, root, args) for label, root in lakes]
    keys = list(rows[0])
    print("\n| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        cells = [f"{v:.1f}" if isinstance(v, float) else str(v) for v in r.values()]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
