"""The recommend stage end to end on a tiny lake: tables, exclusions, ranks, reasons, new movie
reachable through content, graceful fallback when ALS has not run."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from recsys import columns as C
from recsys.blend import RECOMMENDATIONS, SIMILAR_MOVIES, RecommendConfig
from recsys.content import MOVIE_NEIGHBORS
from recsys.jobs import recommend as recommend_job
from tests import _frames as fr

TITLES = {
    1: ("Heat (1995)", ["Action", "Crime"]),
    2: ("Toy Story (1995)", ["Animation", "Comedy"]),
    3: ("Casino (1995)", ["Crime", "Drama"]),
    4: ("Babe (1995)", ["Comedy", "Drama"]),
    5: ("Se7en (1995)", ["Crime", "Thriller"]),
    6: ("Clueless (1995)", ["Comedy"]),
    7: ("New Movie (2024)", ["Crime", "Drama"]),  # metadata, no ratings
}
HISTORY = {
    1: [(1, 5.0), (3, 4.0), (5, 4.5), (2, 2.0)],
    2: [(1, 4.0), (3, 5.0), (5, 4.0), (4, 3.0), (6, 2.0)],
    3: [(2, 5.0), (4, 4.0), (6, 4.5), (1, 1.0)],
    4: [(2, 4.0), (4, 5.0), (6, 4.0), (3, 2.0), (5, 1.0)],
    5: [(1, 3.0), (2, 3.0), (3, 3.0), (4, 3.0)],
    9: [(3, 5.0)],  # one rating: content-led bucket
}
N = 3


def _catalogue(spark, lake) -> None:
    movies = [(m, t, 1995, g, None) for m, (t, g) in TITLES.items()]
    lake.overwrite(C.T_MOVIES, fr.movies(spark, movies))
    lake.overwrite(
        C.T_RATINGS, fr.ratings(spark, [(u, m, r) for u, h in HISTORY.items() for m, r in h])
    )


@pytest.fixture(scope="module")
def written(spark, tmp_path_factory, make_ctx):
    ctx = make_ctx(str(tmp_path_factory.mktemp("lake")))
    lake = ctx.lake
    _catalogue(spark, lake)
    nbrs = [(7, 3, 0.9, 1), (3, 7, 0.9, 1), (1, 5, 0.6, 1), (5, 1, 0.6, 1), (2, 6, 0.5, 1)]
    lake.overwrite(C.T_MOVIE_NEIGHBORS, spark.createDataFrame(nbrs, MOVIE_NEIGHBORS))
    summary = recommend_job.run(ctx, RecommendConfig(n=N), run_id="recommend-test")
    recs = [r.asDict() for r in lake.read(C.T_RECOMMENDATIONS).collect()]
    return lake, summary, recs


def test_tables_and_summary(written):
    lake, summary, recs = written
    assert lake.schema(C.T_RECOMMENDATIONS).fieldNames() == RECOMMENDATIONS.fieldNames()
    assert lake.schema(C.T_SIMILAR_MOVIES).fieldNames() == SIMILAR_MOVIES.fieldNames()
    assert "als" not in summary.details["sources"]
    assert any("train-als" in n for n in summary.notes)
    assert summary.rows[C.T_RECOMMENDATIONS] == len(recs)
    assert summary.details["users"] == len(HISTORY)
    runs = lake.read("runs").where(F.col(C.RUN_ID) == "recommend-test").collect()
    assert [r["status"] for r in runs] == ["succeeded"]
    assert runs[0]["row_counts"][C.T_RECOMMENDATIONS] == len(recs)


def test_every_user_gets_n_unrated_movies_ranked_1_to_n(written):
    _, _, recs = written
    for user, history in HISTORY.items():
        mine = sorted((r for r in recs if r[C.USER_ID] == user), key=lambda r: r[C.RANK])
        rated = {m for m, _ in history}
        # every rated-by-someone movie is reachable through popularity; the new movie 7 only
        # through content, so "all they can" is at least the unrated movies among 1-6
        reachable = set(range(1, 7)) - rated
        assert min(N, len(reachable)) <= len(mine) <= N, user
        assert [r[C.RANK] for r in mine] == list(range(1, len(mine) + 1)), user
        assert not rated & {r[C.MOVIE_ID] for r in mine}, user


def test_reasons_name_a_movie_the_user_rated(written):
    _, _, recs = written
    for r in recs:
        ratings = dict(HISTORY[r[C.USER_ID]])
        assert r[C.BECAUSE_MOVIE_ID] in ratings
        stars = ratings[r[C.BECAUSE_MOVIE_ID]]
        stars_text = f"{stars:g}"
        title = TITLES[r[C.BECAUSE_MOVIE_ID]][0]
        assert r[C.REASON] == f"because you rated {title} {stars_text}/5"


def test_new_movie_reaches_a_content_led_user(written):
    lake, _, recs = written
    mine = {r[C.MOVIE_ID]: r for r in recs if r[C.USER_ID] == 9}
    assert 7 in mine and mine[7][C.HISTORY_BUCKET] == "1-5"
    assert mine[7][C.REASON] == "because you rated Casino (1995) 5/5"
    similar = lake.read(C.T_SIMILAR_MOVIES).where(F.col(C.MOVIE_ID) == 7).collect()
    assert [(r[C.SIMILAR_MOVIE_ID], r[C.CONTENT_SIMILARITY]) for r in similar] == [(3, 0.9)]


def test_similar_k_zero_skips_similar_movies(spark, lake, ctx):
    """A scoring run (similar_k=0, `recommend --no-similar`) writes recommendations only."""
    _catalogue(spark, lake)
    summary = recommend_job.run(ctx, RecommendConfig(n=N, similar_k=0))
    assert summary.rows[C.T_RECOMMENDATIONS] > 0 and C.T_SIMILAR_MOVIES not in summary.rows
    assert lake.exists(C.T_RECOMMENDATIONS) and not lake.exists(C.T_SIMILAR_MOVIES)
