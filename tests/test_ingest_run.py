"""ingest() end to end on small hand-made inputs: cross-file rules, rejects, idempotent re-run,
upsert of a new batch, and unreadable inputs that change no table."""

from __future__ import annotations

import datetime as dt
import zipfile

import pytest
from chispa import assert_df_equality

from recsys import columns as C
from recsys.errors import InputError
from recsys.ingest import Reason
from recsys.jobs._ingest_batch import copy_to
from recsys.jobs.ingest import ingest
from recsys.lakehouse import Lake
from recsys.schemas import MOVIES, RATINGS, TAGS, USERS

TABLES = (C.T_RATINGS, C.T_MOVIES, C.T_TAGS, C.T_USERS, C.T_REJECTS)


def ts(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None)


def write_latest(folder, ratings: list[str], movies: list[str], tags: list[str]):
    folder.mkdir(parents=True)
    for name, header, rows in (
        ("ratings.csv", "userId,movieId,rating,timestamp", ratings),
        ("movies.csv", "movieId,title,genres", movies),
        ("tags.csv", "userId,movieId,tag,timestamp", tags),
    ):
        (folder / name).write_text("\r\n".join([header, *rows]) + "\r\n", encoding="utf-8")
    return folder


def snapshot(lake: Lake) -> dict[str, list]:
    """Every table's rows, sorted, for content comparisons across runs."""
    return {t: sorted(map(tuple, lake.read(t).collect()), key=repr) for t in TABLES}


@pytest.fixture(scope="module")
def first_batch(spark, tmp_path_factory):
    """One ingest of a batch with one record per cross-file rule; shared by the tests below."""
    base = tmp_path_factory.mktemp("run")
    folder = write_latest(
        base / "batch1" / "ml-mini",
        ratings=[
            "1,1,4.0,100",  # 2: superseded by line 3 (later timestamp)
            "1,1,3.0,200",
            "1,2,2.0,300",  # 4: same timestamp as line 5: the later line wins
            "1,2,2.5,300",
            "1,99,4.0,100",  # 6: no movie 99
            "2,1,6.0,100",  # 7: out of scale
        ],
        movies=[
            "1,Heat (1995),Action|Crime",
            "2,Jumanji (1995),Adventure",
            "2,Jumanji (1995),Adventure|Children",
        ],
        tags=["1,1,fun,100", "1,1,fun,200", "1,99,odd,100"],
    )
    lake = Lake(spark, str(base / "lake"), engine="delta-rs")
    summary = ingest(spark, lake, str(folder), cache_dir=str(base / "cache"))
    return lake, folder, summary, base


def test_first_batch_tables(spark, first_batch):
    lake, _, summary, _ = first_batch
    assert_df_equality(
        lake.read(C.T_RATINGS),
        spark.createDataFrame([(1, 1, 3.0, ts(200)), (1, 2, 2.5, ts(300))], RATINGS),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert_df_equality(
        lake.read(C.T_MOVIES),
        spark.createDataFrame(
            [(1, "Heat (1995)", 1995, ["Action", "Crime"], None),
             (2, "Jumanji (1995)", 1995, ["Adventure", "Children"], None)],
            MOVIES,
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )  # fmt: skip
    assert_df_equality(
        lake.read(C.T_TAGS),
        spark.createDataFrame([(1, 1, "fun", ts(200))], TAGS),
        ignore_nullable=True,
    )
    assert_df_equality(  # no user file: users known by id, from the kept ratings and tags
        lake.read(C.T_USERS),
        spark.createDataFrame([(1, None, None, None, None)], USERS),
        ignore_nullable=True,
    )
    got = sorted(
        tuple(r) for r in lake.read(C.T_REJECTS).select(C.SOURCE, C.LINE_NUMBER, C.REASON).collect()
    )
    assert got == [
        ("ml-mini/movies.csv", 3, Reason.DUPLICATE_MOVIE),
        ("ml-mini/ratings.csv", 2, Reason.DUPLICATE_RATING),
        ("ml-mini/ratings.csv", 4, Reason.DUPLICATE_RATING),
        ("ml-mini/ratings.csv", 6, Reason.UNKNOWN_MOVIE),
        ("ml-mini/ratings.csv", 7, Reason.RATING_OUT_OF_SCALE),
        ("ml-mini/tags.csv", 2, Reason.DUPLICATE_TAG),
        ("ml-mini/tags.csv", 4, Reason.UNKNOWN_MOVIE),
    ]
    records = {
        (r[C.SOURCE], r[C.LINE_NUMBER]): r[C.RECORD] for r in lake.read(C.T_REJECTS).collect()
    }
    assert records[("ml-mini/ratings.csv", 7)] == "2,1,6.0,100"  # the raw line, \r stripped
    assert summary.rejects == {
        Reason.DUPLICATE_MOVIE: 1, Reason.DUPLICATE_RATING: 2, Reason.UNKNOWN_MOVIE: 2,
        Reason.RATING_OUT_OF_SCALE: 1, Reason.DUPLICATE_TAG: 1,
    }  # fmt: skip
    assert summary.rows == {C.T_MOVIES: 2, C.T_USERS: 1, C.T_RATINGS: 2, C.T_TAGS: 1,
                            C.T_REJECTS: 7}  # fmt: skip
    assert "rejects in this batch: 7" in str(summary)


def test_unreadable_inputs_change_no_table(spark, first_batch):
    lake, _, _, base = first_batch
    before = {t: lake.version(t) for t in TABLES}
    empty = base / "empty" / "ml-latest"
    empty.mkdir(parents=True)
    (empty / "ratings.csv").write_bytes(b"")
    (empty / "movies.csv").write_bytes(b"movieId,title,genres\n")
    truncated = base / "ml-cut.zip"
    with zipfile.ZipFile(base / "full.zip", "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(
            "ml-cut/ratings.csv", "userId,movieId,rating,timestamp\n" + "1,1,4.0,1\n" * 5000
        )
    full = (base / "full.zip").read_bytes()
    truncated.write_bytes(full[: len(full) // 2])  # as an interrupted download leaves it
    other = base / "other"
    other.mkdir()
    (other / "notes.txt").write_text("hello")
    cases = [
        (base / "missing.zip", "neither an existing zip/folder nor a known dataset"),
        (empty, r"ml-latest/ratings\.csv: the file is empty"),
        (truncated, r"ml-cut\.zip: unreadable zip archive"),
        (other, "no MovieLens layout recognised"),
    ]
    for source, message in cases:
        with pytest.raises(InputError, match=message):
            ingest(spark, lake, str(source), cache_dir=str(base / "cache"))
    assert {t: lake.version(t) for t in TABLES} == before


def test_rerun_is_idempotent_and_new_batch_upserts(spark, first_batch):
    lake, folder, _, base = first_batch
    before = snapshot(lake)
    ingest(spark, lake, str(folder), cache_dir=str(base / "cache"))
    assert snapshot(lake) == before  # ingested_at included: rejects keep their first sighting

    batch2 = write_latest(
        base / "batch2" / "ml-mini",
        ratings=["1,1,5.0,300", "1,2,1.0,100", "3,2,4.0,100"],  # newer, older, new user
        movies=["2,Jumanji (1995),Adventure|Children|Fantasy"],  # movie 1 stays in the lake
        tags=[],
    )
    summary = ingest(spark, lake, str(batch2), cache_dir=str(base / "cache"))
    assert summary.rejects == {}
    assert_df_equality(
        lake.read(C.T_RATINGS),
        spark.createDataFrame(
            [(1, 1, 5.0, ts(300)), (1, 2, 2.5, ts(300)), (3, 2, 4.0, ts(100))], RATINGS
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    genres = {r[C.MOVIE_ID]: r[C.GENRES] for r in lake.read(C.T_MOVIES).collect()}
    assert genres == {1: ["Action", "Crime"], 2: ["Adventure", "Children", "Fantasy"]}


def test_copy_to_hadoop_uri(spark, tmp_path):
    """The copy used to stage files under a remote lake's _raw folder (here file://)."""
    src = tmp_path / "u.data"
    src.write_bytes(b"1\t1\t5\t1\n")
    copy_to(spark, [src], f"file://{tmp_path}/remote/_raw/ml-100k")
    assert (tmp_path / "remote/_raw/ml-100k/u.data").read_bytes() == b"1\t1\t5\t1\n"


def test_synthetic_passes_validation(spark, lake):
    """Generated rows go through the same rules; none is rejected, so none is lost."""
    from recsys.ingest.synthetic import SYNTHETIC_SIZES

    spec = SYNTHETIC_SIZES["tiny"]
    summary = ingest(spark, lake, spec)
    assert summary.rejects == {}
    assert summary.rows[C.T_RATINGS] >= spec.users * 5
    assert summary.rows[C.T_MOVIES] == spec.movies
    assert summary.rows[C.T_USERS] == spec.users
