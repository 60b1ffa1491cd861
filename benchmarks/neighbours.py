"""The neighbourhood models alone, on the ratings of a lake that holds them already
(``recsys ingest --size 1m --lake-root ...``): wall seconds of each step, materialised into
Spark's ``noop`` sink (no write cost), in one local session.

    .venv/bin/python benchmarks/neighbours.py --lake /tmp/scale/1m/lake

Steps: item-kNN neighbours, user-kNN neighbours and scores, neighbourhood EASE weights, each
with the recommend job's defaults (``recsys.blend._recommend``). Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import time

from pyspark.sql import DataFrame
from pyspark.storagelevel import StorageLevel

from recsys import columns as C
from recsys.blend import EASE, ITEM_KNN, USER_KNN
from recsys.config import load_settings
from recsys.display import format_table
from recsys.lakehouse import Lake
from recsys.neighbors.ease import ease_weights
from recsys.neighbors.knn import item_neighbors, user_neighbors, userknn_scores
from recsys.session import build_spark


def _sink(df: DataFrame) -> None:
    df.write.format("noop").mode("overwrite").save()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lake", required=True, help="a lake root holding a ratings table")
    ap.add_argument("--profile", default="local")
    args = ap.parse_args()
    spark = build_spark(load_settings(args.profile).spark)
    ratings = Lake(spark, args.lake).read(C.T_RATINGS).persist(StorageLevel.MEMORY_AND_DISK)
    n = ratings.count()
    rows = []

    def step(name: str, action) -> object:
        t0 = time.perf_counter()
        out = action()
        rows.append((name, f"{time.perf_counter() - t0:.1f}"))
        print(f"  {name}: {rows[-1][1]} s", flush=True)
        return out

    step("item-kNN neighbours", lambda: _sink(item_neighbors(ratings, ITEM_KNN)))
    users = step("user-kNN neighbours", lambda: _cached(user_neighbors(ratings, USER_KNN)))
    step(
        "user-kNN scores (top 50)",
        lambda: _sink(userknn_scores(ratings, users, n=50, candidate_pop=USER_KNN.candidate_pop)),
    )
    step("EASE weights", lambda: ease_weights(ratings, EASE).unpersist())
    print(f"\n{args.lake}: {n:,} ratings; wall seconds per step")
    print(format_table(["step", "seconds"], rows))


def _cached(df: DataFrame) -> DataFrame:
    df = df.persist(StorageLevel.MEMORY_AND_DISK)
    df.count()
    return df


if __name__ == "__main__":
    main()
