"""Title lookup and the train-content / similar commands end to end on a hand-made lake."""

from __future__ import annotations

import argparse

import pytest
from pyspark.sql import functions as F

from recsys import columns as C
from recsys.cli import similar as similar_cli
from recsys.cli import train_content as train_cli
from recsys.content import AmbiguousTitleError, TitleNotFoundError, find_title
from tests._content_data import movies_df, ratings_df, tags_df


@pytest.fixture(scope="module")
def movies(spark):
    return movies_df(spark).cache()


@pytest.mark.parametrize(
    ("query", "movie_id"),
    [
        ("Inception (2010)", 1),  # full title
        ("inCEPTION", 1),  # case-insensitive, year optional
        ("the matrix", 8),  # "Matrix, The (1999)": article moved back
        ("Heat (1972)", 7),  # the year picks one of two "Heat"s
        ("Incepton", 1),  # fuzzy
    ],
)
def test_find_title(movies, query, movie_id):
    assert find_title(movies, query).movie_id == movie_id


def test_ambiguous_title_lists_candidates(movies):
    with pytest.raises(AmbiguousTitleError) as err:
        find_title(movies, "heat")
    assert sorted(m for m, _ in err.value.candidates) == [6, 7]
    assert "Heat (1995)" in str(err.value) and "Heat (1972)" in str(err.value)


def test_missing_title_is_a_clear_error(movies):
    with pytest.raises(TitleNotFoundError, match="no movie title matches"):
        find_title(movies, "Gone with the Wind")


def test_train_content_and_similar_commands(spark, lake, ctx, capsys):
    lake.overwrite(C.T_MOVIES, movies_df(spark))
    lake.overwrite(C.T_TAGS, tags_df(spark))
    lake.overwrite(C.T_RATINGS, ratings_df(spark, [(1, 1, 5), (1, 3, 1), (1, 6, 3)]))
    parser = argparse.ArgumentParser()
    train_cli.add_arguments(parser)
    assert train_cli.run(parser.parse_args(["--method", "exact"]), ctx) == 0

    scores = lake.read(C.T_CONTENT_SCORES)
    top = scores.where(F.col(C.RANK) == 1).collect()
    assert [(r[C.USER_ID], r[C.MOVIE_ID], r[C.BECAUSE_MOVIE_ID]) for r in top] == [(1, 2, 1)]
    assert scores.where(F.col(C.MOVIE_ID).isin(1, 3, 6)).count() == 0  # rated: excluded
    runs = lake.read("runs").collect()
    assert runs[0]["status"] == "succeeded"
    assert runs[0]["row_counts"][C.T_MOVIE_NEIGHBORS] == lake.read(C.T_MOVIE_NEIGHBORS).count()

    parser = argparse.ArgumentParser()
    similar_cli.add_arguments(parser)
    assert similar_cli.run(parser.parse_args(["inception", "--k", "2"]), ctx) == 0
    out = capsys.readouterr().out
    assert "Movies similar to Inception (2010) (id 1):" in out
    assert "1. Looper (2012)" in out
