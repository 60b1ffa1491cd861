"""Posted ratings, durably: appended to the Delta ``feedback`` table before any request is
answered, many requests per commit.

Requests queue their rows with a future; one committer thread takes everything queued (and
what arrives within ``batch_ms``, 0 by default), commits it as one append and then resolves
every future with the version (or the error). A commit takes a few milliseconds, and the
requests that arrive during one go into the next, so under load a commit carries many
requests while an idle request waits for one commit only. Every ``compact_every`` commits the
table's small files are compacted and the log checkpointed in the background: an append costs
more with every file the table holds (7 ms at 100 files, 29 ms at 300 on this machine), and a
checkpoint made by the commit that reaches the table's interval would stall its requests."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from concurrent.futures import Future
from datetime import UTC, datetime

import pyarrow as pa

from recsys import columns as C
from recsys.lakehouse import ArrowLake
from recsys.serving._snapshot import FEEDBACK

FEEDBACK_SCHEMA = pa.schema(
    [
        pa.field(C.USER_ID, pa.int32(), nullable=False),
        pa.field(C.MOVIE_ID, pa.int32(), nullable=False),
        pa.field(C.RATING, pa.float32(), nullable=False),
        pa.field(C.RATED_AT, pa.timestamp("us", tz="UTC"), nullable=True),
    ]
)
"""``ratings``' columns, so ``recsys ingest --feedback`` upserts the rows as they are."""

Rows = list[tuple[int, int, float]]
COMPACT_TARGET_BYTES = 16 << 20
"""Files this large are left as they are: a compaction rewrites only the recent small ones."""


class FeedbackLog:
    def __init__(
        self, lake: ArrowLake, run_id: str, batch_ms: float = 0.0, compact_every: int = 20
    ):
        self.lake = lake
        self.run_id = run_id
        self.batch_s = batch_ms / 1000.0
        self._queue: queue.Queue[tuple[Rows, datetime, Future[int]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="feedback-commits", daemon=True)
        self.compact_every = compact_every
        self.compactor = ArrowLake(lake.root, lake.storage_options)
        self._compacting: threading.Thread | None = None
        self.commits = 0
        self._thread.start()

    async def append(self, user_id: int, rows: list[tuple[int, float]]) -> tuple[int, datetime]:
        """Commit ``rows`` (movie, rating) for ``user_id``; the version that holds them and
        their ``rated_at``. Raises what the commit raised."""
        future: Future[int] = Future()
        now = datetime.now(UTC)
        self._queue.put(([(user_id, m, r) for m, r in rows], now, future))
        return await asyncio.wrap_future(future), now

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)
        if self._compacting is not None:
            self._compacting.join(timeout=30)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            deadline = time.monotonic() + self.batch_s
            stop = False
            while True:  # what queued meanwhile, then what arrives within the window
                left = deadline - time.monotonic()
                try:
                    item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            committed = False
            try:
                committed = self._commit(batch)
            except Exception as exc:  # never let the thread die: fail this batch, go on
                _settle(batch, error=exc)
            if stop:
                return
            if committed and self.commits % self.compact_every == 0:
                self._compact()

    def _compact(self) -> None:
        """Every ``compact_every`` commits, in a thread of its own with its own table handle
        (an append and a compaction never conflict in Delta), so no request waits for it: one
        file per request would make each commit, and each reader's load, slower than the
        last."""
        if self._compacting is not None and self._compacting.is_alive():
            return

        def compact() -> None:
            try:
                self.compactor.compact(FEEDBACK, COMPACT_TARGET_BYTES, checkpoint=True)
            except Exception as exc:  # a failed compaction loses nothing; the next one retries
                print(f"recsys serve: compacting {FEEDBACK} failed ({exc}); will retry")

        self._compacting = threading.Thread(target=compact, name="feedback-compaction")
        self._compacting.start()

    def _commit(self, batch: list[tuple[Rows, datetime, Future[int]]]) -> bool:
        users, movies, ratings, times = [], [], [], []
        for rows, at, _ in batch:
            for u, m, r in rows:
                users.append(u)
                movies.append(m)
                ratings.append(r)
                times.append(at)
        table = pa.table([users, movies, ratings, times], schema=FEEDBACK_SCHEMA)
        try:
            version = self.lake.append(
                FEEDBACK, table, checkpoint=False, job="serve", run_id=self.run_id
            )
        except Exception as exc:
            _settle(batch, error=exc)
            return False
        self.commits += 1
        _settle(batch, version=version)
        return True


def _settle(
    batch: list[tuple[Rows, datetime, Future[int]]],
    version: int | None = None,
    error: Exception | None = None,
) -> None:
    """Resolve every request of ``batch``; one that gave up waiting (cancelled) is skipped."""
    for _, _, future in batch:
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(version)  # type: ignore[arg-type]
