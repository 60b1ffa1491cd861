"""The lake layer on both engines (the ``lake`` fixture is parametrised): round trips, time
travel, history, statistics, vacuum, concurrent writers; then what is particular to delta-rs.

Every check that matters for "a real Delta table" reads back with ``deltalake`` directly,
independently of Spark, so each engine's tables are read by the other engine's library.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading

import pytest
from chispa import assert_df_equality
from deltalake import DeltaTable

from recsys import columns as C
from recsys import schemas
from recsys.lakehouse import Lake, LakeError, table_uri
from recsys.lakehouse._delta_rs import DeltaRsEngine

KEYS = [C.USER_ID, C.MOVIE_ID]
ENGINES = ("delta-rs", "delta-spark")


@pytest.fixture(params=ENGINES)
def lake(request, spark, tmp_path):
    """An empty lake of its own on each engine (the session has Delta's jars)."""
    return Lake(spark, str(tmp_path / "lake"), engine=request.param)


@pytest.fixture
def rs_lake(spark, tmp_path):
    """The delta-rs engine, for tests of its own commit path."""
    return Lake(spark, str(tmp_path / "lake"), engine="delta-rs")


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


def test_history_lists_every_commit_newest_first_with_the_same_metadata(spark, lake):
    run = {"run_id": "ingest-1", "job": "ingest"}
    lake.overwrite("ratings", ratings(spark, [(1, 10, 4.0, 1)]), **run)
    lake.append("ratings", ratings(spark, [(2, 20, 3.0, 1)]), run_id="x", job="y")
    batch = ratings(spark, [(2, 20, 1.0, 2), (3, 30, 2.0, 2), (4, 40, 2.0, 2)])
    assert lake.upsert("ratings", batch, KEYS, **run) == 2
    history = lake.history("ratings")
    assert [h["version"] for h in history] == [2, 1, 0]
    assert lake.version("ratings") == 2
    # what any Delta reader sees, whichever engine wrote: userMetadata is one JSON object
    logged = DeltaTable(lake.uri("ratings")).history()
    assert [h["version"] for h in logged] == [2, 1, 0]
    assert [json.loads(h["userMetadata"]) for h in logged] == [
        run,
        {"run_id": "x", "job": "y"},
        run,
    ]
    merge = logged[0]
    if lake.engine.name == "delta-spark":
        assert merge["operation"] == "MERGE"
        metrics = merge["operationMetrics"]
    else:  # delta-rs names the operation itself; the merge says what it was in its parameters
        assert merge["operation"] == "WRITE"
        assert merge["operationParameters"]["recsysOperation"] == "MERGE"
        metrics = merge["operationParameters"]
    assert int(metrics["numTargetRowsUpdated"]) == 1
    assert int(metrics["numTargetRowsInserted"]) == 2


def test_interrupted_write_leaves_previous_version_readable_and_vacuum_cleans_it(
    spark, rs_lake, monkeypatch
):
    lake = rs_lake
    lake.overwrite("ratings", ratings(spark, [(1, 10, 4.0, 1)]))

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed between writing the files and committing them")

    monkeypatch.setattr(lake.engine, "_commit", killed)
    monkeypatch.setattr(lake.engine, "_discard", lambda *a: None)  # a killed job cleans nothing
    with pytest.raises(KeyboardInterrupt):
        lake.overwrite("ratings", ratings(spark, [(9, 99, 1.0, 1)]))
    monkeypatch.undo()

    assert lake.version("ratings") == 0
    assert delta_rows(lake, "ratings") == [(1, 10, 4.0)]
    assert lake.read("ratings").count() == 1
    uri = lake.uri("ratings")
    data_dirs = [d for d in os.listdir(uri) if d.startswith("data-")]
    assert len(data_dirs) == 2, "the killed write left its (uncommitted) folder behind"

    removed = lake.vacuum("ratings", retention_hours=0, force=True)
    assert removed and all("part-" in r for r in removed)
    assert delta_rows(lake, "ratings") == [(1, 10, 4.0)]


def test_vacuum_removes_files_of_replaced_versions(spark, lake):
    lake.overwrite("ratings", ratings(spark, [(1, 10, 4.0, 1)]))
    lake.overwrite("ratings", ratings(spark, [(2, 20, 3.0, 1)]))
    assert lake.vacuum("ratings", retention_hours=168) == []  # still within retention
    with pytest.raises(LakeError, match=r"below the 168 h safety limit.*--force"):
        lake.vacuum("ratings", retention_hours=1)
    assert lake.vacuum("ratings", retention_hours=0, force=True)
    assert delta_rows(lake, "ratings") == [(2, 20, 3.0)]
    assert lake.read("ratings").count() == 1


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


def test_auto_engine_is_delta_spark_when_its_classes_are_loaded(spark, tmp_path, monkeypatch):
    assert Lake(spark, str(tmp_path)).engine.name == "delta-spark"
    monkeypatch.setattr("recsys.lakehouse._lake.delta_spark_available", lambda spark: False)
    assert Lake(spark, str(tmp_path)).engine.name == "delta-rs"


def test_count_comes_from_the_log_for_any_version(spark, lake):
    lake.overwrite("ratings", ratings(spark, [(1, 10, 4.0, 1), (2, 10, 3.0, 1)]))
    lake.upsert("ratings", ratings(spark, [(1, 10, 1.0, 2), (3, 30, 2.5, 2)]), KEYS)
    assert lake.count("ratings") == 3
    assert lake.count("ratings", version=0) == 2


def data_folders(lake: Lake, name: str) -> tuple[set[str], set[str]]:
    """(folders on disk, folders the latest version references) of a table."""
    uri = lake.uri(name)
    on_disk = {d for d in os.listdir(uri) if d.startswith("data-")}
    live = {p.split("/")[0] for p in DeltaTable(uri).get_add_actions().column("path").to_pylist()}
    return on_disk, live


def both_plan_before_either_commits(monkeypatch) -> None:
    """Make the first two writes of data files wait for each other, so that two concurrent
    writers have both read (and planned from) the same version before either commits."""
    barrier = threading.Barrier(2, timeout=300)
    calls = []
    original = DeltaRsEngine._write_files

    def write_files(self, uri, df):
        out = original(self, uri, df)
        calls.append(uri)
        if len(calls) <= 2:
            barrier.wait()
        return out

    monkeypatch.setattr(DeltaRsEngine, "_write_files", write_files)


def run_concurrently(*writes) -> None:
    errors: list[BaseException] = []

    def run(write):
        try:
            write()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in writes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_concurrent_upserts_of_overlapping_batches_keep_every_key_once(spark, rs_lake, monkeypatch):
    """Regression: two ingests at once duplicated every key. Each writer has its own session;
    both plan from version 0, and the one that commits second must plan again."""
    lake = rs_lake
    lake.overwrite("ratings", ratings(spark, [(u, 10, 3.0, 1) for u in (1, 2, 3, 4)]))
    a = [(1, 10, 5.0, 2), (2, 10, 5.0, 2), (3, 10, 5.0, 2), (5, 10, 5.0, 2), (7, 10, 5.0, 2)]
    b = [(2, 10, 1.0, 3), (3, 10, 1.0, 3), (4, 10, 1.0, 3), (5, 10, 1.0, 3), (6, 10, 1.0, 3)]
    both_plan_before_either_commits(monkeypatch)
    lakes = [Lake(spark.newSession(), lake.root, engine="delta-rs") for _ in range(2)]
    run_concurrently(
        *(
            lambda lk=lk, rows=rows: lk.upsert(
                "ratings", ratings(lk.spark, rows), KEYS, newer_col=C.RATED_AT
            )
            for lk, rows in zip(lakes, (a, b), strict=True)
        )
    )
    # b is newer wherever the batches overlap, whichever committed first
    assert delta_rows(lake, "ratings") == [
        (1, 10, 5.0), (2, 10, 1.0), (3, 10, 1.0), (4, 10, 1.0),
        (5, 10, 1.0), (6, 10, 1.0), (7, 10, 5.0),
    ]  # fmt: skip
    assert lake.version("ratings") == 2
    on_disk, live = data_folders(lake, "ratings")
    assert on_disk - live <= {
        p.split("/")[0]
        for v in (0, 1)
        for p in DeltaTable(lake.uri("ratings"), version=v)
        .get_add_actions()
        .column("path")
        .to_pylist()
    }, "the losing attempt's files must be deleted"


def test_concurrent_first_writes_to_a_new_table_merge(spark, rs_lake, monkeypatch):
    """Two upserts into a table that does not exist yet: one creates it, the other merges."""
    lake = rs_lake
    both_plan_before_either_commits(monkeypatch)
    lakes = [Lake(spark.newSession(), lake.root, engine="delta-rs") for _ in range(2)]
    batches = ([(1, 10, 4.0, 1), (2, 10, 4.0, 1)], [(2, 10, 2.0, 2), (3, 10, 2.0, 2)])
    run_concurrently(
        *(
            lambda lk=lk, rows=rows: lk.upsert(
                "ratings", ratings(lk.spark, rows), KEYS, newer_col=C.RATED_AT
            )
            for lk, rows in zip(lakes, batches, strict=True)
        )
    )
    assert delta_rows(lake, "ratings") == [(1, 10, 4.0), (2, 10, 2.0), (3, 10, 2.0)]
    assert lake.version("ratings") == 1


def test_a_writer_that_keeps_losing_fails_clearly_and_leaves_nothing(spark, tmp_path, monkeypatch):
    lake = Lake(spark, str(tmp_path / "lake"), engine="delta-rs", commit_attempts=3)
    lake.overwrite("ratings", ratings(spark, [(1, 10, 4.0, 1)]))
    other = ratings(spark, [(8, 80, 1.0, 1)])
    original = DeltaRsEngine._write_files
    interlopers, busy = [], []

    def write_files(self, uri, df):
        out = original(self, uri, df)
        if not busy and len(interlopers) < 3:  # another commit between each plan and its commit
            interlopers.append(1)
            busy.append(1)
            self.append(uri, other, {})
            busy.pop()
        return out

    monkeypatch.setattr(DeltaRsEngine, "_write_files", write_files)
    with pytest.raises(LakeError, match=r"another writer committed first 3 times.*run the job"):
        lake.upsert("ratings", ratings(spark, [(1, 10, 2.0, 2)]), KEYS, newer_col=C.RATED_AT)
    monkeypatch.undo()
    assert lake.version("ratings") == 3  # the three interlopers' appends, nothing of ours
    assert delta_rows(lake, "ratings") == [(1, 10, 4.0)] + [(8, 80, 1.0)] * 3
    on_disk, live = data_folders(lake, "ratings")
    assert on_disk == live, "every attempt's files were deleted"


def test_overwrite_commits_after_the_latest_version(spark, rs_lake, monkeypatch):
    """An overwrite whose commit loses a race replaces the newer version, not the one it saw."""
    lake = rs_lake
    lake.overwrite("ratings", ratings(spark, [(1, 10, 4.0, 1)]))
    original = DeltaRsEngine._write_files
    done = []

    def write_files(self, uri, df):
        out = original(self, uri, df)
        if not done:
            done.append(1)
            self.append(uri, ratings(spark, [(8, 80, 1.0, 1)]), {})
        return out

    monkeypatch.setattr(DeltaRsEngine, "_write_files", write_files)
    assert lake.overwrite("ratings", ratings(spark, [(3, 30, 2.0, 1)])) == 2
    assert delta_rows(lake, "ratings") == [(3, 30, 2.0)]


def test_object_store_file_listing_matches_the_local_footer_listing(spark, tmp_path):
    """Local writes read row counts from Parquet footers; object stores list through Spark's
    file metadata. Both must describe the same files the same way."""
    from recsys.lakehouse._delta_rs import _data_files

    folder = str(tmp_path / "files")
    df = ratings(spark, [(u, m, 3.0, 1) for u in range(1, 30) for m in range(1, 8)]).repartition(3)
    df.write.parquet(folder)
    engine = DeltaRsEngine(spark)
    local = _data_files(folder)
    assert len(local) == 3 and sum(r[3] for r in local) == 29 * 7
    remote = sorted(engine._listing(df.schema, folder))
    assert [r[:4] for r in remote] == [r[:4] for r in local]
    assert [json.loads(r[4]) for r in remote] == [json.loads(r[4]) for r in local]
    empty = str(tmp_path / "empty")
    df.limit(0).write.parquet(empty)  # Spark still writes a file, with a schema and no rows
    assert _data_files(empty) == engine._listing(df.schema, empty) == []


def test_every_file_carries_min_max_and_null_counts_alike_on_both_engines(spark, tmp_path):
    """Per-file statistics let readers skip files; delta-rs commits them from the footers."""
    frame = spark.createDataFrame(
        [
            (1, 4.0, dt.datetime(2020, 1, 1), "a"),
            (5, None, dt.datetime(2020, 1, 9), None),
            (3, 2.5, dt.datetime(2020, 1, 4, 0, 0, 0, 1500), "b" * 40),
        ],
        "user_id int, rating double, rated_at timestamp, title string",
    ).coalesce(1)
    stats = {}
    for engine in ENGINES:
        lk = Lake(spark, str(tmp_path / engine), engine=engine)
        lk.overwrite("ratings", frame)
        log = os.path.join(lk.uri("ratings"), "_delta_log", f"{0:020d}.json")
        with open(log) as f:
            (add,) = [a["add"] for a in map(json.loads, f) if "add" in a]
        stats[engine] = json.loads(add["stats"])
    rs, spark_stats = stats["delta-rs"], stats["delta-spark"]
    assert rs["numRecords"] == spark_stats["numRecords"] == 3
    assert rs["nullCount"] == spark_stats["nullCount"]
    for bound in ("minValues", "maxValues"):
        assert {k: v for k, v in rs[bound].items() if k != "title"} == {
            k: v for k, v in spark_stats[bound].items() if k != "title"
        }
    assert rs["minValues"]["title"] == "a"
    assert "title" not in rs["maxValues"]  # a 40-character bound: delta-rs leaves it out
    assert rs["minValues"][C.USER_ID] == 1
    assert rs["maxValues"][C.RATED_AT] == "2020-01-09T00:00:00.000Z"
    assert rs["nullCount"][C.RATING] == 1
    # a reader that prunes by statistics skips the file for a key outside its bounds, and
    # keeps it (with its row) for one inside
    import pyarrow.dataset as ds

    dataset = DeltaTable(str(tmp_path / "delta-rs" / "ratings")).to_pyarrow_dataset()
    assert list(dataset.get_fragments(filter=ds.field(C.USER_ID) > 5)) == []
    assert dataset.to_table(filter=ds.field(C.USER_ID) >= 5).num_rows == 1


def test_each_engine_reads_what_the_other_wrote(spark, tmp_path):
    import polars as pl

    rows = [(1, 10, 4.0, 1), (2, 20, 3.0, 2)]
    for writer, reader in (ENGINES, ENGINES[::-1]):
        root = str(tmp_path / writer)
        Lake(spark, root, engine=writer).upsert("ratings", ratings(spark, rows), KEYS)
        Lake(spark, root, engine=writer).upsert("ratings", ratings(spark, rows[:1]), KEYS)
        other = Lake(spark, root, engine=reader)
        assert sorted(other.read("ratings").collect()) == sorted(ratings(spark, rows).collect())
        assert other.count("ratings") == 2 and other.version("ratings") == 1
        frame = pl.read_delta(other.uri("ratings")).sort(C.USER_ID)
        assert frame[C.MOVIE_ID].to_list() == [10, 20]
        # and the other engine writes on, also where delta-spark recorded an array column as
        # nullable although the rows' schema said otherwise
        other.upsert("ratings", ratings(spark, [(3, 30, 1.0, 3)]), KEYS)
        assert delta_rows(other, "ratings") == [(1, 10, 4.0), (2, 20, 3.0), (3, 30, 1.0)]
        movies = [(1, "Heat (1995)", 1995, ["Crime"], None), (2, "Up (2009)", 2009, [], None)]
        Lake(spark, root, engine=writer).upsert(
            "movies", spark.createDataFrame(movies[:1], schemas.MOVIES), [C.MOVIE_ID]
        )
        other.upsert("movies", spark.createDataFrame(movies, schemas.MOVIES), [C.MOVIE_ID])
        assert sorted(r[C.TITLE] for r in other.read("movies").collect()) == [
            "Heat (1995)",
            "Up (2009)",
        ]


def test_delta_rs_refuses_tables_whose_reader_features_it_cannot_apply(spark, tmp_path):
    """A table with deletion vectors read file by file would bring deleted rows back."""
    root = str(tmp_path / "lake")
    lk = Lake(spark, root, engine="delta-spark")
    lk.overwrite("ratings", ratings(spark, [(1, 10, 4.0, 1)]))
    spark.sql(
        f"ALTER TABLE delta.`{lk.uri('ratings')}` "
        "SET TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')"
    )
    rs = Lake(spark, root, engine="delta-rs")
    for action in (
        lambda: rs.read("ratings"),
        lambda: rs.upsert("ratings", ratings(spark, [(2, 20, 1.0, 1)]), KEYS),
    ):
        with pytest.raises(LakeError, match=r"deletionVectors.*delta-spark engine"):
            action()
    assert lk.read("ratings").count() == 1


def test_delta_rs_refuses_to_write_a_table_with_constraints_it_would_not_check(spark, tmp_path):
    root = str(tmp_path / "lake")
    lk = Lake(spark, root, engine="delta-spark")
    lk.overwrite("ratings", ratings(spark, [(1, 10, 4.0, 1)]))
    spark.sql(f"ALTER TABLE delta.`{lk.uri('ratings')}` ADD CONSTRAINT r CHECK (rating > 0)")
    rs = Lake(spark, root, engine="delta-rs")
    assert rs.count("ratings") == 1  # reading is fine
    with pytest.raises(LakeError, match=r"delta.constraints.r.*delta-spark engine"):
        rs.append("ratings", ratings(spark, [(2, 20, -1.0, 1)]))
    assert rs.count("ratings") == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_concurrent_writers_lose_and_duplicate_nothing(spark, tmp_path, engine):
    """Two upserts of overlapping keys, an upsert racing an overwrite, and two jobs appending
    to one table, each pair at once from two sessions: every row accounted for, no key twice."""
    root = str(tmp_path / "lake")
    lk = Lake(spark, root, engine=engine)
    lk.overwrite("ratings", ratings(spark, [(u, 10, 3.0, 1) for u in range(1, 5)]))
    lakes = [Lake(spark.newSession(), root, engine=engine) for _ in range(2)]
    a = [(u, 10, 5.0, 2) for u in (1, 2, 3, 5, 7)]
    b = [(u, 10, 1.0, 3) for u in (2, 3, 4, 5, 6)]
    run_concurrently(
        *(
            lambda lk=lk, rows=rows, run=run: lk.upsert(
                "ratings", ratings(lk.spark, rows), KEYS, newer_col=C.RATED_AT, run_id=run
            )
            for lk, rows, run in zip(lakes, (a, b), ("a", "b"), strict=True)
        )
    )
    assert delta_rows(lk, "ratings") == [
        (1, 10, 5.0), (2, 10, 1.0), (3, 10, 1.0), (4, 10, 1.0),
        (5, 10, 1.0), (6, 10, 1.0), (7, 10, 5.0),
    ]  # fmt: skip

    # an upsert racing an overwrite: the result is one of the two serial orders
    new = [(9, 90, 2.0, 5)]
    run_concurrently(
        lambda: lakes[0].overwrite("ratings", ratings(lakes[0].spark, new), run_id="a"),
        lambda: lakes[1].upsert(
            "ratings", ratings(lakes[1].spark, [(1, 10, 0.5, 9)]), KEYS, run_id="b"
        ),
    )
    assert delta_rows(lk, "ratings") in (
        [(1, 10, 0.5), (9, 90, 2.0)],  # overwrite, then upsert
        [(9, 90, 2.0)],  # upsert, then overwrite
    )

    # two jobs appending their run rows to one table
    run_concurrently(
        *(
            lambda lk=lk, u=u: lk.append(
                "runs_like", ratings(lk.spark, [(u, 1, 1.0, 1)]), run_id=f"job-{u}"
            )
            for lk, u in zip(lakes * 2, (1, 2, 3, 4), strict=True)
        )
    )
    assert [r[0] for r in delta_rows(lk, "runs_like")] == [1, 2, 3, 4]


def test_an_upsert_that_changes_nothing_returns_a_version_holding_the_rows(spark, lake):
    """delta-spark commits nothing for a merge of an empty batch (the crash test's rerun hit
    it: ingest_rejects had nothing new); the version returned is then the one it read."""
    lake.overwrite("ratings", ratings(spark, [(1, 10, 4.0, 1)]), run_id="first")
    empty = spark.createDataFrame([], schemas.RATINGS)
    version = lake.upsert("ratings", empty, KEYS, run_id="second")
    assert version == lake.version("ratings")
    assert lake.read("ratings", version=version).count() == 1
