"""ALS benchmark: quality and time on MovieLens zips and time on synthetic data, as a table.

Protocol (ANCHORS.md): per-user stratified 75/25 split, seed 42, k=10; parameters chosen on a
validation split carved from train (never test); most-popular shown as the floor.

    .venv/bin/python benchmarks/als.py --data ../shared/data/ml-100k.zip --grid full
    .venv/bin/python benchmarks/als.py --data ../shared/data/ml-latest-small.zip \\
        --implicit rank=128,reg_param=1.0,alpha=10,confidence=binary     # no search
    .venv/bin/python benchmarks/als.py --synthetic 10m --implicit rank=64   # fit + top-N time
    .venv/bin/python benchmarks/als.py --synthetic 10m --lake /tmp/q10b/lake --modes implicit \\
        --implicit rank=64                                   # reuse an ingested lake
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recsys import columns as C
from recsys.als import GRIDS, ALSConfig, evaluate_fitted, fit, grid_configs, search
from recsys.config import load_settings
from recsys.evaluation import evaluate_recs, most_popular, stratified_split
from recsys.lakehouse import Lake
from recsys.session import build_spark

COLUMNS = ["dataset", "model", "params", "RMSE", "P@10", "R@10", "nDCG@10", "MAP@10", "HR@10",
           "coverage", "fit s", "top-N s", "search s"]  # fmt: skip


def _params(text: str | None) -> dict:
    if not text:
        return {}
    out = {}
    for part in text.split(","):
        key, value = part.split("=")
        out[key] = value if key == "confidence" else float(value)
        if key in ("rank", "max_iter"):
            out[key] = int(float(value))
    return out


def _row(dataset: str, model: str, params: dict, m: dict, search_s: float | None) -> list[str]:
    def f(key: str, digits: int = 4) -> str:
        return "-" if m.get(key) is None else f"{m[key]:.{digits}f}"

    return [dataset, model, json.dumps(params, sort_keys=True), f("rmse"), f("precision"),
            f("recall"), f("ndcg"), f("map"), f("hit_rate"), f("coverage"), f("fit_s", 1),
            f("topn_s", 1), "-" if search_s is None else f"{search_s:.0f}"]  # fmt: skip


def bench_movielens(spark, lake, path: str, args) -> list[list[str]]:
    from recsys.jobs.ingest import ingest

    name = Path(path).stem
    ingest(spark, lake, path)
    ratings = lake.read(C.T_RATINGS).persist()
    movies = lake.read(C.T_MOVIES)
    train, test = stratified_split(ratings, ratio=0.75, seed=42)
    train, test = train.persist(), test.persist()
    rows = []
    t0 = time.perf_counter()
    pop = most_popular(train, test.select(C.USER_ID), k=10).persist()
    m = evaluate_recs(pop, train, test, movies=movies, k=10)
    m["topn_s"] = time.perf_counter() - t0
    rows.append(_row(name, "most-popular", {"by": "count"}, m, None))
    print(" | ".join(rows[-1]), flush=True)
    for mode in args.modes:
        given = _params(getattr(args, mode))
        base = replace(ALSConfig(mode=mode, num_blocks=args.num_blocks), **given)
        search_s = None
        if not given:
            t0 = time.perf_counter()
            configs = list(grid_configs(base, GRIDS[mode][args.grid]))
            result = search(train, configs, k=10, seed=42, log=lambda s: print("  search", s))
            base, search_s = result.best, time.perf_counter() - t0
        fitted = fit(train, base)
        m = evaluate_fitted(fitted, train, test, movies=movies, k=10)
        rows.append(_row(name, f"als-{mode}", base.tuned(), m, search_s))
        print(" | ".join(rows[-1]), flush=True)
    return rows


def bench_synthetic(spark, lake, size: str, args) -> list[list[str]]:
    from recsys.ingest.synthetic import SYNTHETIC_SIZES
    from recsys.jobs.ingest import ingest

    if args.lake:  # a lake that already holds the ingested synthetic data
        lake = Lake(spark, args.lake)
    else:
        t0 = time.perf_counter()
        ingest(spark, lake, SYNTHETIC_SIZES[size])
        print(f"  synthetic {size} ingested in {time.perf_counter() - t0:.0f}s", flush=True)
    ratings = lake.read(C.T_RATINGS)
    rows = []
    for mode in args.modes:
        base = replace(
            ALSConfig(mode=mode, num_blocks=args.num_blocks), **_params(getattr(args, mode))
        )
        fitted = fit(ratings, base)
        t0 = time.perf_counter()
        recs = fitted.candidates(ratings, n=10)
        recs.write.format("noop").mode("overwrite").save()  # compute everything, store nothing
        m = {"fit_s": fitted.fit_s, "topn_s": time.perf_counter() - t0}
        rows.append(_row(f"synthetic-{size}", f"als-{mode}", base.tuned(), m, None))
        print(" | ".join(rows[-1]), flush=True)
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", action="append", default=[], help="a MovieLens zip (repeatable)")
    p.add_argument("--synthetic", action="append", default=[], help="synthetic size, e.g. 10m")
    p.add_argument("--grid", choices=["small", "full"], default="full")
    p.add_argument("--modes", nargs="+", default=["explicit", "implicit"])
    p.add_argument("--explicit", help="fixed explicit params k=v,... (skips the search)")
    p.add_argument("--implicit", help="fixed implicit params k=v,... (skips the search)")
    p.add_argument("--num-blocks", type=int, default=2)
    p.add_argument("--lake", help="with --synthetic: read ratings from this lake, skip ingest")
    p.add_argument("--profile", default="local")
    args = p.parse_args()
    spark = build_spark(load_settings(args.profile).spark)
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="als-bench-") as tmp:
        spark.sparkContext.setCheckpointDir(f"{tmp}/_checkpoints")
        for i, path in enumerate(args.data):
            rows += bench_movielens(spark, Lake(spark, f"{tmp}/lake{i}"), path, args)
        for size in args.synthetic:
            rows += bench_synthetic(spark, Lake(spark, f"{tmp}/syn-{size}"), size, args)
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS)]
    print("| " + " | ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(x.ljust(w) for x, w in zip(r, widths, strict=True)) + " |")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
