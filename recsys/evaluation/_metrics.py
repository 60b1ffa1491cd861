"""Rating, ranking and beyond-accuracy metrics, computed in Spark.

Ranking definitions are those of Microsoft Recommenders' ``python_evaluation`` with
``relevancy_method="top_k"`` (binary relevance: every held-out rating is relevant), so numbers
compare with their published MovieLens benchmark and with ``ANCHORS.md``. Per-user values are
aggregated in Spark; only the final averages reach the driver.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import reduce

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from recsys import columns as C


def _first_row(df: DataFrame) -> dict[str, float]:
    row = df.first()
    return {} if row is None else row.asDict()


def rating_metrics(
    predictions: DataFrame,
    label_col: str = C.RATING,
    prediction_col: str = C.PREDICTION,
) -> dict[str, float]:
    """RMSE and MAE over the rows that have a prediction (null/NaN predictions are skipped,
    e.g. users or movies unseen in training); ``n_scored`` says how many rows that was."""
    err = F.col(prediction_col).cast("double") - F.col(label_col).cast("double")
    scored = predictions.filter(F.col(prediction_col).isNotNull() & ~F.isnan(F.col(prediction_col)))
    out = _first_row(
        scored.agg(
            F.sqrt(F.avg(err * err)).alias("rmse"),
            F.avg(F.abs(err)).alias("mae"),
            F.count(F.lit(1)).alias("n_scored"),
        )
    )
    return {"rmse": out["rmse"], "mae": out["mae"], "n_scored": float(out["n_scored"])}


_MODEL = "_model"  # the model a row of a tagged (multi-model) recs frame belongs to


def tag_models(
    recs: Mapping[str, DataFrame],
    k: int,
    user_col: str = C.USER_ID,
    item_col: str = C.MOVIE_ID,
    rank_col: str = C.RANK,
) -> DataFrame:
    """Every model's top-``k`` rows in one frame ``_model, user, item, rank``, so each metric
    is one grouped query over all models instead of one query per model."""
    parts = [
        df.filter(F.col(rank_col) <= k).select(
            F.lit(name).alias(_MODEL), F.col(user_col), F.col(item_col), F.col(rank_col)
        )
        for name, df in recs.items()
    ]
    return reduce(DataFrame.unionByName, parts)


def ranking_by_model(
    top: DataFrame,
    test: DataFrame,
    models: Sequence[str],
    k: int = 10,
    user_col: str = C.USER_ID,
    item_col: str = C.MOVIE_ID,
    rank_col: str = C.RANK,
) -> DataFrame:
    """``_model`` + the :func:`ranking_metrics` columns, one row per model, from
    :func:`tag_models` output.

    Per (model, user with test rows): ``n_rel``, ``n_hits`` (recommendations at ``rank <= k``
    in the user's test set), ``dcg`` and ``ap_sum``; a user a model recommended nothing to (or
    nothing relevant) gets zeros, so it counts as 0 in every average.
    """
    truth = test.select(user_col, item_col).distinct()
    n_rel = truth.groupBy(user_col).agg(F.count(F.lit(1)).alias("n_rel"))
    every = n_rel.select(
        F.explode(F.array(*[F.lit(m) for m in models])).alias(_MODEL), user_col, "n_rel"
    )
    hits = top.join(truth, [user_col, item_col]).withColumn(
        "_hit_no", F.row_number().over(Window.partitionBy(_MODEL, user_col).orderBy(rank_col))
    )
    per_hit = hits.groupBy(_MODEL, user_col).agg(
        F.count(F.lit(1)).alias("n_hits"),
        F.sum(1.0 / F.log(1.0 + F.col(rank_col))).alias("dcg"),
        # MS: sum over hits of (hits so far) / rank
        F.sum(F.col("_hit_no") / F.col(rank_col)).alias("ap_sum"),
    )
    idcg = F.aggregate(
        F.sequence(F.lit(1), F.least(F.col("n_rel"), F.lit(k))),
        F.lit(0.0),
        lambda acc, i: acc + 1.0 / F.log(1.0 + i),
    )
    per_user = every.join(per_hit, [_MODEL, user_col], "left").fillna(
        0, subset=["n_hits", "dcg", "ap_sum"]
    )
    return per_user.groupBy(_MODEL).agg(
        F.avg(F.col("n_hits") / k).alias("precision"),
        F.avg(F.col("n_hits") / F.col("n_rel")).alias("recall"),
        F.avg(F.col("dcg") / idcg).alias("ndcg"),
        F.avg(F.col("ap_sum") / F.least(F.col("n_rel"), F.lit(k))).alias("map"),
        F.avg(F.col("ap_sum") / F.col("n_rel")).alias("map_rel"),
        F.avg((F.col("n_hits") > 0).cast("double")).alias("hit_rate"),
        F.count(F.lit(1)).cast("double").alias("users"),
    )


def ranking_metrics(
    recs: DataFrame,
    test: DataFrame,
    k: int = 10,
    user_col: str = C.USER_ID,
    item_col: str = C.MOVIE_ID,
    rank_col: str = C.RANK,
) -> dict[str, float]:
    """Precision, recall, nDCG, MAP and hit rate at ``k``, averaged over users with test rows.

    - precision = hits / k (also when fewer than k were recommended, as MS does)
    - recall = hits / |test items|
    - ndcg = sum over hits of 1/log(1+rank) / sum_{i<=min(|test|,k)} 1/log(1+i)
    - map = MS ``map_at_k``: sum over hits of (hits so far / rank), / min(|test|, k)
    - map_rel = MS ``map``: the same sum / |test| (the "MAP (÷|rel|)" column of ANCHORS)
    - hit_rate = share of users with at least one hit; users = users evaluated.

    One difference from MS: MS averages over users present in both test and recs; here a test
    user without recommendations counts as 0 (identical when every test user has recs).
    """
    top = tag_models({"_": recs}, k, user_col, item_col, rank_col)
    by_model = ranking_by_model(top, test, ["_"], k, user_col, item_col, rank_col)
    return collect_by_model([by_model], ["_"])["_"]


def popularity_ranks(train: DataFrame, item_col: str = C.MOVIE_ID) -> DataFrame:
    """``movie_id, pop_rank``: 1 = most rated in train; ties share the best rank.

    The window has no partition key on purpose: it runs over the catalogue (one row per movie),
    not over ratings.
    """
    counts = train.groupBy(item_col).agg(F.count(F.lit(1)).alias("_cnt"))
    return counts.select(
        item_col, F.rank().over(Window.orderBy(F.col("_cnt").desc())).alias("pop_rank")
    )


def beyond_accuracy_by_model(
    top: DataFrame,
    train: DataFrame,
    movies: DataFrame | None = None,
    user_col: str = C.USER_ID,
    item_col: str = C.MOVIE_ID,
    genres_col: str = C.GENRES,
) -> list[DataFrame]:
    """``_model, coverage, novelty`` (and, with ``movies``, ``_model, diversity``) frames from
    :func:`tag_models` output; definitions in :func:`beyond_accuracy_metrics`."""
    pop = popularity_ranks(train, item_col)
    n_train = pop.agg(F.count(F.lit(1)).alias("_n_train"))
    stats = (
        top.join(pop, item_col, "left")
        .crossJoin(n_train)
        .groupBy(_MODEL)
        .agg(
            F.try_divide(F.countDistinct(item_col), F.first("_n_train")).alias("coverage"),
            F.avg(F.coalesce(F.col("pop_rank"), F.col("_n_train") + 1)).alias("novelty"),
        )
    )
    if movies is None:
        return [stats]
    return [stats, _diversity_by_model(top, movies, user_col, item_col, genres_col)]


def beyond_accuracy_metrics(
    recs: DataFrame,
    train: DataFrame,
    movies: DataFrame | None = None,
    k: int = 10,
    user_col: str = C.USER_ID,
    item_col: str = C.MOVIE_ID,
    rank_col: str = C.RANK,
    genres_col: str = C.GENRES,
) -> dict[str, float]:
    """Catalogue coverage, novelty and (with ``movies``) intra-list genre diversity at ``k``.

    - coverage = distinct recommended movies / distinct movies in train
    - novelty = mean popularity rank (1 = most rated in train) over all recommended
      (user, movie) pairs; higher = less mainstream. A movie unseen in train gets rank
      (#train movies + 1).
    - diversity = mean over users (with >= 2 recs) of the mean pairwise 1 - Jaccard of the
      genre sets in their list; two movies without genres count as identical.
    """
    top = tag_models({"_": recs}, k, user_col, item_col, rank_col)
    frames = beyond_accuracy_by_model(top, train, movies, user_col, item_col, genres_col)
    return collect_by_model(frames, ["_"])["_"]


def _diversity_by_model(
    top: DataFrame, movies: DataFrame, user_col: str, item_col: str, genres_col: str
) -> DataFrame:
    genres = movies.select(item_col, F.array_distinct(genres_col).alias("_g"))
    tagged = (
        top.select(_MODEL, user_col, item_col)
        .join(genres, item_col, "left")
        .withColumn("_g", F.coalesce(F.col("_g"), F.array().cast("array<string>")))
    )
    a, b = tagged.alias("a"), tagged.alias("b")
    pairs = a.join(
        b,
        (F.col(f"a.{_MODEL}") == F.col(f"b.{_MODEL}"))
        & (F.col(f"a.{user_col}") == F.col(f"b.{user_col}"))
        & (F.col(f"a.{item_col}") < F.col(f"b.{item_col}")),
    )
    union = F.size(F.array_union("a._g", "b._g"))
    inter = F.size(F.array_intersect("a._g", "b._g"))
    dist = F.when(union == 0, F.lit(0.0)).otherwise(1.0 - inter / union)
    per_user = pairs.groupBy(F.col(f"a.{_MODEL}").alias(_MODEL), F.col(f"a.{user_col}")).agg(
        F.avg(dist).alias("_d")
    )
    return per_user.groupBy(_MODEL).agg(F.avg("_d").alias("diversity"))


def intra_list_diversity(
    top: DataFrame,
    movies: DataFrame,
    user_col: str = C.USER_ID,
    item_col: str = C.MOVIE_ID,
    genres_col: str = C.GENRES,
) -> float:
    """Mean over users of mean pairwise genre distance (1 - Jaccard) within their list."""
    tagged = top.select(F.lit("_").alias(_MODEL), user_col, item_col)
    by_model = _diversity_by_model(tagged, movies, user_col, item_col, genres_col)
    return collect_by_model([by_model], ["_"])["_"].get("diversity", 0.0)


def collect_by_model(frames: Sequence[DataFrame], models: Sequence[str]) -> dict[str, dict]:
    """``model -> metric -> value`` (in ``models`` order) from per-model frames (``_model`` +
    metric columns), in one query; a model missing from a frame (nothing to average) gets 0.0
    for its metrics."""
    spark = frames[0].sparkSession
    table = spark.createDataFrame([(m,) for m in models], f"{_MODEL} string")
    for frame in frames:
        table = table.join(frame, _MODEL, "left")
    out = {}
    for row in table.collect():  # one row per model
        values = row.asDict()
        name = values.pop(_MODEL)
        out[name] = {key: 0.0 if v is None else float(v) for key, v in values.items()}
    return {name: out[name] for name in models}
