"""Fold-in quality: users the batch never saw, their ratings posted through the API, scored
against the same users trained in the batch.

On ml-100k, split every user's ratings 75/25 (the evaluation protocol's stratified split,
seed 42) and hold 10% of the users out (a seeded hash of the id). Two lakes, each ingested
from the zip and then given its own ``ratings``:

- **batch**: every user's training part; ALS, content and recommend run on it, and the held-out
  users' batch recommendations are scored on their test part;
- **fold-in**: the same minus the held-out users' ratings; after the same three stages, each
  held-out user's training ratings are posted to ``POST /users/{id}/ratings`` of the app
  (in-process ASGI, every request through the real routes and the ``feedback`` commit) and
  the list it returns is scored on their test part.

    .venv/bin/python benchmarks/foldin.py --mirror ../shared/data
    .venv/bin/python benchmarks/foldin.py --mirror ../shared/data --keep /tmp/foldin

Prints nDCG@10 (and precision, recall, MAP) for both and the ratio.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyspark.sql import functions as F

from recsys import columns as C
from recsys.cli import main as recsys
from recsys.evaluation import ranking_metrics, stratified_split
from recsys.jobs import JobContext

METRICS = ("ndcg", "precision", "recall", "map")


def build(root: str, mirror: str, keep_users: str) -> None:
    """Ingest ml-100k into ``root``, keep the training rows of ``keep_users`` (a SQL filter),
    then run ALS, content and recommend on them."""
    base = ["--profile", "local", "--lake-root", root]
    assert recsys(["pipeline", *base, "--dataset", "ml-100k", "--mirror", mirror,
                   "--stages", "ingest"]) == 0  # fmt: skip
    ctx = JobContext("local", [f"lake.root={root}"])
    train, _ = stratified_split(ctx.lake.read(C.T_RATINGS), ratio=0.75, seed=42)
    ctx.lake.overwrite(C.T_RATINGS, train.where(keep_users).localCheckpoint())
    ctx.close()
    assert recsys(["pipeline", *base, "--stages", "als,content,blend"]) == 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mirror", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    ap.add_argument("--share", type=int, default=10, help="percent of users held out")
    ap.add_argument("--keep", help="keep the two lakes in this folder")
    args = ap.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="recsys-foldin-"))
    held = f"pmod(hash({C.USER_ID}, 20261205), 100) < {args.share}"
    t0 = time.perf_counter()
    build(str(work / "batch"), args.mirror, "true")
    build(str(work / "foldin"), args.mirror, f"NOT ({held})")
    print(f"lakes built in {time.perf_counter() - t0:.0f} s", flush=True)

    ctx = JobContext("local", [f"lake.root={work / 'batch'}"])
    spark = ctx.spark
    ratings = ctx.lake.read(C.T_RATINGS)  # the batch lake's: every user's training part
    full = JobContext("local", [f"lake.root={work / 'foldin'}"]).lake
    _, test = stratified_split(ingested(spark, work / "foldin"), ratio=0.75, seed=42)
    test = test.where(held).cache()
    users = [r[0] for r in test.select(C.USER_ID).distinct().orderBy(C.USER_ID).collect()]
    batch = ctx.lake.read(C.T_RECOMMENDATIONS).where(held)
    scores = {"batch": ranking_metrics(batch, test, k=10)}

    from fastapi.testclient import TestClient

    from recsys.serving import ServeConfig
    from recsys.serving.app import create_app

    config = ServeConfig(reload_seconds=0, max_ratings=5000, feedback_batch_ms=0)
    mine = {u: [] for u in users}
    for r in ratings.where(held).select(C.USER_ID, C.MOVIE_ID, C.RATING).collect():
        mine[r[0]].append({"movie_id": r[1], "rating": float(r[2])})
    rows = []
    t1 = time.perf_counter()
    with TestClient(create_app(full.root, config)) as client:
        for u in users:
            got = client.post(f"/users/{u}/ratings", json={"ratings": mine[u]}).json()
            assert got["recommendations"]["kind"] == "fold-in", got
            rows += [(u, i[C.MOVIE_ID], i[C.RANK]) for i in got["recommendations"]["items"]]
    posted = time.perf_counter() - t1
    folded = spark.createDataFrame(rows, f"{C.USER_ID} int, {C.MOVIE_ID} int, {C.RANK} int")
    scores["fold-in"] = ranking_metrics(folded, test, k=10)

    print(f"\nml-100k, {len(users)} held-out users ({args.share}%), k=10; "
          f"{len(users)} POSTs in {posted:.1f} s")  # fmt: skip
    print(f"| {'model':<8} | " + " | ".join(f"{m:>9}" for m in METRICS) + " |")
    print("|---|" + "---:|" * len(METRICS))
    for name, m in scores.items():
        print(f"| {name:<8} | " + " | ".join(f"{m[k]:9.4f}" for k in METRICS) + " |")
    ratio = scores["fold-in"]["ndcg"] / scores["batch"]["ndcg"]
    print(f"\nfold-in nDCG@10 / batch nDCG@10 = {ratio:.3f} (target >= 0.90)")
    ctx.close()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


def ingested(spark, lake: Path):
    """Every rating of ml-100k as ingested (the fold-in lake's own ingest, before its
    ``ratings`` were replaced): the first version of its ``ratings`` table."""
    return (
        spark.read.format("delta")
        .option("versionAsOf", 0)
        .load(str(lake / C.T_RATINGS))
        .select(C.USER_ID, C.MOVIE_ID, C.RATING, F.col(C.RATED_AT))
    )


if __name__ == "__main__":
    main()
