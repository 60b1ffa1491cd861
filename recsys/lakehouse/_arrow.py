"""The lake without Spark: read a table's latest version as Arrow and append small batches, with
``deltalake`` alone. The serving process uses it (it starts in seconds and holds no JVM); its
commits carry the same ``userMetadata`` as the jobs' (:func:`recsys.lakehouse._base.user_metadata`).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, PostCommitHookProperties, write_deltalake
from deltalake.exceptions import TableNotFoundError

from recsys.lakehouse._base import LakeError, user_metadata
from recsys.lakehouse._delta_rs import check_readable
from recsys.lakehouse._lake import table_uri


class ArrowLake:
    """Tables under ``root`` by name, read whole into Arrow (the serving side's tables are
    model-sized, or ratings-sized for the fold-in history)."""

    def __init__(self, root: str, storage_options: dict[str, str] | None = None):
        self.root = root
        self.storage_options = storage_options or None
        self._tables: dict[str, DeltaTable] = {}

    def uri(self, name: str) -> str:
        return table_uri(self.root, name)

    def _table(self, name: str) -> DeltaTable | None:
        table = self._tables.get(name)
        if table is not None:
            return table
        try:
            table = DeltaTable(self.uri(name), storage_options=self.storage_options)
        except TableNotFoundError:
            return None
        self._tables[name] = table
        return table

    def version(self, name: str) -> int | None:
        """The latest committed version (``None`` when the table does not exist): an
        incremental read of the log's new commits, cheap enough to poll."""
        table = self._table(name)
        if table is None:
            return None
        table.update_incremental()
        return int(table.version())

    def read(self, name: str, columns: list[str] | None = None) -> tuple[pa.Table, int] | None:
        """The table's latest version (and its number), or ``None`` when it does not exist."""
        table = self._table(name)
        if table is None:
            return None
        table.update_incremental()
        check_readable(self.uri(name), table)
        return table.to_pyarrow_table(columns=columns), int(table.version())

    def append(self, name: str, rows: pa.Table, checkpoint: bool = True, **metadata: Any) -> int:
        """Append ``rows`` as one commit (the table is created on the first append); the
        version committed. Nothing is visible to readers before it. Later appends go through
        the same ``DeltaTable``, which the write brings up to date, so a commit does not
        reload the log (a fresh load costs more with every commit the log holds).
        ``checkpoint=False``: no checkpoint even at the table's interval (the caller makes
        them with :meth:`compact`, off its latency path)."""
        info = user_metadata(metadata)
        props = CommitProperties(custom_metadata={"userMetadata": info} if info else None)
        hooks = None if checkpoint else PostCommitHookProperties(False, cleanup_expired_logs=False)
        table = self._table(name)
        try:
            write_deltalake(
                table if table is not None else self.uri(name),
                rows,
                mode="append",
                storage_options=None if table is not None else self.storage_options,
                commit_properties=props,
                post_commithook_properties=hooks,
            )
        except Exception as exc:  # deltalake's errors name no table
            raise LakeError(f"{self.uri(name)}: append failed ({exc})") from exc
        table = self._table(name)
        assert table is not None
        return int(table.version())

    def compact(self, name: str, target_size: int | None = None, checkpoint: bool = False) -> int:
        """Rewrite the table's small files into few (an OPTIMIZE commit, no data change): an
        append-per-request log otherwise makes every later commit and load slower. Files of
        ``target_size`` bytes or more are left alone. ``checkpoint``: then write a checkpoint
        and drop expired log files, as a commit's hook would. The number of files removed."""
        table = self._table(name)
        if table is None:
            return 0
        table.update_incremental()  # plan on the latest files, not the last compaction's
        removed = int(table.optimize.compact(target_size=target_size)["numFilesRemoved"])
        if checkpoint:
            table.create_checkpoint()
            settings = table.metadata().configuration
            if settings.get("delta.enableExpiredLogCleanup", "true").lower() != "false":
                table.cleanup_metadata()  # as the hook would: logs past their retention
        return removed
