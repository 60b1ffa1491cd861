"""Neighbourhood EASE against exact EASE computed with numpy on a tiny matrix.

When every pair of movies is co-rated and ``k`` covers all other movies, the neighbourhood
model is exactly EASE (each column of EASE is the ridge regression on all other columns)."""

from __future__ import annotations

import numpy as np
import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from recsys import columns as C
from recsys.neighbors.ease import EASE_WEIGHTS, EaseConfig, ease_scores, ease_weights
from tests import _frames as fr

# user 1 rated everything (so every pair is co-rated); the others draw a fixed pattern
X = np.array(
    [
        [1, 1, 1, 1, 1, 1],
        [1, 1, 0, 0, 0, 1],
        [0, 1, 1, 0, 0, 0],
        [1, 0, 1, 1, 0, 0],
        [0, 0, 0, 1, 1, 1],
        [1, 1, 0, 0, 1, 0],
        [0, 1, 0, 1, 0, 1],
    ],
    dtype=float,
)
MOVIES = [10, 20, 30, 40, 50, 60]


def exact_ease(x: np.ndarray, reg: float) -> np.ndarray:
    g = x.T @ x + reg * np.eye(x.shape[1])
    p = np.linalg.inv(g)
    b = -p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    return b


@pytest.fixture(scope="module")
def ratings(spark):
    rows = [(u + 1, MOVIES[m], 4.0) for u, m in zip(*np.nonzero(X), strict=True)]
    return fr.ratings(spark, [(int(u), int(m), r) for u, m, r in rows])


def test_full_neighbourhood_is_exact_ease(ratings):
    weights = ease_weights(ratings, EaseConfig(k=10, reg=2.0))
    got = {(r[C.MOVIE_ID], r[C.NEIGHBOR_ID]): r[C.WEIGHT] for r in weights.collect()}
    b = exact_ease(X, 2.0)
    want = {
        (MOVIES[i], MOVIES[j]): b[i, j]
        for i in range(len(MOVIES))
        for j in range(len(MOVIES))
        if i != j
    }
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-9), key


def test_k_limits_each_movies_regressors(ratings):
    weights = ease_weights(ratings, EaseConfig(k=2, reg=2.0))
    per_target = weights.groupBy(C.NEIGHBOR_ID).count().agg(F.max("count")).first()[0]
    assert per_target == 2
    assert_df_equality(weights.limit(0), weights.sparkSession.createDataFrame([], EASE_WEIGHTS))


def test_scores_are_the_sums_of_the_rated_movies_weights(ratings):
    """(The candidate contract, rated movies excluded and reasons among them, is checked for
    every source in tests/test_candidate_sources.py.)"""
    weights = ease_weights(ratings, EaseConfig(k=10, reg=2.0))
    rows = ease_scores(ratings, weights, n=3).collect()
    assert rows, "users with unrated movies get recommendations"
    b = exact_ease(X, 2.0)
    for r in rows:
        u = r[C.USER_ID] - 1
        j = MOVIES.index(r[C.MOVIE_ID])
        assert r[C.SCORE] == pytest.approx(float(X[u] @ b[:, j]), abs=1e-9)


def _most_similar(g: np.ndarray, j: int) -> list[int]:
    """Movies co-rated with j, most similar (cosine) first, ties to the smaller index."""
    n = np.diag(g)
    cands = [a for a in range(g.shape[0]) if a != j and g[a, j] > 0]
    return sorted(cands, key=lambda a: (-g[a, j] / np.sqrt(n[a] * n[j]), a))


def neighbourhood_ease(
    x: np.ndarray, k: int, reg: float, kept: int | None = None
) -> dict[tuple[int, int], float]:
    """The definition in numpy: for each target j, N = its k most co-rated movies by cosine
    (ties: smaller index), weights = (G[N, N] + reg I)^-1 G[N, j]; pairs never co-rated are
    not neighbours. With ``kept``, G[a, b] (a != b) is zero unless b is among a's ``kept``
    most similar movies or a among b's."""
    g = x.T @ x
    if kept is not None:
        near = np.zeros_like(g, dtype=bool)
        for a in range(g.shape[0]):
            near[a, _most_similar(g, a)[:kept]] = True
        g = np.where(near | near.T | np.eye(len(g), dtype=bool), g, 0.0)
    out = {}
    for j in range(x.shape[1]):
        nbrs = _most_similar(g, j)[:k]
        if not nbrs:
            continue
        w = np.linalg.solve(g[np.ix_(nbrs, nbrs)] + reg * np.eye(len(nbrs)), g[nbrs, j])
        out.update({(a, j): float(v) for a, v in zip(nbrs, w, strict=True) if v != 0.0})
    return out


def test_sparse_co_ratings_match_the_definition(spark):
    """Most pairs of movies are never co-rated (zeros in G[N, N]) and k cuts each
    neighbourhood: the weights equal the numpy definition entry by entry."""
    rnd = np.random.default_rng(3)
    x = (rnd.random((40, 25)) < 0.12).astype(float)
    x[np.arange(25) % 40, np.arange(25)] = 1.0  # every movie rated at least once
    ids = [100 + 7 * m for m in range(25)]  # ids that are not positions
    rows = [(int(u) + 1, ids[m], 4.0) for u, m in zip(*np.nonzero(x), strict=True)]
    ratings = fr.ratings(spark, rows)
    got = {
        (r[C.MOVIE_ID], r[C.NEIGHBOR_ID]): r[C.WEIGHT]
        for r in ease_weights(ratings, EaseConfig(k=4, reg=1.5)).collect()
    }
    want = {(ids[a], ids[j]): w for (a, j), w in neighbourhood_ease(x, 4, 1.5).items()}
    assert len(want) > 50
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-9), key


def test_kept_co_ratings_match_the_definition(spark):
    """Each movie keeps only its ``max_corated`` most similar co-rated movies: a regressor pair
    missing from both movies' kept lists counts as never co-rated, as in the definition."""
    rnd = np.random.default_rng(5)
    x = (rnd.random((60, 20)) < 0.3).astype(float)
    x[np.arange(20) % 60, np.arange(20)] = 1.0
    rows = [(int(u) + 1, int(m) + 1, 4.0) for u, m in zip(*np.nonzero(x), strict=True)]
    ratings = fr.ratings(spark, rows)
    params = EaseConfig(k=5, reg=1.5, max_corated=6)
    got = {
        (r[C.MOVIE_ID], r[C.NEIGHBOR_ID]): r[C.WEIGHT]
        for r in ease_weights(ratings, params).collect()
    }
    want = {(a + 1, j + 1): w for (a, j), w in neighbourhood_ease(x, 5, 1.5, kept=6).items()}
    full = {(a + 1, j + 1): w for (a, j), w in neighbourhood_ease(x, 5, 1.5).items()}
    assert want.keys() == full.keys()  # the same regressors (each movie's top 5 of its 6)...
    assert any(abs(want[key] - full[key]) > 1e-6 for key in want)  # ...other systems
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-9), key


def test_max_corated_below_k_is_refused():
    with pytest.raises(ValueError, match="max_corated"):
        EaseConfig(k=10, max_corated=5)
