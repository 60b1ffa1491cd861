"""Content model measurements: LSH vs exact neighbours, and recommendation quality.

    python benchmarks/content.py lsh --dataset ml-latest-small   # recall@20 + times, LSH grid
    python benchmarks/content.py lsh --dataset synthetic-60k     # 60,000-movie synthetic catalogue
    python benchmarks/content.py curve --dataset ml-latest-small # recall vs candidates, numpy
    python benchmarks/content.py quality --dataset ml-100k       # P@10 / nDCG@10, warm + cold start

Data is loaded with ``recsys.ingest`` into a scratch lake (``--lake``, default under /tmp).
Times are wall seconds of the Spark jobs (session start and loading excluded).
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import threading
import time
from pathlib import Path

from pyspark.ml.feature import MinHashLSH
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from recsys import columns as C
from recsys.config import load_settings
from recsys.content import (
    ContentConfig,
    ContentEstimator,
    build_documents,
    content_scores,
    exact_neighbors,
    exact_pairs,
    lsh_pairs,
    neighbors_by,
    top_k,
)
from recsys.lakehouse import Lake
from recsys.session import build_spark

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GRID = [(1.0, 8), (2.0, 8), (4.0, 4), (4.0, 8), (2.0, 16)]


def load(spark: SparkSession, dataset: str, lake_root: str) -> dict[str, DataFrame]:
    """movies, tags, ratings of ``dataset`` (a MovieLens zip name or ``synthetic-60k``)."""
    if dataset.startswith("synthetic"):
        from recsys.ingest.synthetic import SyntheticConfig, generate

        spec = SyntheticConfig(users=3000, movies=60_000, ratings_per_user=40)
        frames = generate(spark, spec)
        return {k: frames[k].cache() for k in (C.T_MOVIES, C.T_TAGS, C.T_RATINGS)}
    from recsys.jobs.ingest import ingest

    lake = Lake(spark, os.path.join(lake_root, dataset))
    if not lake.exists(C.T_RATINGS):
        ingest(spark, lake, str(DATA / f"{dataset}.zip"))
    names = (C.T_MOVIES, C.T_TAGS, C.T_RATINGS)
    return {name: lake.read(name) if lake.exists(name) else None for name in names}


def timed(action, limit_s: float | None = None, spark: SparkSession | None = None):
    """(result, seconds); jobs still running after ``limit_s`` are cancelled -> (None, limit)."""
    timer = None
    if limit_s and spark is not None:
        timer = threading.Timer(limit_s, spark.sparkContext.cancelAllJobs)
        timer.start()
    t0 = time.perf_counter()
    try:
        return action(), time.perf_counter() - t0
    except Exception as exc:
        if limit_s and time.perf_counter() - t0 >= limit_s:
            return None, limit_s
        raise exc
    finally:
        if timer:
            timer.cancel()


def _materialise(df: DataFrame) -> DataFrame:
    df = df.cache()
    df.count()
    return df


def cosine_of(pairs: DataFrame, weights: DataFrame) -> DataFrame:
    """Exact cosine of candidate pairs (_a, _b) from the unit TF-IDF entries."""
    a = weights.select(F.col(C.MOVIE_ID).alias("_a"), C.TERM, F.col(C.WEIGHT).alias("_wa"))
    b = weights.select(F.col(C.MOVIE_ID).alias("_b"), C.TERM, F.col(C.WEIGHT).alias("_wb"))
    return (
        pairs.join(a, "_a")
        .join(b, ["_b", C.TERM])
        .groupBy("_a", "_b")
        .agg(F.sum(F.col("_wa") * F.col("_wb")).alias(C.SIMILARITY))
    )


def _dense(weights: DataFrame):
    """(movie ids, dense float32 matrix of unit TF-IDF rows) on the driver: benchmark only."""
    import numpy as np

    rows = weights.collect()
    ids = sorted({r[C.MOVIE_ID] for r in rows})
    pos = {m: i for i, m in enumerate(ids)}
    x = np.zeros((len(ids), 1 + max(r[C.TERM] for r in rows)), dtype=np.float32)
    for r in rows:
        x[pos[r[C.MOVIE_ID]], r[C.TERM]] = r[C.WEIGHT]
    return ids, x


def lsh_curve(weights: DataFrame, k: int) -> list[tuple]:
    """Recall@k vs share of all pairs made candidates, for OR-only LSH as pyspark.ml builds it
    (one hash per table: BucketedRandomProjection with relative bucket widths, MinHash) and for
    banded MinHash / sign projections (AND of ``rows`` hashes per band), simulated in numpy on
    the driver with the same documents; candidates are re-ranked by exact cosine, as in Spark.
    Benchmark only: it holds the movies x movies similarity matrix (ml-latest-small: 380 MB)."""
    import numpy as np

    _, x = _dense(weights)
    n = x.shape[0]
    sims = x @ x.T
    np.fill_diagonal(sims, -1.0)
    sims[sims <= 1e-6] = -1.0
    n_true = np.minimum(k, (sims > 0).sum(axis=1))
    floor = np.where(n_true == k, -np.partition(-sims, k - 1, axis=1)[:, k - 1], 0.0)
    rng = np.random.default_rng(42)
    present = x > 0

    def evaluate(signatures, bands: int, rows: int) -> tuple[float, float]:
        cand = np.zeros((n, n), dtype=bool)
        for b in range(bands):
            _, bucket = np.unique(
                signatures[:, b * rows : (b + 1) * rows], axis=0, return_inverse=True
            )
            bucket = bucket.ravel()
            order = np.argsort(bucket, kind="stable")
            edges = np.concatenate([[0], np.cumsum(np.bincount(bucket))])
            for lo, hi in itertools.pairwise(edges):
                if hi - lo > 1:
                    members = order[lo:hi]
                    cand[np.ix_(members, members)] = True
        np.fill_diagonal(cand, False)
        top = -np.partition(-np.where(cand, sims, -1.0), k - 1, axis=1)[:, :k]
        hits = np.minimum(((top >= floor[:, None] - 1e-6) & (top > 0)).sum(axis=1), n_true)
        return cand.sum() / (n * (n - 1)), hits.sum() / n_true.sum()

    def minhash(count: int):
        perms = (rng.permutation(x.shape[1]) for _ in range(count))
        return np.stack([np.where(present, p[None, :], x.shape[1]).min(axis=1) for p in perms], 1)

    def projections(count: int):
        return x @ rng.normal(size=(x.shape[1], count)).astype(np.float32)

    out = []
    for width in (0.5, 1.0, 2.0, 4.0):
        for tables in (2, 4, 8):
            sig = np.floor(projections(tables) / width).astype(np.int64)
            out.append((f"BRP (OR) bucket={width}", tables, 1, *evaluate(sig, tables, 1)))
    for rows, bands in ((1, 4), (1, 8), (1, 16), (2, 16), (3, 32), (4, 64)):
        label = "MinHash (OR)" if rows == 1 else "MinHash banded"
        out.append((label, bands, rows, *evaluate(minhash(rows * bands), bands, rows)))
    for rows, bands in ((6, 64), (8, 64), (12, 64)):
        sig = (projections(rows * bands) > 0).astype(np.int8)
        out.append(("sign projections banded", bands, rows, *evaluate(sig, bands, rows)))
    return out


def numpy_truth(spark: SparkSession, weights: DataFrame, k: int, sample: int = 0) -> DataFrame:
    """Per movie, the k-th largest exact cosine to another movie (``kth``) and how many true
    neighbours it has (``n`` = min(k, movies sharing a weighted token)), computed on the driver
    with numpy in chunks of rows: benchmark ground truth only (it collects every vector)."""
    import numpy as np

    ids, x = _dense(weights)
    rows = np.arange(len(ids))
    if 0 < sample < len(ids):  # a seeded sample of query movies, against every movie
        rows = np.sort(np.random.default_rng(42).choice(len(ids), sample, replace=False))
    out = []
    for start in range(0, len(rows), 1024):
        chunk = rows[start : start + 1024]
        sims = x[chunk] @ x.T
        sims[np.arange(len(chunk)), chunk] = -1.0  # not yourself
        sims[sims <= 1e-6] = -1.0  # no shared weighted token: not a neighbour
        positive = (sims > 0).sum(axis=1)
        kth = -np.partition(-sims, k - 1, axis=1)[:, k - 1]
        for i in range(len(chunk)):
            n = int(min(k, positive[i]))
            if n:
                floor = float(kth[i]) if n == k else 0.0
                out.append((ids[chunk[i]], floor, n))
    schema = f"{C.MOVIE_ID} int, kth double, n int"
    return spark.createDataFrame(out, schema).cache()


def recall(approx: DataFrame, exact: DataFrame) -> float:
    """Tie-aware recall@k: an approximate neighbour counts when its (exact) similarity reaches
    the k-th exact similarity of that movie, so swapping equally similar movies is no miss."""
    hits = approx.join(exact, C.MOVIE_ID).where(F.col(C.SIMILARITY) >= F.col("kth") - 1e-6).count()
    return hits / max(1, exact.agg(F.sum("n")).first()[0] or 0)


def bench_lsh(spark: SparkSession, frames: dict[str, DataFrame], args) -> list[tuple]:
    documents = _materialise(build_documents(frames[C.T_MOVIES], frames[C.T_TAGS]))
    base, fit_s = timed(lambda: ContentEstimator().fit(documents))
    print(
        f"documents {documents.count()}, vocabulary {len(base.vocabulary)}, fit {fit_s:.1f}s, "
        f"exact join rows {base.exact_join_rows():.3g} for {base.movie_pairs():.3g} pairs"
    )
    weights = _materialise(base.term_weights(documents))
    rows = []
    exact = None
    if not args.skip_truth:
        exact, exact_s = timed(lambda: numpy_truth(spark, weights, args.k, args.truth_sample))
        exact.count()
        label = "exact, numpy on the driver (ground truth)"
        if args.truth_sample:
            label += f", {args.truth_sample} sampled movies"
        rows.append((label, "-", None, 1.0, exact_s))
        print(rows[-1], flush=True)
    out, secs = timed(lambda: _materialise(exact_neighbors(base, documents, args.k)))
    rec = recall(out, exact) if exact is not None else None
    rows.append(("exact_neighbors (numpy blocks: the product)", "-", None, rec, secs))
    print(rows[-1], flush=True)
    out.unpersist()
    grid = GRID
    if args.grid == "none":
        grid = []
    elif args.grid:
        grid = [(float(b), int(t)) for b, t in (x.split(":") for x in args.grid.split(","))]
    for bucket, tables in grid:
        model = base.with_lsh(bucket, tables)
        vectors = _materialise(model.transform(documents))

        def run(model=model, vectors=vectors):
            pairs = _materialise(lsh_pairs(model, vectors))
            return pairs, _materialise(top_k(pairs, args.k))

        out, secs = timed(run, args.limit, spark)
        cand = out[0].count() if out else None
        rec = recall(out[1], exact) if out and exact is not None else None
        rows.append((f"BRP bucket={bucket} tables={tables}", bucket, cand, rec, secs))
        print(rows[-1], flush=True)
        vectors.unpersist()
    if not args.skip_minhash:
        vectors = _materialise(base.transform(documents).drop("hashes"))
        for tables in (int(t) for t in args.minhash.split(",")):
            mh = MinHashLSH(inputCol=C.FEATURES, outputCol="mh", numHashTables=tables, seed=42)
            mh_model = mh.fit(vectors)

            def run_mh(mh_model=mh_model):
                joined = mh_model.approxSimilarityJoin(vectors, vectors, 0.999, distCol="_d")
                pairs = _materialise(
                    joined.select(
                        F.col(f"datasetA.{C.MOVIE_ID}").alias("_a"),
                        F.col(f"datasetB.{C.MOVIE_ID}").alias("_b"),
                    ).where("_a < _b")
                )
                return pairs, _materialise(top_k(cosine_of(pairs, weights), args.k))

            out, secs = timed(run_mh, args.limit, spark)
            cand = out[0].count() if out else None
            rec = recall(out[1], exact) if out and exact is not None else None
            rows.append((f"MinHash tables={tables} (token sets)", "-", cand, rec, secs))
            print(rows[-1], flush=True)
    if not args.skip_spark_exact:
        out, secs = timed(
            lambda: _materialise(top_k(exact_pairs(weights), args.k)), args.limit, spark
        )
        rec = recall(out, exact) if out is not None and exact is not None else None
        rows.append(("exact_pairs + top_k (Spark inverted-index join)", "-", None, rec, secs))
        print(rows[-1], flush=True)
    return rows


def cold_movies(ratings: DataFrame, share: float = 0.1, seed: int = 42) -> DataFrame:
    """``share`` of the rated movies, picked by a seeded hash of the id (order-independent)."""
    rated = ratings.select(C.MOVIE_ID).distinct()
    u = (F.xxhash64(F.lit(seed), F.col(C.MOVIE_ID)) % 1_000_000).cast("double") / 1_000_000
    return rated.where(F.abs(u) < share)


def bench_quality(spark: SparkSession, frames: dict[str, DataFrame], args) -> list[tuple]:
    from recsys.evaluation import ranking_metrics, stratified_split

    movies, tags, ratings = frames[C.T_MOVIES], frames[C.T_TAGS], frames[C.T_RATINGS]
    params = ContentConfig()
    rows = []

    def fit_and_score(train, test_pairs, tag_rows, candidates=None):
        kept_tags = None
        if tag_rows is not None:
            kept_tags = tag_rows.join(test_pairs, [C.USER_ID, C.MOVIE_ID], "left_anti")
        documents = _materialise(build_documents(movies, kept_tags))
        model = ContentEstimator(params).fit(documents)
        t0 = time.perf_counter()
        method, neighbors = neighbors_by(model, documents, params, k=args.k)  # as train-content
        neighbors = _materialise(neighbors)
        print(f"  neighbours: {method}", flush=True)
        recs = content_scores(train, neighbors, n=10, candidates=candidates)
        recs = _materialise(recs)
        return recs, time.perf_counter() - t0

    # warm: per-user stratified 75/25, seed 42 (the project's protocol)
    if args.part in ("all", "warm"):
        train, test = stratified_split(ratings, ratio=0.75, seed=42)
        train, test = _materialise(train), _materialise(test)
        recs, secs = fit_and_score(train, test.select(C.USER_ID, C.MOVIE_ID), tags)
        m = ranking_metrics(recs, test, k=10)
        rows.append(("warm (stratified 75/25)", m["precision"], m["ndcg"], m["users"], secs))
        print(rows[-1], flush=True)
    if args.part == "warm":
        return rows

    # cold start: 10% of movies lose every rating (all go to test) and their tags
    cold = _materialise(cold_movies(ratings))
    warm_ratings = ratings.join(cold, C.MOVIE_ID, "left_anti")
    cold_test = _materialise(ratings.join(cold, C.MOVIE_ID, "left_semi"))
    train_c, _ = stratified_split(warm_ratings, ratio=0.75, seed=42)
    train_c = _materialise(train_c)
    # test pairs whose tags must go: every cold movie's tags, and warm test pairs' tags
    drop_tags = cold_test.select(C.USER_ID, C.MOVIE_ID)
    if tags is not None:
        drop_tags = tags.join(cold, C.MOVIE_ID, "left_semi").select(C.USER_ID, C.MOVIE_ID)
    recs_c, secs_c = fit_and_score(train_c, drop_tags, tags, candidates=cold)
    m = ranking_metrics(recs_c, cold_test, k=10)
    rows.append(("cold-start movies: content", m["precision"], m["ndcg"], m["users"], secs_c))
    print(rows[-1], flush=True)
    # random order of the same cold movies for the same users
    users = cold_test.select(C.USER_ID).distinct()
    rnd = users.crossJoin(cold).withColumn(
        C.SCORE, F.xxhash64(F.lit(42), C.USER_ID, C.MOVIE_ID).cast("double")
    )
    rnd = rnd.join(train_c, [C.USER_ID, C.MOVIE_ID], "left_anti")
    from pyspark.sql import Window

    w = Window.partitionBy(C.USER_ID).orderBy(F.col(C.SCORE).desc(), C.MOVIE_ID)
    rnd = rnd.withColumn(C.RANK, F.row_number().over(w)).where(F.col(C.RANK) <= 10)
    m = ranking_metrics(rnd, cold_test, k=10)
    rows.append(("cold-start movies: random order", m["precision"], m["ndcg"], m["users"], 0.0))
    print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["lsh", "curve", "quality"])
    parser.add_argument("--dataset", default="ml-latest-small")
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--skip-minhash", action="store_true")
    parser.add_argument("--skip-spark-exact", action="store_true")
    parser.add_argument("--minhash", default="4,8", help="MinHash table counts, e.g. 4,8")
    parser.add_argument("--part", choices=["all", "warm", "cold"], default="all")
    parser.add_argument("--skip-truth", action="store_true", help="no numpy ground truth")
    parser.add_argument(
        "--truth-sample", type=int, default=0, help="ground truth for N sampled movies only"
    )
    parser.add_argument(
        "--grid", help="LSH settings as bucket:tables,... e.g. 1:8,2:8 (none: skip)"
    )
    parser.add_argument("--limit", type=float, default=900.0, help="cancel a method after s")
    parser.add_argument("--lake", default=os.path.join(tempfile.gettempdir(), "recsys-bench"))
    parser.add_argument("--profile", default="local")
    args = parser.parse_args()
    spark = build_spark(load_settings(args.profile).spark)
    frames = load(spark, args.dataset, args.lake)
    if args.what == "curve":
        documents = build_documents(frames[C.T_MOVIES], frames[C.T_TAGS])
        weights = ContentEstimator().fit(documents).term_weights(documents)
        print(
            f"\n| {args.dataset} | family | tables/bands | hashes per band | "
            f"candidates (share of pairs) | recall@{args.k} |"
        )
        print("|---|---|---|---|---|---|")
        for name, tables, rows, share, rec in lsh_curve(weights, args.k):
            print(f"| | {name} | {tables} | {rows} | {share:.1%} | {rec:.3f} |", flush=True)
    elif args.what == "lsh":
        rows = bench_lsh(spark, frames, args)
        print(f"\n| {args.dataset} | method | candidate pairs | recall@{args.k} | seconds |")
        print("|---|---|---|---|---|")
        for name, _, cand, rec, secs in rows:
            rec_s = "-" if rec is None else f"{rec:.3f}"
            print(f"| | {name} | {cand if cand is not None else '-'} | {rec_s} | {secs:.1f} |")
    else:
        rows = bench_quality(spark, frames, args)
        print(f"\n| {args.dataset} | protocol | P@10 | nDCG@10 | users | seconds |")
        print("|---|---|---|---|---|---|")
        for name, p, n, users, secs in rows:
            print(f"| | {name} | {p:.4f} | {n:.4f} | {int(users)} | {secs:.1f} |")
    spark.stop()


if __name__ == "__main__":
    main()
