"""Plain-text tables for the terminal, from a bounded number of rows (a ``limit`` was applied
before the rows reached the driver)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from pyspark.sql import DataFrame


def _cell(value: Any, float_digits: int) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.{float_digits}f}"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_cell(v, float_digits) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_cell(v, float_digits)}" for k, v in value.items()) + "}"
    return str(value)


def format_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    max_width: int = 60,
    float_digits: int = 4,
) -> str:
    """Columns aligned under a header; numbers right-aligned; long cells cut with '…'."""
    cells = [[_cell(v, float_digits) for v in row] for row in rows]
    cells = [[c if len(c) <= max_width else c[: max_width - 1] + "…" for c in row] for row in cells]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(columns)]
    numeric = [
        bool(rows) and all(isinstance(row[i], int | float) or row[i] is None for row in rows)
        for i in range(len(columns))
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    out = [line(list(columns)), line(["-" * w for w in widths])]
    out.extend(line(row) for row in cells)
    return "\n".join(out)


def show(df: DataFrame, limit: int = 50, **kwargs: Any) -> str:
    """The first ``limit`` rows of ``df`` as a table, with a note when more rows exist."""
    rows = df.limit(limit + 1).collect()  # bounded by ``limit``
    text = format_table(df.columns, [tuple(r) for r in rows[:limit]], **kwargs)
    if len(rows) > limit:
        text += f"\n(first {limit} rows shown; raise --limit to see more)"
    else:
        text += f"\n({len(rows)} row{'s' if len(rows) != 1 else ''})"
    return text
