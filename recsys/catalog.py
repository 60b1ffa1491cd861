"""Every lake table as a Spark SQL view of the same name, for analysts (``recsys sql``, the
notebook): ``SELECT * FROM recommendations`` instead of knowing where the files live.

The views are temporary views over DataFrames read through :class:`recsys.lakehouse.Lake`, so they
work on either lake engine and cannot be written to (Spark refuses INSERT into such a view).
:func:`check_read_only` is the guard ``recsys sql`` applies before running a statement: it parses
the statement with a real SQL parser (sqlglot's Spark dialect) and refuses anything but one
read-only query over the lake's tables.
"""

from __future__ import annotations

import sqlglot
import sqlglot.errors
from pyspark.sql import DataFrame
from sqlglot import exp
from sqlglot.tokens import TokenType

from recsys import columns as C
from recsys.errors import RecsysError
from recsys.lakehouse import Lake
from recsys.runs import T_RUNS

# Tables the jobs write, in pipeline order. Used to find tables under a remote root (s3a://...)
# where the lake cannot list folders; local roots are listed, so extra tables show up too.
KNOWN_TABLES: tuple[str, ...] = (
    C.T_RATINGS,
    C.T_FEEDBACK,
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
DIALECT = "spark"
READ_ONLY_COMMANDS = frozenset({"SHOW"})
"""Statements sqlglot keeps as raw commands that only read (``SHOW TABLES``, ``SHOW COLUMNS``)."""
_WRITES = (
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.Set,
    exp.Use,
    exp.Cache,
    exp.Uncache,
    exp.Command,
    exp.QueryTransform,  # SELECT TRANSFORM(...) USING 'script' runs a program on the executors
    exp.TruncateTable,
    exp.LoadData,
)
EXPLAIN_MODES = frozenset({"EXTENDED", "CODEGEN", "COST", "FORMATTED", "LOGICAL"})
JVM_CALLS = frozenset({"REFLECT", "JAVA_METHOD", "TRY_REFLECT"})
"""Functions that call any Java method (``System.exit`` included)."""
REFUSED_CALLS = JVM_CALLS | {"IDENTIFIER"}
"""Also ``IDENTIFIER('...')``: Spark resolves its string as a name at run time, so it could name
a table by path (``delta.`/elsewhere```) or a function the parse tree never shows."""


def _parse(query: str) -> list[exp.Expression | None]:
    try:
        return sqlglot.parse(query, read=DIALECT)
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SqlError(f"cannot parse the statement as Spark SQL: {first}") from None


def _check_tree(tree: exp.Expression) -> None:
    """Refuse a statement, or anything nested in it, that writes or escapes the lake's views."""
    if isinstance(tree, exp.Command):
        word = str(tree.this).upper()
        if word == "EXPLAIN":
            rest = str(tree.expression.this if tree.expression else "").lstrip()
            mode = rest.split(None, 1)
            if mode and mode[0].upper() in EXPLAIN_MODES:
                rest = mode[1] if len(mode) > 1 else ""
            return _check_statement(rest)
        if word in READ_ONLY_COMMANDS:
            return None
        raise SqlError(f"{word} is not allowed: recsys sql runs read-only queries only")
    if not isinstance(tree, exp.Query | exp.Values | exp.Describe):
        raise SqlError(
            f"only read-only statements run here (a query, SHOW, DESCRIBE or EXPLAIN), not "
            f"{tree.key.upper()}"
        )
    for node in tree.walk():
        if isinstance(node, _WRITES):
            what = "TRANSFORM ... USING" if isinstance(node, exp.QueryTransform) else node.key
            raise SqlError(
                f"{what.upper()} is not allowed: recsys sql is read-only, also inside a "
                "WITH clause or a subquery"
            )
        name = ""
        if isinstance(node, exp.Anonymous):
            name = str(node.this).upper()
        elif isinstance(node, exp.Func):
            name = node.sql_name().upper()
        if name in REFUSED_CALLS:
            why = "it calls into the JVM" if name in JVM_CALLS else "it names things at run time"
            raise SqlError(f"{name} is not allowed: {why}")
        if isinstance(node, exp.Table) and (node.args.get("db") or node.args.get("catalog")):
            raise SqlError(
                f"{node.sql(DIALECT)}: query the lake's tables by name (e.g. FROM ratings), "
                "not by path or database"
            )
    return None


def _check_statement(query: str) -> str:
    statements = _parse(query)
    present = [s for s in statements if s is not None]
    if not present:
        raise SqlError("empty statement")
    if len(statements) > 1:
        raise SqlError("only one statement is allowed: remove the ';' between statements")
    _check_tree(present[0])
    return query


def check_read_only(query: str) -> str:
    """Return the statement (without a trailing ';') when it is one read-only query, else raise
    :class:`SqlError`. The statement is parsed as Spark SQL (sqlglot), so a write hidden in a
    CTE, a subquery, an EXPLAIN or behind a comment is found by structure, not by keyword."""
    try:
        tokens = sqlglot.Dialect.get_or_raise(DIALECT).tokenize(query)
    except sqlglot.errors.TokenError as exc:
        raise SqlError(
            f"unbalanced quote or unterminated comment in the statement ({exc})"
        ) from None
    if tokens and tokens[-1].token_type == TokenType.SEMICOLON:
        query = query[: tokens[-1].start]  # one trailing ';' (comments after it included)
        tokens = tokens[:-1]
    if any(t.token_type == TokenType.SEMICOLON for t in tokens):
        raise SqlError("only one statement is allowed: remove the ';' between statements")
    return _check_statement(query).strip()


def read_only_sql(lake: Lake, query: str) -> DataFrame:
    """Register the lake's tables as views and run one read-only statement over them."""
    statement = check_read_only(query)
    register_views(lake)
    return lake.spark.sql(statement)
