"""The feedback committer on a stand-in lake: requests queued during a commit share the next
commit, a failed commit fails only its own requests, and the thread survives both."""

from __future__ import annotations

import asyncio
import threading

import pytest
from deltalake import DeltaTable

from recsys import columns as C
from recsys.lakehouse import ArrowLake
from recsys.serving._feedback import FeedbackLog


class GatedLake:
    """Appends that wait for the test to open a gate, recording each commit's rows."""

    root, storage_options = "unused", None

    def __init__(self) -> None:
        self.commits: list[int] = []
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.fail_next = False
        self.compactions = 0

    def append(self, name: str, rows, **metadata) -> int:
        self.entered.set()
        self.gate.wait(timeout=30)
        if self.fail_next:
            self.fail_next = False
            raise OSError("disk full")
        self.commits.append(rows.num_rows)
        return len(self.commits) - 1

    def compact(self, name: str, target_size: int | None = None, checkpoint: bool = False) -> int:
        self.compactions += 1
        return 0


def test_requests_queued_during_a_commit_share_the_next_one():
    lake = GatedLake()
    log = FeedbackLog(lake, "run", batch_ms=0, compact_every=10**9)  # type: ignore[arg-type]

    async def scenario() -> list[int]:
        first = asyncio.ensure_future(log.append(1, [(10, 4.0)]))
        await asyncio.to_thread(lake.entered.wait, 30)  # the first commit is under way
        later = [asyncio.ensure_future(log.append(u, [(20, 3.0), (21, 5.0)])) for u in (2, 3, 4)]
        while log._queue.qsize() < 3:  # let them queue before the gate opens
            await asyncio.sleep(0)
        lake.gate.set()
        return [v for v, _ in await asyncio.gather(first, *later)]

    try:
        assert asyncio.run(scenario()) == [0, 1, 1, 1]
        assert lake.commits == [1, 6]  # one row, then the three queued requests' six rows
    finally:
        log.close()


def test_a_failed_commit_fails_its_requests_and_the_next_one_commits():
    lake = GatedLake()
    lake.gate.set()
    lake.fail_next = True
    log = FeedbackLog(lake, "run", compact_every=1)  # type: ignore[arg-type]
    log.compactor = lake  # type: ignore[assignment]  # count the compactions

    async def scenario() -> int:
        with pytest.raises(OSError, match="disk full"):
            await log.append(1, [(10, 4.0)])
        version, _ = await log.append(1, [(10, 4.0)])
        return version

    try:
        assert asyncio.run(scenario()) == 0 and lake.commits == [1]
    finally:
        log.close()
    assert lake.compactions == 1  # after the commit, not after the failure


def test_compaction_keeps_every_row_and_checkpoints_the_log(tmp_path):
    lake = ArrowLake(str(tmp_path))
    log = FeedbackLog(lake, "run", compact_every=10)

    async def post() -> list[int]:
        return [(await log.append(u, [(u * 10, 4.0)]))[0] for u in range(25)]

    try:
        versions = asyncio.run(post())
    finally:
        log.close()  # waits for the background compaction
    table = DeltaTable(str(tmp_path / "feedback"))
    rows = table.to_pyarrow_table().to_pandas()
    assert sorted(rows[C.USER_ID]) == list(range(25))
    assert versions == sorted(versions) and len(set(versions)) == 25  # one commit each
    assert [h["operation"] for h in table.history()].count("OPTIMIZE") >= 1
    assert list((tmp_path / "feedback" / "_delta_log").glob("*.checkpoint.parquet"))
    assert len(table.file_uris()) < 25
