"""The candidate-source contract (:mod:`recsys.candidates`), checked on every source the blend
combines: fitted on the same small catalogue, each gives every user at most ``n`` movies they did
not rate, ranked 1..k by score (ties to the smaller movie id), with the shared column types, and
the same rows on a second fit."""

from __future__ import annotations

import random

import pytest
from chispa import assert_df_equality

from recsys import columns as C
from recsys.als import ALSConfig, ALSSource
from recsys.blend import PopularitySource
from recsys.candidates import CandidateSource, TrainingData, top_n_unrated
from recsys.content import ContentConfig, ContentSource
from recsys.neighbors import EaseConfig, EaseSource, ItemKnnSource, KnnConfig, UserKnnSource
from recsys.schemas import RECS
from tests._content_data import movies_df, ratings_df, tags_df

N = 4
EVERY_MOVIE = {"als", "popularity"}
"""Sources that score every movie they know (the others reach a movie through neighbours)."""
SOURCES: dict[str, CandidateSource] = {
    "als": ALSSource(ALSConfig(mode="implicit", rank=3, max_iter=4, num_blocks=1, seed=3)),
    "content": ContentSource(ContentConfig(), k=5, method="exact"),
    "ease": EaseSource(EaseConfig(k=4, max_corated=6)),
    "itemknn": ItemKnnSource(KnnConfig(k=5)),
    "userknn": UserKnnSource(KnnConfig(k=5)),
    "popularity": PopularitySource(),
}


@pytest.fixture(scope="module")
def data(spark):
    """12 users over the content tests' 10 movies: two taste groups, a light and a heavy user
    (who rated all but one movie: fewer than ``N`` candidates exist for them)."""
    rng = random.Random(5)
    rows = []
    for user in range(1, 11):
        liked = [1, 2, 5, 6, 8] if user % 2 else [3, 4, 7, 9, 10]
        for movie in rng.sample(liked, 3) + rng.sample(range(1, 11), 2):
            rows.append((user, movie, float(rng.choice([2, 3, 4, 5]))))
    rows += [(11, 1, 5.0)] + [(12, m, 4.0) for m in range(1, 10)]
    unique = {(u, m): r for u, m, r in rows}
    ratings = ratings_df(spark, [(u, m, r) for (u, m), r in sorted(unique.items())])
    return TrainingData(ratings.cache(), movies_df(spark), tags_df(spark))


def _candidates(name: str, data: TrainingData):
    return SOURCES[name].fit(data).candidates(data.ratings, N)


@pytest.mark.parametrize("name", SOURCES)
def test_source_follows_the_contract(spark, data, name):
    recs = _candidates(name, data).cache()
    for field in RECS.fields:  # the shared columns with the shared types
        assert recs.schema[field.name].dataType == field.dataType, (name, field.name)
    rows = recs.collect()
    assert rows, f"{name} recommended nothing"
    rated = {(r[C.USER_ID], r[C.MOVIE_ID]) for r in data.ratings.collect()}
    assert not [r for r in rows if (r[C.USER_ID], r[C.MOVIE_ID]) in rated], "a rated movie"
    by_user: dict[int, list] = {}
    for r in rows:
        by_user.setdefault(r[C.USER_ID], []).append(r)
    assert set(by_user) <= {u for u, _ in rated}, "a user without ratings"
    for user, mine in by_user.items():
        mine.sort(key=lambda r: r[C.RANK])
        assert [r[C.RANK] for r in mine] == list(range(1, len(mine) + 1)), (name, user)
        assert len(mine) <= N
        assert len({r[C.MOVIE_ID] for r in mine}) == len(mine)
        order = [(-r[C.SCORE], r[C.MOVIE_ID]) for r in mine]
        assert order == sorted(order), f"{name}: user {user} not ranked by score, then id"
        if C.BECAUSE_MOVIE_ID in recs.columns:
            reasons = [r[C.BECAUSE_MOVIE_ID] for r in mine if r[C.BECAUSE_MOVIE_ID] is not None]
            assert all((user, because) in rated for because in reasons), (name, user)
    heavy = [r[C.MOVIE_ID] for r in by_user.get(12, [])]
    # the heavy user has one unrated movie; sources that score every movie must find it
    assert heavy == [10] if name in EVERY_MOVIE else heavy in ([], [10]), heavy
    again = _candidates(name, data)
    assert_df_equality(recs, again, ignore_row_order=True, ignore_nullable=True)
    recs.unpersist()


def test_top_n_unrated_ranks_by_score_then_id_and_drops_rated(spark):
    scored = spark.createDataFrame(
        [(1, 10, 0.5), (1, 11, 0.9), (1, 12, 0.9), (1, 13, 0.1), (2, 10, 0.2)],
        f"{C.USER_ID} int, {C.MOVIE_ID} int, {C.SCORE} double",
    )
    rated = spark.createDataFrame([(1, 11)], f"{C.USER_ID} int, {C.MOVIE_ID} int")
    got = top_n_unrated(scored, 2, rated=rated).orderBy(C.USER_ID, C.RANK).collect()
    assert [(r[C.USER_ID], r[C.MOVIE_ID], r[C.RANK]) for r in got] == [
        (1, 12, 1),
        (1, 10, 2),
        (2, 10, 1),
    ]
