"""Synthetic generator benchmark: generate a preset and write its four tables as Parquet to a
scratch folder (deleted afterwards), printing rows, wall time and the JVM's peak resident size.

    .venv/bin/python benchmarks/synthetic.py --size default
    .venv/bin/python benchmarks/synthetic.py --size 10m --master 'local[2]' --driver-memory 5g

Peak RSS is read from /proc (Linux) for the driver JVM, which in local mode also runs the
executors: it shows whether memory stays bounded as the dataset grows.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recsys import columns as C
from recsys.config import load_settings
from recsys.ingest.synthetic import SYNTHETIC_SIZES, generate
from recsys.session import build_spark


def _jvm_pid(spark) -> int | None:
    try:
        return int(spark.sparkContext._jvm.ProcessHandle.current().pid())
    except Exception:  # not a local JVM (Spark Connect)
        return None


class _PeakRss(threading.Thread):
    """Polls /proc/<pid>/status VmRSS once a second."""

    def __init__(self, pid: int | None):
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.stop = pid, 0, threading.Event()

    def run(self):
        while self.pid and not self.stop.wait(1.0):
            try:
                for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            except OSError:
                return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="default", choices=list(SYNTHETIC_SIZES))
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="5g")
    parser.add_argument("--shuffle-partitions", type=int, default=16)
    parser.add_argument("--out", help="scratch folder (default: a temporary one)")
    args = parser.parse_args()

    settings = load_settings(
        "local",
        [
            f"spark.master={args.master}",
            f"spark.driver_memory={args.driver_memory}",
            f"spark.shuffle_partitions={args.shuffle_partitions}",
        ],
    )
    t0 = time.perf_counter()
    spark = build_spark(settings.spark)
    session_s = time.perf_counter() - t0
    rss = _PeakRss(_jvm_pid(spark))
    rss.start()
    out = Path(args.out or tempfile.mkdtemp(prefix="recsys-synthetic-"))
    rows = []
    try:
        frames = generate(spark, SYNTHETIC_SIZES[args.size])
        total = time.perf_counter()
        for name in (C.T_RATINGS, C.T_TAGS, C.T_MOVIES, C.T_USERS):
            t = time.perf_counter()
            frames[name].write.mode("overwrite").parquet(str(out / name))
            seconds = time.perf_counter() - t
            n = spark.read.parquet(str(out / name)).count()  # metadata-only count of the output
            rows.append((name, n, seconds))
        total = time.perf_counter() - total
    finally:
        rss.stop.set()
        shutil.rmtree(out, ignore_errors=True)
        spark.stop()
    print(f"\nsynthetic {args.size} ({SYNTHETIC_SIZES[args.size]})")
    print(f"master {args.master}, driver memory {args.driver_memory}, session {session_s:.1f} s")
    print("| table | rows | write s |\n|---|---:|---:|")
    for name, n, seconds in rows:
        print(f"| {name} | {n:,} | {seconds:.1f} |")
    print(f"| total | {sum(r[1] for r in rows):,} | {total:.1f} |")
    print(f"peak JVM RSS {rss.peak_kb / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
