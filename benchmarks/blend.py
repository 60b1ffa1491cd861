"""Blend benchmark: every component alone, the tuned blend, most-popular, and the diversity
re-rank, on MovieLens with the project protocol (per-user stratified 75/25, seed 42, k=10).

Weights are chosen on a validation split carved from the training part (75/25 of train, seed
42), never on test; the printed weight-vs-nDCG table is that validation search. Then every
source is rebuilt on the full training part and scored on test.

    .venv/bin/python benchmarks/blend.py --dataset ml-100k
    .venv/bin/python benchmarks/blend.py --dataset ml-latest-small
    .venv/bin/python benchmarks/blend.py --dataset ml-latest-small --split anchors

``--split anchors`` evaluates on ANCHORS.md's exact rows (numpy's draw, reproduced on the driver
by ``anchor_split.py``) instead of the evaluation module's hash split, so the blend and the
anchors are compared on the same held-out ratings.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import time
from pathlib import Path

from _weight_grid import best_by_bucket, weight_grid_ndcg
from anchor_split import ms_stratified_split, read_ratings_in_file_order, rows_of
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from recsys import columns as C
from recsys.als import config_for, fit
from recsys.blend import (
    DEFAULT_WEIGHTS,
    METHODS,
    BlendWeights,
    RecommendConfig,
    assign_buckets,
    blend,
    candidate_sources,
    combine_candidates,
    history_sizes,
    mmr_rerank,
)
from recsys.candidates import TrainingData
from recsys.config import load_settings
from recsys.content import ContentConfig, ContentSource, content_scores
from recsys.display import format_table
from recsys.evaluation import (
    evaluate_recs,
    intra_list_diversity,
    most_popular,
    ranking_metrics,
    stratified_split,
)
from recsys.lakehouse import Lake
from recsys.session import build_spark

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ALS_CONFIG = config_for("implicit")
"""The product's implicit default, chosen on validation splits by ``benchmarks/als.py``."""
CANDIDATES = 50
T0 = time.perf_counter()
METRICS = ["precision", "recall", "ndcg", "map", "coverage", "novelty", "diversity"]


def load(spark: SparkSession, dataset: str, root: str) -> dict[str, DataFrame]:
    from recsys.jobs.ingest import ingest

    lake = Lake(spark, os.path.join(root, dataset))
    if not lake.exists(C.T_RATINGS):
        ingest(spark, lake, str(DATA / f"{dataset}.zip"))
    out = {n: lake.read(n) for n in (C.T_RATINGS, C.T_MOVIES)}
    out[C.T_TAGS] = lake.read(C.T_TAGS) if lake.exists(C.T_TAGS) else None
    return out


def with_overrides(params: RecommendConfig, items: list[str]) -> RecommendConfig:
    """``item_knn.k=100``-style overrides of the neighbourhood sources' settings."""
    for item in items:
        key, _, value = item.partition("=")
        section, _, name = key.partition(".")
        inner = getattr(params, section)
        kind = type(getattr(inner, name))
        inner = dataclasses.replace(inner, **{name: kind(value)})
        params = dataclasses.replace(params, **{section: inner})
    return params


def cached(df: DataFrame) -> DataFrame:
    df = df.cache()
    df.count()
    return df


def sources(train: DataFrame, content_nbrs: DataFrame | None, params: RecommendConfig) -> dict:
    t0 = time.perf_counter()
    als = cached(fit(train, ALS_CONFIG).candidates(train, n=params.candidates))
    print(f"  ALS fitted in {time.perf_counter() - t0:.0f} s", flush=True)
    content = None
    if content_nbrs is not None:
        content = cached(content_scores(train, content_nbrs, n=params.candidates))
    src = candidate_sources(train, params, als=als, content=content)
    frames = {k: cached(v) for k, v in src.frames.items()}
    print(f"  sources built in {time.perf_counter() - t0:.0f} s", flush=True)
    return frames


MINOR = (0.0, 0.1, 0.2)
"""Levels of the minor sources (item-kNN, content, popularity): on ml-latest-small all three
sat at the old grid's edge (0.1)."""


def grid() -> list[dict[str, float]]:
    """Each source alone, then weight combinations relative to ALS. EASE reaches 2x ALS: on
    ml-latest-small the best validation weight sat at the old grid's edge (1.0)."""
    combos = [{s: 1.0} for s in ("als", "ease", "itemknn", "userknn", "content", "popularity")]
    for e, u, i, c, p in itertools.product(
        (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0), (0.0, 0.25, 0.5), MINOR, MINOR, MINOR
    ):
        combos.append(
            {"als": 1.0, "ease": e, "itemknn": i, "userknn": u, "content": c, "popularity": p}
        )
    return combos


def row(name: str, m: dict[str, float]) -> tuple:
    return (name, *[m.get(k) for k in METRICS])


def splits(ratings: DataFrame, dataset: str, how: str) -> list[tuple[DataFrame, DataFrame]]:
    """``[(train, test), (fit, validation)]``: the evaluation module's hash split (``spark``) or
    the anchors' exact numpy rows (``anchors``, see ``anchor_split.py``), validation carved
    from train the same way."""
    if how == "spark":
        train, test = stratified_split(ratings, ratio=0.75, seed=42)
        return [(train, test), stratified_split(train, ratio=0.75, seed=42)]
    train_keys, test_keys = ms_stratified_split(read_ratings_in_file_order(DATA / f"{dataset}.zip"))
    fit_keys, val_keys = ms_stratified_split(train_keys)
    return [
        (rows_of(ratings, a), rows_of(ratings, b))
        for a, b in ((train_keys, test_keys), (fit_keys, val_keys))
    ]


def validate(
    dataset: str,
    fit_and_val: tuple[DataFrame, DataFrame],
    content_nbrs,
    params: RecommendConfig,
    methods: list[str],
) -> tuple[BlendWeights, str]:
    """Weights per history bucket and the score normalisation, chosen on ``fit_and_val`` (the
    validation split carved from train): the (normalisation, weights) pair with the best
    overall nDCG; per-bucket weights come from that normalisation's grid."""
    fit_part, val = (cached(d) for d in fit_and_val)

    print(f"== {dataset}: validation (train 75/25 of the training part)", flush=True)
    vsrc = sources(fit_part, content_nbrs, params)
    buckets = assign_buckets(history_sizes(fit_part), DEFAULT_WEIGHTS)
    cols = ["als", "ease", "itemknn", "userknn", "content", "popularity", "bucket", "ndcg", "users"]
    chosen: tuple[float, str, list[dict]] | None = None
    for method in methods:
        t0 = time.perf_counter()
        cands = cached(combine_candidates(vsrc, method))
        results = weight_grid_ndcg(cands, buckets, val, grid(), k=10)
        cands.unpersist()
        print(f"\n{method}: grid of {len(grid())} combinations in {time.perf_counter() - t0:.0f} s")
        top = [r for r in results if r["bucket"] == "all"]
        singles = [r for r in top if sum(r[s] > 0 for s in cols[:6]) == 1]
        print(f"weight vs validation nDCG@10 ({method}; all users; best 12, then each alone)")
        print(format_table(cols, [tuple(r[c] for c in cols) for r in top[:12] + singles]))
        if chosen is None or top[0]["ndcg"] > chosen[0]:
            chosen = (float(top[0]["ndcg"]), method, results)
    assert chosen is not None
    best_ndcg, method, results = chosen
    best = best_by_bucket(results)
    print(f"\nnormalisation chosen: {method} (validation nDCG@10 {best_ndcg:.4f})")
    print("best per history bucket:", best)
    weights = DEFAULT_WEIGHTS
    for label in (b.label for b in DEFAULT_WEIGHTS.buckets):
        if label in best and label not in ("0", "1-5"):
            weights = weights.with_bucket(label, best[label])
    # a bucket absent from validation keeps its prior
    print("weights used on test:", weights.to_dict(), flush=True)
    for f in vsrc.values():
        f.unpersist()
    return weights, method


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dataset", default="ml-100k")
    ap.add_argument("--lake", default="/tmp/recsys-bench-blend")
    ap.add_argument("--lambdas", default="0,0.2,0.5")
    ap.add_argument("--no-content", action="store_true", help="leave the content source out")
    ap.add_argument(
        "--weights",
        help="`default` (the shipped weights) or a weights YAML: skip the validation search, "
        "test only",
    )
    ap.add_argument(
        "--split",
        choices=["spark", "anchors"],
        default="spark",
        help="spark: recsys.evaluation.stratified_split; anchors: ANCHORS.md's exact rows",
    )
    ap.add_argument(
        "--normalizations",
        default=",".join(METHODS),
        help="per-user score normalisations to compare on validation (--weights: the first)",
    )
    ap.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="override a source setting, e.g. user_knn.k=50 or item_knn.max_per_via=200",
    )
    args = ap.parse_args()
    settings = load_settings("local", ["spark.shuffle_partitions=8", "spark.driver_memory=8g"])
    spark = build_spark(settings.spark)
    spark.sparkContext.setCheckpointDir(os.path.join(args.lake, "_checkpoints"))
    data = load(spark, args.dataset, args.lake)
    ratings, movies = data[C.T_RATINGS], data[C.T_MOVIES]
    methods = args.normalizations.split(",")
    unknown = set(methods) - set(METHODS)
    if unknown:
        ap.error(f"unknown normalisation(s) {sorted(unknown)}; choose from {METHODS}")
    params = with_overrides(RecommendConfig(candidates=CANDIDATES), args.param)
    content_nbrs = None
    if not args.no_content:
        source = ContentSource(ContentConfig(), k=20)
        result = source.fit(TrainingData(ratings, movies, data[C.T_TAGS]))
        content_nbrs = cached(result.neighbors)
    print(f"  data and content neighbours ready in {time.perf_counter() - T0:.0f} s", flush=True)

    (train, test), fit_and_val = splits(ratings, args.dataset, args.split)
    train, test = cached(train), cached(test)
    if args.weights:
        given = DEFAULT_WEIGHTS if args.weights == "default" else BlendWeights.load(args.weights)
        weights, method = given, methods[0]
        print("weights (given, no validation search):", weights.to_dict(), flush=True)
    else:
        weights, method = validate(args.dataset, fit_and_val, content_nbrs, params, methods)
    params = dataclasses.replace(params, weights=weights, normalization=method)
    print("sources:", {k: v for k, v in params.as_dict().items() if k != "weights"}, flush=True)

    print(f"\n== {args.dataset}: test (sources rebuilt on the full training part)", flush=True)
    tsrc = sources(train, content_nbrs, params)
    table = []
    for name, f in tsrc.items():
        table.append(row(name, evaluate_recs(f, train, test, movies=movies, k=10)))
    pop = most_popular(train, test.select(C.USER_ID).distinct(), k=10)
    table.append(row("most-popular", evaluate_recs(pop, train, test, movies=movies, k=10)))
    pool = cached(blend(tsrc, train, params.weights, n=50, method=params.normalization))
    table.append(
        row("blend", evaluate_recs(pool.where(F.col(C.RANK) <= 10), train, test, movies, 10))
    )
    print(f"(blend normalisation: {method})")
    print(format_table(["model", *METRICS], table))

    print("\ndiversity re-rank (MMR over genre Jaccard, pool 50)")
    div = []
    for lam in (float(x) for x in args.lambdas.split(",")):
        recs = cached(mmr_rerank(pool, movies, lam, n=10, pool=50))
        m = ranking_metrics(recs, test, k=10)
        ild = intra_list_diversity(recs.select(C.USER_ID, C.MOVIE_ID), movies)
        div.append((lam, m["ndcg"], m["precision"], ild))
        recs.unpersist()
    print(format_table(["lambda", "ndcg", "precision", "intra_list_diversity"], div))
    spark.stop()


if __name__ == "__main__":
    main()
