"""ALS fit time on each BLAS Spark's netlib loader can use: its Java implementation, a native
OpenBLAS with one thread per task (recsys's default), and OpenBLAS with its own threads.

Each variant runs in a fresh process (the BLAS is chosen when the JVM starts) and fits the
bare MLlib implicit ALS of the pipeline (rank 128, 15 sweeps, reg 1, alpha 3) on the ratings
of a lake that holds them already (``recsys ingest --size 1m --lake-root ...``):

    .venv/bin/python benchmarks/blas.py --lake /tmp/scale/1m/lake
    .venv/bin/python benchmarks/blas.py --lake /tmp/scale/1m/lake --variants java,openblas-1

The native variants need ``libblas.so.3`` / ``liblapack.so.3`` (Debian: libopenblas0-pthread).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# variant -> (extra JVM options, blas_threads setting)
VARIANTS: dict[str, tuple[str, int | None]] = {
    "java": (
        "-Ddev.ludovic.netlib.blas.nativeLibPath=/nonexistent"
        " -Ddev.ludovic.netlib.lapack.nativeLibPath=/nonexistent",
        1,
    ),
    "openblas-1": ("", 1),
    "openblas-default-threads": ("", None),
}


def child(variant: str, lake_root: str, profile: str | None, rank: int) -> dict:
    import os

    from pyspark.ml.recommendation import ALS

    from recsys.config import load_settings
    from recsys.lakehouse import Lake
    from recsys.session import LOG4J2_CONF, blas_description, build_spark

    java_opts, threads = VARIANTS[variant]
    if threads is None:
        for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
            os.environ.pop(var, None)
    settings = load_settings(profile)
    opts = f"-Dlog4j2.configurationFile={LOG4J2_CONF} {java_opts}".strip()
    spark_settings = dataclasses.replace(
        settings.spark,
        blas_threads=threads,
        conf={**settings.spark.conf, "spark.driver.extraJavaOptions": opts},
    )
    spark = build_spark(spark_settings)
    ratings = Lake(spark, lake_root).read("ratings").select("user_id", "movie_id", "rating")
    ratings = ratings.persist()
    n = ratings.count()
    blocks = spark.sparkContext.defaultParallelism
    als = ALS(implicitPrefs=True, rank=rank, maxIter=15, regParam=1.0, alpha=3.0, seed=42,
              userCol="user_id", itemCol="movie_id", ratingCol="rating",
              numUserBlocks=blocks, numItemBlocks=blocks)  # fmt: skip
    t0 = time.perf_counter()
    als.fit(ratings)
    fit_s = time.perf_counter() - t0
    return {"variant": variant, "blas": blas_description(spark), "ratings": n, "fit_s": fit_s}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lake", required=True, help="a lake root holding a ratings table")
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--rank", type=int, default=128)
    p.add_argument("--profile")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.lake, args.profile, args.rank)))
        return 0
    rows = []
    for variant in [v.strip() for v in args.variants.split(",") if v.strip()]:
        cmd = [sys.executable, __file__, "--child", variant, "--lake", args.lake,
               "--rank", str(args.rank)]  # fmt: skip
        cmd += ["--profile", args.profile] if args.profile else []
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            sys.stderr.write(done.stderr[-4000:])
            raise SystemExit(f"blas.py: variant {variant} failed (exit {done.returncode})")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"  {variant}: {rows[-1]['fit_s']:.1f} s", flush=True)
    print(f"\nimplicit ALS rank {args.rank}, 15 sweeps, on {rows[0]['ratings']:,} ratings")
    print("| variant | BLAS | fit s |\n|---|---|---|")
    for r in rows:
        print(f"| {r['variant']} | {r['blas']} | {r['fit_s']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
