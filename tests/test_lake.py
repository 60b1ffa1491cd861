"""The lake layer on its delta-rs engine: round trips, time travel, history, crash safety.

Every check that matters for "a real Delta table" reads back with ``deltalake`` directly,
independently of Spark.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from chispa import assert_df_equality
from deltalake import DeltaTable

from recsys import columns as C
from recsys import schemas
from recsys.lakehouse import Lake, LakeError, table_uri

KEYS = [C.USER_ID, C.MOVIE_ID]


def ratings(spark, rows):
    return spark.createDataFrame(
        [(u, m, r, dt.datetime(2020, 1, d)) for u, m, r, d in rows], schemas.RATINGS
    )


def delta_rows(lake: Lake, name: str, version: int | None = None) -> list[tuple]:
    """Rows as delta-rs sees them, sorted."""
    table = DeltaTable(lake.uri(name), version=version).to_pyarrow_table()
    cols = [table.column(c).to_pylist() for c in (C.USER_ID, C.MOVIE_ID, C.RATING)]
    return sorted(zip(*cols, strict=True))


def test_overwrite_then_read_round_trips(spark, lake):
    df = ratings(spark, [(1, 10, 4.0, 1), (2, 10, 3.5, 2)])
    assert lake.overwrite("ratings", df) == 0
    assert_df_equality(lake.read("ratings"), df, ignore_row_order=True, ignore_nullable=True)
    assert delta_rows(lake, "ratings") == [(1, 10, 4.0), (2, 10, 3.5)]


def test_overwrite_replaces_content_and_keeps_old_version(spark, lake):
    lake.overwrite("ratings", ratings(spark, [(1, 10, 4.0, 1)]))
    assert lake.overwrite("ratings", ratings(spark, [(3, 30, 1.0, 1)])) == 1
    assert delta_rows(lake, "ratings") == [(3, 30, 1.0)]
    assert delta_rows(lake, "ratings", version=0) == [(1, 10, 4.0)]
    assert sorted(lake.read("ratings", version=0).collect()) == sorted(
        ratings(spark, [(1, 10, 4.0, 1)]).collect()
    )


def test_append_adds_rows_and_rejects_other_schema(spark, lake):
    lake.overwrite("ratings", ratings(spark, [(1, 10, 4.0, 1)]))
    assert lake.append("ratings", ratings(spark, [(2, 20, 2.0, 1)])) == 1
    assert delta_rows(lake, "ratings") == [(1, 10, 4.0), (2, 20, 2.0)]
    other = spark.createDataFrame([(1, "x")], "user_id int, name string")
    with pytest.raises(LakeError, match="schema"):
        lake.append("ratings", other)


def test_upsert_inserts_new_keys_and_replaces_existing(spark, lake):
    lake.overwrite("ratings", ratings(spark, [(1, 10, 4.0, 1), (1, 11, 3.0, 1), (2, 10, 5.0, 1)]))
    lake.upsert("ratings", ratings(spark, [(1, 10, 1.0, 2), (3, 30, 2.5, 2)]), KEYS)
    assert delta_rows(lake, "ratings") == [(1, 10, 1.0), (1, 11, 3.0), (2, 10, 5.0), (3, 30, 2.5)]


def test_upsert_with_newer_col_keeps_the_latest(spark, lake):
    lake.overwrite("ratings", ratings(spark, [(1, 10, 4.0, 5)]))
    lake.upsert("ratings", ratings(spark, [(1, 10, 1.0, 2)]), KEYS, newer_col=C.RATED_AT)
    assert delta_rows(lake, "ratings") == [(1, 10, 4.0)]  # the stored row is newer
    lake.upsert("ratings", ratings(spark, [(1, 10, 2.0, 9)]), KEYS, newer_col=C.RATED_AT)
    assert delta_rows(lake, "ratings") == [(1, 10, 2.0)]


def test_upsert_is_idempotent(spark, lake):
    batch = ratings(spark, [(1, 10, 4.0, 1), (2, 20, 3.0, 1)])
    lake.upsert("ratings", batch, KEYS, newer_col=C.RATED_AT)
    first = delta_rows(lake, "ratings")
    lake.upsert("ratings", batch, KEYS, newer_col=C.RATED_AT)
    assert delta_rows(lake, "ratings") == first


def test_upsert_rewrites_only_touched_files(spark, lake):
    lake.overwrite("ratings", ratings(spark, [(1, 10, 4.0, 1)]).coalesce(1))
    lake.append("ratings", ratings(spark, [(2, 20, 3.0, 1)]).coalesce(1))
    before = set(DeltaTable(lake.uri("ratings")).file_uris())
    lake.upsert("ratings", ratings(spark, [(2, 20, 1.0, 2)]), KEYS)
    after = set(DeltaTable(lake.uri("ratings")).file_uris())
    assert len(before & after) == 1, "the file holding only user 1 must be kept as is"
    assert delta_rows(lake, "ratings") == [(1, 10, 4.0), (2, 20, 1.0)]


def test_history_lists_every_commit_newest_first(spark, lake):
    lake.overwrite("ratings", ratings(spark, [(1, 10, 4.0, 1)]), job="test")
    lake.append("ratings", ratings(spark, [(2, 20, 3.0, 1)]))
    lake.upsert("ratings", ratings(spark, [(2, 20, 1.0, 2)]), KEYS)
    history = lake.history("ratings")
    assert [h["version"] for h in history] == [2, 1, 0]
    assert history[-1]["job"] == "test"
    assert lake.version("ratings") == 2
    assert [h["version"] for h in DeltaTable(lake.uri("ratings")).history()] == [2, 1, 0]


def test_interrupted_write_leaves_previous_version_readable_and_vacuum_cleans_it(
    spark, lake, monkeypatch
):
    lake.overwrite("ratings", ratings(spark, [(1, 10, 4.0, 1)]))

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed between writing the files and committing them")

    monkeypatch.setattr(lake.engine, "_commit", killed)
    with pytest.raises(KeyboardInterrupt):
        lake.overwrite("ratings", ratings(spark, [(9, 99, 1.0, 1)]))
    monkeypatch.undo()

    assert lake.version("ratings") == 0
    assert delta_rows(lake, "ratings") == [(1, 10, 4.0)]
    assert lake.read("ratings").count() == 1
    uri = lake.uri("ratings")
    data_dirs = [d for d in os.listdir(uri) if d.startswith("data-")]
    assert len(data_dirs) == 2, "the killed write left its (uncommitted) folder behind"

    removed = lake.vacuum("ratings", retention_hours=0)
    assert removed and all("part-" in r for r in removed)
    assert delta_rows(lake, "ratings") == [(1, 10, 4.0)]


def test_vacuum_removes_files_of_replaced_versions(spark, lake):
    lake.overwrite("ratings", ratings(spark, [(1, 10, 4.0, 1)]))
    lake.overwrite("ratings", ratings(spark, [(2, 20, 3.0, 1)]))
    assert lake.vacuum("ratings", retention_hours=168) == []  # still within retention
    assert lake.vacuum("ratings", retention_hours=0)
    assert delta_rows(lake, "ratings") == [(2, 20, 3.0)]


def test_empty_dataframe_makes_an_empty_table_with_schema(spark, lake):
    lake.overwrite("ratings", spark.createDataFrame([], schemas.RATINGS))
    assert lake.read("ratings").count() == 0
    assert [f.name for f in lake.schema("ratings").fields] == schemas.RATINGS.fieldNames()
    assert DeltaTable(lake.uri("ratings")).to_pyarrow_table().num_rows == 0


def test_reading_a_missing_table_or_version_says_what_to_do(spark, lake):
    with pytest.raises(LakeError, match=r"does not exist.*recsys ingest"):
        lake.read("ratings")
    lake.overwrite("ratings", ratings(spark, [(1, 10, 4.0, 1)]))
    with pytest.raises(LakeError, match="no version 7"):
        lake.read("ratings", version=7).collect()


def test_table_names_and_uris():
    assert table_uri("s3a://bucket/lake/", "ratings") == "s3a://bucket/lake/ratings"
    assert table_uri("/tmp/x", "ratings") == "/tmp/x/ratings"
    for bad in ("", "a/b", "_delta_log", ".hidden"):
        with pytest.raises(LakeError):
            table_uri("/tmp/x", bad)


def test_tables_lists_delta_tables(spark, lake):
    lake.overwrite("ratings", ratings(spark, [(1, 10, 4.0, 1)]))
    lake.overwrite("movies", spark.createDataFrame([], schemas.MOVIES))
    assert lake.tables() == ["movies", "ratings"]


def test_auto_engine_is_delta_rs_without_delta_jars(spark, tmp_path):
    assert Lake(spark, str(tmp_path)).engine.name == "delta-rs"


def test_count_comes_from_the_log_for_any_version(spark, lake):
    lake.overwrite("ratings", ratings(spark, [(1, 10, 4.0, 1), (2, 10, 3.0, 1)]))
    lake.upsert("ratings", ratings(spark, [(1, 10, 1.0, 2), (3, 30, 2.5, 2)]), KEYS)
    assert lake.count("ratings") == 3
    assert lake.count("ratings", version=0) == 2
