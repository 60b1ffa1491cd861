"""The contract both lake engines fulfil."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from pyspark.sql import DataFrame
from pyspark.sql.types import StructType

from recsys.errors import RecsysError


def user_metadata(metadata: dict[str, Any]) -> str | None:
    """A commit's ``userMetadata`` on both engines: one JSON object, keys sorted (``run_id``
    and ``job`` from the jobs), so a version leads back to its row in ``runs``."""
    return json.dumps(metadata, sort_keys=True) if metadata else None


class LakeError(RecsysError):
    """A table operation failed; the message names the table and what to do."""


class LakeEngine(Protocol):
    name: str

    def exists(self, uri: str) -> bool: ...

    def version(self, uri: str) -> int | None: ...

    def read(self, uri: str, version: int | None) -> DataFrame: ...

    def count(self, uri: str, version: int | None) -> int: ...

    def schema(self, uri: str) -> StructType: ...

    def overwrite(self, uri: str, df: DataFrame, metadata: dict[str, Any]) -> int: ...

    def append(self, uri: str, df: DataFrame, metadata: dict[str, Any]) -> int: ...

    def upsert(
        self,
        uri: str,
        df: DataFrame,
        keys: Sequence[str],
        newer_col: str | None,
        metadata: dict[str, Any],
    ) -> int: ...

    def history(self, uri: str) -> list[dict[str, Any]]: ...

    def vacuum(self, uri: str, retention_hours: float, force: bool = False) -> list[str]: ...
