"""`recsys pipeline` end to end through the generic ingest path (`--ratings/--movies/--tags`):
on a hand-made catalogue whose movies may lack genres, title words, a year or tags (and whose
users may have rated only such movies), and on ml-latest-small written out as plain files with
remapped ids."""

from __future__ import annotations

import csv
import io
import random
import zipfile
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from recsys import columns as C
from recsys.cli import main
from tests._paths import TEST_PROFILE, movielens_zip

PROFILE = TEST_PROFILE
N = 10


def write_csv(path: Path, header: list[str], rows: list[tuple]) -> str:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def run_pipeline(root: Path, *flags: str) -> int:
    return main(["pipeline", "--profile", PROFILE, "--lake-root", str(root), *flags])


def assert_every_user_served(spark, root: Path, n: int = N) -> None:
    """Every user gets min(n, unrated movies) rows ranked 1.., none rated, each with a reason."""
    from recsys.lakehouse import Lake

    lake = Lake(spark, str(root))
    recs = lake.read(C.T_RECOMMENDATIONS)
    ratings = lake.read(C.T_RATINGS)
    n_movies = lake.count(C.T_MOVIES)
    want = ratings.groupBy(C.USER_ID).agg(
        F.least(F.lit(n), F.lit(n_movies) - F.count(F.lit(1))).alias("want")
    )
    got = recs.groupBy(C.USER_ID).agg(
        F.count(F.lit(1)).alias("rows"), F.max(C.RANK).alias("hi"), F.min(C.RANK).alias("lo")
    )
    bad = want.join(got, C.USER_ID, "left").where(
        F.col("rows").isNull()
        | (F.col("rows") != F.col("want"))
        | (F.col("hi") != F.col("rows"))
        | (F.col("lo") != 1)
    )
    assert bad.limit(5).collect() == []
    assert recs.join(ratings, [C.USER_ID, C.MOVIE_ID], "left_semi").count() == 0
    assert recs.where(F.col(C.REASON).isNull() | (F.col(C.REASON) == "")).count() == 0


def test_pipeline_on_movies_without_genres_title_words_year_or_tags(spark, tmp_path):
    """Movies 61-80 have no genres; 61-70 also no title words and no year; no tags name them;
    users 41-45 rated only such movies. Regression: `recommend` raised on `element_at` of an
    empty genres array under ANSI mode."""
    rnd = random.Random(11)
    genres = ["Action", "Comedy", "Drama", "Horror", "Romance"]
    movies = []
    for m in range(1, 81):
        if m <= 60:
            title = f"Movie {m} Story ({1970 + m % 40})"
            movies.append((m, title, "|".join(rnd.sample(genres, 1 + m % 2))))
        elif m <= 70:
            movies.append((m, "...", "(no genres listed)"))
        else:
            movies.append((m, f"Untitled Reel {m}", ""))
    ratings = []
    for u in range(1, 46):
        pool = range(61, 81) if u > 40 else range(1, 81)
        count = 3 + u % 4 if u > 40 else 8 + u % 10
        for m in rnd.sample(list(pool), count):
            ratings.append((u, m, rnd.choice([1.0, 2.5, 3.0, 4.0, 4.5, 5.0]), 1_600_000_000 + u))
    tags = [(u, m, rnd.choice(["funny", "dark", "slow"]), 1_600_000_000)
            for u in range(1, 20) for m in rnd.sample(range(1, 61), 2)]  # fmt: skip
    files = {
        "ratings": write_csv(tmp_path / "r.csv", ["uid", "mid", "stars", "ts"], ratings),
        "movies": write_csv(tmp_path / "m.csv", ["movieId", "title", "genres"], movies),
        "tags": write_csv(tmp_path / "t.csv", ["userId", "movieId", "tag", "timestamp"], tags),
    }
    root = tmp_path / "lake"
    code = run_pipeline(
        root,
        "--ratings", files["ratings"], "--map", "user=uid,item=mid,rating=stars,timestamp=ts",
        "--movies", files["movies"], "--tags", files["tags"],
    )  # fmt: skip
    assert code == 0
    assert_every_user_served(spark, root)
    from recsys.lakehouse import Lake

    lake = Lake(spark, str(root))
    no_genre_users = lake.read(C.T_RECOMMENDATIONS).where(F.col(C.USER_ID) > 40)
    assert no_genre_users.select(C.USER_ID).distinct().count() == 5
    metrics = lake.read(C.T_METRICS).where(F.col(C.METRIC) == "ndcg")
    assert {r[C.MODEL] for r in metrics.collect()} >= {"blend", "als", "content", "random"}


def _remapped_ml_latest_small(zip_path: Path, folder: Path) -> dict[str, str]:
    """ratings/movies/tags of ml-latest-small as plain CSVs with other column names and ids
    (user u -> 10_000 + u, movie m -> 3 m + 1), keeping every other rating of each user (the
    1st, 3rd, ...: half the data, so the whole pipeline on real data stays a CI-sized run)."""

    def rows(name: str) -> list[dict[str, str]]:
        with zipfile.ZipFile(zip_path) as zf:
            text = zf.read(f"ml-latest-small/{name}").decode("utf-8")
        return list(csv.DictReader(io.StringIO(text)))

    def user(u: str) -> int:
        return 10_000 + int(u)

    def movie(m: str) -> int:
        return 3 * int(m) + 1

    seen: dict[str, int] = {}
    kept = []
    for r in rows("ratings.csv"):
        seen[r["userId"]] = seen.get(r["userId"], 0) + 1
        if seen[r["userId"]] % 2:
            kept.append((user(r["userId"]), movie(r["movieId"]), r["rating"], r["timestamp"]))
    return {
        "ratings": write_csv(folder / "train.csv", ["user_id", "movie_id", "rating", "timestamp"],
                             kept),
        "movies": write_csv(folder / "films.csv", ["movie_id", "title", "genres"],
                            [(movie(m["movieId"]), m["title"], m["genres"])
                             for m in rows("movies.csv")]),
        "tags": write_csv(folder / "labels.csv", ["who", "what", "label", "when"],
                          [(user(t["userId"]), movie(t["movieId"]), t["tag"], t["timestamp"])
                           for t in rows("tags.csv")]),
    }  # fmt: skip


@pytest.mark.integration
def test_pipeline_on_ml_latest_small_through_the_generic_path(spark, tmp_path, capsys):
    files = _remapped_ml_latest_small(movielens_zip("ml-latest-small"), tmp_path)
    root = tmp_path / "lake"
    code = run_pipeline(
        root,
        "--ratings", files["ratings"],
        "--map", "user=user_id,item=movie_id,rating=rating,timestamp=timestamp",
        "--movies", files["movies"], "--movies-map", "item=movie_id,title=title,genres=genres",
        "--tags", files["tags"], "--tags-map", "user=who,item=what,tag=label,timestamp=when",
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out[-2000:]
    with capsys.disabled():  # the held-out metrics table, for the record
        print("\n" + out[out.index("metrics on the held-out split") :])
    assert_every_user_served(spark, root)
    from recsys.lakehouse import Lake

    lake = Lake(spark, str(root))
    assert lake.count(C.T_RATINGS) == 50_566  # every other one of each user's 100,836
    assert lake.count(C.T_TAGS) == 3_683
    assert lake.read(C.T_MOVIES).where(F.size(C.GENRES) == 0).count() == 34
    assert lake.count(C.T_REJECTS) == 0
    ndcg = {
        r[C.MODEL]: r[C.VALUE]
        for r in lake.read(C.T_METRICS).where(F.col(C.METRIC) == "ndcg").collect()
    }
    assert ndcg["blend"] > ndcg["most-popular"] > ndcg["random"]
