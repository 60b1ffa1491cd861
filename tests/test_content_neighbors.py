"""Content model and neighbour tables: known nearest neighbours, symmetry, LSH recall."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from chispa.schema_comparer import assert_schema_equality
from pyspark.sql import functions as F

from recsys import columns as C
from recsys.candidates import TrainingData
from recsys.content import (
    MOVIE_NEIGHBORS,
    ContentConfig,
    ContentEstimator,
    ContentModel,
    ContentSource,
    build_documents,
    exact_neighbors,
    movie_neighbors,
    neighbors_by,
)
from tests._content_data import movies_df, random_catalogue, ratings_df, tags_df


@pytest.fixture(scope="module")
def fitted(spark):
    documents = build_documents(movies_df(spark), tags_df(spark)).cache()
    model = ContentEstimator().fit(documents)
    neighbors = exact_neighbors(model, documents, k=20).cache()
    yield model, documents, neighbors
    neighbors.unpersist()
    documents.unpersist()


def _lists(neighbors) -> dict[int, list[tuple[int, float]]]:
    rows = neighbors.orderBy(C.MOVIE_ID, C.RANK).collect()  # a hand-made catalogue
    out: dict[int, list[tuple[int, float]]] = {}
    for r in rows:
        out.setdefault(r[C.MOVIE_ID], []).append((r[C.NEIGHBOR_ID], r[C.SIMILARITY]))
    return out


def test_same_genres_and_tags_are_nearest_and_disjoint_are_absent(fitted):
    _, _, neighbors = fitted
    lists = _lists(neighbors)
    assert lists[1][0][0] == 2  # Inception -> Looper (same genres, era, tags)
    assert lists[3][0][0] == 4  # Notting Hill -> Love Actually
    assert 3 not in [m for m, _ in lists[1]]  # nothing in common: no neighbour
    # similarity strictly decreasing-or-equal with rank
    for items in lists.values():
        sims = [s for _, s in items]
        assert sims == sorted(sims, reverse=True)
        assert all(0 < s <= 1 + 1e-9 for s in sims)


def test_movies_without_metadata_get_no_neighbours(fitted):
    _, _, neighbors = fitted
    ids = {
        r[0] for r in neighbors.select(C.MOVIE_ID).union(neighbors.select(C.NEIGHBOR_ID)).collect()
    }
    assert 9 not in ids  # "unknown": no document
    assert 10 not in ids  # only a token no other movie has: zero vector
    assert {1, 2, 3, 4, 5, 6, 7, 8} <= ids


def test_schema_ranks_and_symmetry(fitted):
    _, _, neighbors = fitted
    assert_schema_equality(neighbors.schema, MOVIE_NEIGHBORS, ignore_nullable=True)
    a = neighbors.alias("a")
    b = neighbors.alias("b")
    pairs = a.join(
        b,
        (F.col("a.movie_id") == F.col("b.neighbor_id"))
        & (F.col("a.neighbor_id") == F.col("b.movie_id")),
    ).select(F.col("a.similarity").alias("x"), F.col("b.similarity").alias("y"))
    rows = pairs.collect()
    assert len(rows) == neighbors.count()  # every pair present both ways (k > catalogue)
    assert all(r["x"] == r["y"] for r in rows)
    ranks = neighbors.groupBy(C.MOVIE_ID).agg(
        F.min(C.RANK).alias("lo"), F.max(C.RANK).alias("hi"), F.count("*").alias("n")
    )
    assert ranks.where("lo != 1 OR hi != n").count() == 0


def test_ties_are_broken_by_neighbor_id(spark):
    # three identical documents: 1's neighbours are 2 then 3 (same similarity)
    rows = [(i, f"Twin {i} (2001)", 2001, ["Drama", "War"], None) for i in (3, 1, 2)]
    rows.append((4, "Other (1950)", 1950, ["Comedy", "War"], None))
    documents = build_documents(movies_df(spark, rows), None)
    neighbors = exact_neighbors(ContentEstimator().fit(documents), documents, k=2)
    got = [(r[0], r[1]) for r in neighbors.where("movie_id = 1").orderBy(C.RANK).collect()]
    assert got == [(1, 2), (1, 3)]


def test_lsh_recall_against_exact_on_small_catalogue(spark):
    movies, tags = random_catalogue(150)
    documents = build_documents(movies_df(spark, movies), tags_df(spark, tags)).cache()
    # generous LSH settings: this checks the join, distance -> cosine and ranking, not tuning
    model = ContentEstimator(ContentConfig(bucket_length=1.0, num_hash_tables=8)).fit(documents)
    exact = exact_neighbors(model, documents, k=10).cache()
    approx = movie_neighbors(model, documents, k=10)
    hits = approx.join(exact, [C.MOVIE_ID, C.NEIGHBOR_ID]).count()
    recall = hits / exact.count()
    documents.unpersist()
    exact.unpersist()
    assert recall >= 0.9, recall


def test_save_load_round_trip(fitted, tmp_path):
    model, documents, _ = fitted
    model.save(str(tmp_path / "content"))
    loaded = ContentModel.load(str(tmp_path / "content"))
    assert loaded.vocabulary == model.vocabulary
    before = model.transform(documents).select(C.MOVIE_ID, C.FEATURES, "hashes")
    after = loaded.transform(documents).select(C.MOVIE_ID, C.FEATURES, "hashes")
    assert sorted(before.collect()) == sorted(after.collect())


def test_exact_join_rows_counts_movie_pairs_per_weighted_token(fitted):
    model, documents, _ = fitted
    tokens = model.term_weights(documents).groupBy("term").count().collect()  # hand-made
    expected = sum(r["count"] * (r["count"] - 1) / 2 for r in tokens)
    assert model.exact_join_rows() == pytest.approx(expected)
    assert expected > 0
    n = documents.count()  # hand-made catalogue
    assert model.movie_pairs() == n * (n - 1) / 2


def test_auto_method_is_exact_within_budget_and_lsh_beyond(spark):
    movies, tags = movies_df(spark), tags_df(spark)
    data = TrainingData(ratings_df(spark, [(1, 1, 4.0)]), movies, tags)
    small = ContentSource(ContentConfig(exact_max_rows_per_pair=1e9), k=5).fit(data)
    large = ContentSource(ContentConfig(exact_max_rows_per_pair=0.0), k=5).fit(data)
    forced = ContentSource(ContentConfig(exact_max_rows_per_pair=1e9), method="lsh").fit(data)
    assert (small.method, large.method, forced.method) == ("exact", "lsh", "lsh")
    for result in (small, large, forced):
        result.documents.unpersist()
    with pytest.raises(ValueError, match="auto, lsh, exact"):
        ContentSource(method="fastest")  # type: ignore[arg-type]


def test_neighbors_by_resolves_auto_and_builds_that_table(fitted):
    model, documents, _ = fitted
    exact = ContentConfig(exact_max_rows_per_pair=1e9)
    method, table = neighbors_by(model, documents, exact, k=3)
    assert method == "exact"
    assert_df_equality(table, exact_neighbors(model, documents, k=3), ignore_row_order=True)
    assert neighbors_by(model, documents, exact, "lsh", k=3)[0] == "lsh"


def test_blocked_exact_neighbours_match_the_inverted_index_join(spark, monkeypatch):
    """The numpy blocks (several of them: a tiny block size) give every movie the neighbours
    of the join definition: the same similarity at every rank, and each listed neighbour's
    similarity equal to the join's value for that pair."""
    from recsys.content import _neighbors as N
    from recsys.content import exact_pairs, top_k

    monkeypatch.setattr(N, "_BLOCK_CELLS", 600)  # 150 movies: 4 per block, 38 blocks
    movies, tags = random_catalogue(150)
    documents = build_documents(movies_df(spark, movies), tags_df(spark, tags)).cache()
    model = ContentEstimator().fit(documents)
    blocked = exact_neighbors(model, documents, k=10).toPandas()
    pairs = exact_pairs(model.term_weights(documents))
    joined = top_k(pairs, k=10).toPandas()
    both = pairs.toPandas()
    documents.unpersist()

    assert len(blocked) == len(joined) > 1000
    by_rank = blocked.merge(joined, on=[C.MOVIE_ID, C.RANK], suffixes=("", "_join"))
    assert len(by_rank) == len(blocked)
    assert (by_rank[C.SIMILARITY] - by_rank[f"{C.SIMILARITY}_join"]).abs().max() < 1e-12
    value = {(a, b): s for a, b, s in both.itertuples(index=False)}
    for m, n, s in blocked[[C.MOVIE_ID, C.NEIGHBOR_ID, C.SIMILARITY]].itertuples(index=False):
        assert abs(value[(min(m, n), max(m, n))] - s) < 1e-12
