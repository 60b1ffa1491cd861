"""Every lake table as a Spark SQL view of the same name, for analysts (``recsys sql``, the
notebook): ``SELECT * FROM recommendations`` instead of knowing where the files live.

The views are temporary views over DataFrames read through :class:`recsys.lakehouse.Lake`, so they
work on either lake engine and cannot be written to (Spark refuses INSERT into such a view).
:func:`check_read_only` is the lexical guard ``recsys sql`` applies before running a statement.
"""

from __future__ import annotations

import re

from pyspark.sql import DataFrame

from recsys import columns as C
from recsys.errors import RecsysError
from recsys.lakehouse import Lake
from recsys.runs import T_RUNS

# Tables the jobs write, in pipeline order. Used to find tables under a remote root (s3a://...)
# where the lake cannot list folders; local roots are listed, so extra tables show up too.
KNOWN_TABLES: tuple[str, ...] = (
    C.T_RATINGS,
    C.T_MOVIES,
    C.T_TAGS,
    C.T_USERS,
    C.T_REJECTS,
    C.T_ALS_USER_FACTORS,
    C.T_ALS_ITEM_FACTORS,
    C.T_ALS_CANDIDATES,
    C.T_ALS_SEARCH,
    C.T_MOVIE_NEIGHBORS,
    C.T_CONTENT_SCORES,
    C.T_ITEM_NEIGHBORS,
    C.T_RECOMMENDATIONS,
    C.T_SIMILAR_MOVIES,
    C.T_METRICS,
    T_RUNS,
)


class SqlError(RecsysError):
    """A statement ``recsys sql`` will not run (not read-only, or several statements)."""


def lake_tables(lake: Lake) -> list[str]:
    """Names of the Delta tables under the lake root."""
    if "://" in lake.root:
        return [name for name in KNOWN_TABLES if lake.exists(name)]
    return lake.tables()


def register_views(lake: Lake, names: list[str] | None = None) -> list[str]:
    """Register each table (default: all under the root) as a temp view named like the table,
    at its latest version; returns the names registered."""
    registered = []
    for name in names if names is not None else lake_tables(lake):
        lake.read(name).createOrReplaceTempView(name)
        registered.append(name)
    return registered


# ---- the read-only guard -------------------------------------------------------------------
READ_ONLY_STARTS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN"})
# Words that only appear in statements that change something (tables, views, the session,
# the file system) or call into the JVM; refused anywhere outside quotes. A column or alias
# that happens to be spelled like one must be back-quoted.
FORBIDDEN = frozenset(
    {
        "INSERT",
        "UPDATE",
        "DELETE",
        "MERGE",
        "UPSERT",
        "CREATE",
        "DROP",
        "ALTER",
        "TRUNCATE",
        "RENAME",
        "REPLACE",
        "OVERWRITE",
        "GRANT",
        "REVOKE",
        "CACHE",
        "UNCACHE",
        "REFRESH",
        "CLEAR",
        "SET",
        "RESET",
        "USE",
        "ADD",
        "LOAD",
        "MSCK",
        "REPAIR",
        "COPY",
        "OPTIMIZE",
        "VACUUM",
        "RESTORE",
        "CLONE",
        "CALL",
        "EXECUTE",
        "EXEC",
        "DECLARE",
        "DIRECTORY",
        "ANALYZE",
        "COMMENT",
        "REFLECT",
        "JAVA_METHOD",
        "TRY_REFLECT",
    }
)
# Function calls whose name is also a forbidden word but which are harmless: replace(s, a, b).
_HARMLESS_CALLS = frozenset({"REPLACE"})

_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`(?:[^`]|``)*`", re.S)
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_BLANKABLE = re.compile(f"{_QUOTED.pattern}|{_COMMENT.pattern}", re.S)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _mask(query: str) -> str:
    """The query with string literals, quoted identifiers and comments blanked out (same
    length, so positions still match), leaving only the statement's own words and punctuation."""
    masked = _BLANKABLE.sub(lambda m: " " * len(m.group(0)), query)
    if any(ch in masked for ch in "'\"`") or "/*" in masked:
        raise SqlError("unbalanced quote or unterminated comment in the statement")
    return masked


def check_read_only(query: str) -> str:
    """Return the statement (without a trailing ';') when it is one read-only query, else raise
    :class:`SqlError`. Conservative by design: a false refusal costs a rephrase, a false pass
    could change a table."""
    masked = _mask(query).rstrip()
    if masked.endswith(";"):
        query, masked = query[: len(masked) - 1], masked[:-1]
    if not masked.strip():
        raise SqlError("empty statement")
    if ";" in masked:
        raise SqlError("only one statement is allowed: remove the ';' between statements")
    words = [(m.group(0).upper(), m.end()) for m in _WORD.finditer(masked)]
    first = words[0][0] if words else ""
    if first not in READ_ONLY_STARTS:
        allowed = ", ".join(sorted(READ_ONLY_STARTS))
        raise SqlError(
            f"only read-only statements run here (starting with {allowed}), not {first!r}"
        )
    for word, end in words:
        if word not in FORBIDDEN:
            continue
        if word in _HARMLESS_CALLS and masked[end:].lstrip().startswith("("):
            continue
        raise SqlError(
            f"{word} is not allowed: recsys sql is read-only "
            "(back-quote a column that is named like a keyword)"
        )
    return query.strip()


def read_only_sql(lake: Lake, query: str) -> DataFrame:
    """Register the lake's tables as views and run one read-only statement over them."""
    statement = check_read_only(query)
    register_views(lake)
    return lake.spark.sql(statement)
