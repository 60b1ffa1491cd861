"""Integration on the real GroupLens zips in ../shared/data (skipped when absent): exact counts
read back with delta-rs, independently of Spark. ml-100k goes through the `recsys ingest`
command, ml-latest-small through the library function."""

from __future__ import annotations

import deltalake

from recsys import columns as C
from recsys.cli import main
from recsys.jobs.ingest import ingest
from tests._paths import movielens_zip


def table(root, name):
    return deltalake.DeltaTable(f"{root}/{name}").to_pyarrow_table()


def test_cli_ml_100k(tmp_path, capsys):
    zip_path = movielens_zip("ml-100k")
    root = tmp_path / "lake"
    argv = ["ingest", "--source", str(zip_path), "--lake-root", str(root), "--profile", "test",
            "--set", f"data.cache_dir={tmp_path / 'cache'}"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "rejects in this batch: 0" in out
    ratings = table(root, C.T_RATINGS)
    assert ratings.num_rows == 100_000
    assert table(root, C.T_USERS).num_rows == 943
    movies = table(root, C.T_MOVIES)
    assert movies.num_rows == 1_682
    assert table(root, C.T_REJECTS).num_rows == 0
    titles = set(movies.column(C.TITLE).to_pylist())
    assert "Misérables, Les (1995)" in titles  # latin-1 0xE9 decoded
    assert not any("\ufffd" in t for t in titles)
    assert sorted(set(ratings.column(C.RATING).to_pylist())) == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys):
    argv = ["ingest", "--source", str(tmp_path / "nope.zip"), "--lake-root",
            str(tmp_path / "lake"), "--profile", "test"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("recsys ingest: error:") and "nope.zip" in err
    assert "\n" not in err
    assert not (tmp_path / "lake" / C.T_RATINGS).exists()


def test_ml_latest_small(spark, lake, tmp_path):
    zip_path = movielens_zip("ml-latest-small")
    summary = ingest(spark, lake, str(zip_path), cache_dir=str(tmp_path / "cache"))
    assert summary.rejects == {}
    root = lake.root
    assert table(root, C.T_RATINGS).num_rows == 100_836
    assert table(root, C.T_USERS).num_rows == 610
    movies = table(root, C.T_MOVIES)
    assert movies.num_rows == 9_742
    tags = table(root, C.T_TAGS)
    assert tags.num_rows == 3_683
    assert table(root, C.T_REJECTS).num_rows == 0
    assert not any(t.endswith("\r") for t in movies.column(C.TITLE).to_pylist())
    assert not any(t.endswith("\r") for t in tags.column(C.TAG).to_pylist())
    by_id = dict(zip(movies.column(C.MOVIE_ID).to_pylist(), movies.column(C.GENRES).to_pylist(),
                     strict=True))  # fmt: skip
    assert by_id[1] == ["Adventure", "Animation", "Children", "Comedy", "Fantasy"]
    assert sum(1 for g in by_id.values() if g == []) == 34  # "(no genres listed)"
