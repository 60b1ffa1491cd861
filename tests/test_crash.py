"""A job killed with SIGKILL while it writes (data files half written, files written but not
committed, just committed) leaves every table at a correct, readable version; the next run
succeeds; ``recsys vacuum`` then deletes exactly the orphaned files. On both engines.

The kill comes from the job itself (``RECSYS_KILL_AT``, recsys/lakehouse/_faults.py) so the
point is exact; it takes the whole process group down (driver, JVM, Python workers) with no
cleanup, as a lost machine would.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import pytest
from deltalake import DeltaTable

from recsys.cli import main
from recsys.lakehouse import Lake
from recsys.lakehouse._faults import KILL_AT_ENV
from recsys.runs import T_RUNS
from tests._paths import REPO, TEST_PROFILE

pytestmark = pytest.mark.fault

JOBS = {
    # job -> (its command, the table it is killed while writing: the first it writes)
    "ingest": (["ingest", "--size", "tiny", "--seed", "7"], "movies"),
    "recommend": (["recommend"], "item_neighbors"),
}
CASES = [
    # every point, each job at two of them and on both engines (delta-spark writes and commits
    # in one call, so "written" exists on delta-rs only). Four cases keep CI under 30 minutes;
    # the other pairs passed too when last run by hand (the issue 14 note).
    ("ingest", "delta-spark", "writing"),
    ("ingest", "delta-rs", "written"),
    ("recommend", "delta-rs", "writing"),
    ("recommend", "delta-rs", "committed"),
]


def files_on_disk(uri: str) -> set[str]:
    return {
        os.path.relpath(os.path.join(d, f), uri)
        for d, _, names in os.walk(uri)
        if "_delta_log" not in d
        for f in names
        if f.endswith(".parquet")
    }


def live_files(uri: str) -> set[str]:
    return set(DeltaTable(uri).get_add_actions(flatten=True).column("path").to_pylist())


def rows(lake: Lake, table: str) -> list[tuple]:
    return sorted(tuple(r) for r in lake.read(table).collect())  # test-sized tables


@pytest.mark.parametrize(("job", "engine", "point"), CASES)
def test_a_killed_job_leaves_a_correct_version_and_the_next_run_and_vacuum_succeed(
    spark, pipeline_lake, tmp_path, job, engine, point
):
    root = str(tmp_path / "lake")
    shutil.copytree(pipeline_lake.root, root)
    command, table = JOBS[job]
    options = ["--profile", TEST_PROFILE, "--lake-root", root, "--set", f"lake.engine={engine}"]
    lake = Lake(spark, root, engine=engine)
    uri = lake.uri(table)
    version, before, runs = lake.version(table), rows(lake, table), lake.count(T_RUNS)

    killed = subprocess.run(
        [sys.executable, "-m", "recsys.cli", *command, *options],
        env={**os.environ, KILL_AT_ENV: f"{point}:{table}"},
        cwd=REPO,
        start_new_session=True,  # the job's own process group, which it kills
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]

    if point == "committed":
        assert lake.version(table) == version + 1
        assert DeltaTable(uri).to_pyarrow_table().num_rows == lake.count(table)
    else:
        assert lake.version(table) == version, "nothing of the killed write is visible"
        assert rows(lake, table) == before
        assert DeltaTable(uri).to_pyarrow_table().num_rows == len(before)
    if point != "writing":  # the files are complete: they are on disk, unreferenced
        assert files_on_disk(uri) - live_files(uri)
    assert lake.count(T_RUNS) == runs, "a killed run records nothing"

    assert main([*command, *options]) == 0, "the next run succeeds"
    after = lake.version(table)
    assert after == version + (2 if point == "committed" else 1)
    expected = rows(lake, table)

    assert main(["vacuum", table, "--retention-hours", "0", "--force", *options]) == 0
    assert files_on_disk(uri) == live_files(uri), "vacuum deleted exactly the orphans"
    assert rows(lake, table) == expected
    # vacuum records itself (VACUUM START / END commits), changing no data
    vacuums = [h["operation"] for h in lake.history(table) if h["version"] > after]
    assert vacuums and all(op.startswith("VACUUM") for op in vacuums)


def test_vacuum_refuses_a_short_retention_unless_forced(pipeline_lake, capsys):
    options = ["--profile", TEST_PROFILE, "--lake-root", pipeline_lake.root]
    assert main(["vacuum", "ratings", "--retention-hours", "1", *options]) == 2
    err = capsys.readouterr().err
    assert "below the 168 h safety limit" in err and "--force" in err and err[-1] == "\n"
    assert main(["vacuum", "no_such_table", *options]) == 2
    assert "no table no_such_table" in capsys.readouterr().err
