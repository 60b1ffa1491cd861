"""`recsys sql`: the read-only guard, views named like the lake's tables, the printed table."""

from __future__ import annotations

import argparse

import pytest
from chispa import assert_df_equality
from pyspark.sql.types import IntegerType, StringType, StructField, StructType

from recsys import columns as C
from recsys.catalog import SqlError, check_read_only, read_only_sql, register_views
from recsys.cli import main
from recsys.cli import sql as sql_cli
from recsys.display import format_table
from tests import _frames as fr


@pytest.mark.parametrize(
    "query",
    [
        "SELECT 1",
        "WITH t AS (SELECT 1 AS x) SELECT x FROM t",
        "show tables",
        "DESCRIBE ratings",
        "explain select * from movies",
        "select replace(title, 'a', 'b') from movies",
        "select * from runs where status = 'drop; delete'",
        "select `update` from t",
        "/* note */ select 1",
        "select 'insert into x' as a, `drop` from t -- delete from ratings",
        "with w as (select * from ratings) select * from w where user_id in (select 1)",
        "select 1 union all select 2",
        "DESCRIBE select 1",
    ],
)
def test_read_only_statements_pass_unchanged(query):
    assert check_read_only(query) == query


@pytest.mark.parametrize(
    ("query", "expected"),
    [("  select * from runs ;  ", "select * from runs"), ("SELECT 1; -- comment", "SELECT 1")],
)
def test_one_trailing_semicolon_is_dropped(query, expected):
    assert check_read_only(query) == expected


@pytest.mark.parametrize(
    ("query", "why"),
    [
        # DDL and DML
        ("DROP TABLE ratings", "not DROP"),
        ("insert into runs select * from runs", "not INSERT"),
        ("INSERT OVERWRITE DIRECTORY '/tmp/x' SELECT 1", "not INSERT"),
        ("CREATE OR REPLACE TEMP VIEW x AS SELECT 1", "not CREATE"),
        ("ALTER TABLE ratings ADD COLUMNS (x int)", "not ALTER"),
        ("UPDATE ratings SET rating = 5", "not UPDATE"),
        ("DELETE FROM ratings WHERE true", "not DELETE"),
        ("MERGE INTO ratings t USING x s ON t.a = s.a WHEN MATCHED THEN DELETE", "not MERGE"),
        ("TRUNCATE TABLE ratings", "TRUNCATE"),
        ("CACHE TABLE x AS SELECT 1", "not CACHE"),
        ("SET spark.sql.ansi.enabled=false", "not SET"),
        ("ADD JAR /tmp/evil.jar", "ADD"),
        # more than one statement, also behind comments and quotes
        ("select 1; drop table ratings", "one statement"),
        ("select 1;;", "one statement"),
        ("select 1 /* */ ; delete from ratings", "one statement"),
        ("select 1 -- comment\n; drop table ratings", "one statement"),
        # writes hidden inside a query
        ("WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a", "INSERT"),
        ("explain insert into t select 1", "INSERT"),
        ("EXPLAIN EXTENDED DROP TABLE ratings", "DROP"),
        ("select transform(user_id) using 'rm -rf /' from ratings", "TRANSFORM ... USING"),
        # escapes from the lake's views
        ("select reflect('java.lang.System', 'exit', '0')", "REFLECT"),
        ("select * from (select java_method('java.lang.System', 'exit', 1))", "JAVA_METHOD"),
        ("select * from delta.`/tmp/other/table`", "by name"),
        ("select * from csv.`/etc/passwd`", "by name"),
        ("select * from identifier('delta.`/tmp/other`')", "IDENTIFIER"),
        ("select identifier('reflect')('java.lang.System', 'exit', '0')", "cannot parse"),
        # not SQL at all
        ("select 'unterminated", "unbalanced"),
        ("select from where", "cannot parse"),
        ("   ", "empty"),
        ("-- only a comment", "empty"),
    ],
)
def test_everything_else_is_refused(query, why):
    with pytest.raises(SqlError, match=why):
        check_read_only(query)


@pytest.fixture(scope="module")
def small_lake(spark, tmp_path_factory):
    """Written once for the module: the tests only read it."""
    from recsys.lakehouse import Lake

    lake = Lake(spark, str(tmp_path_factory.mktemp("sql") / "lake"), engine="delta-rs")
    movies = fr.movies(spark, [(1, "Heat (1995)", []), (2, "Up (2009)", [])])
    recs = fr.recs(spark, [(7, 2, 1), (7, 1, 2), (8, 1, 1)])  # (user, movie, rank)
    lake.overwrite(C.T_MOVIES, movies)
    lake.overwrite("recommendations", recs)
    return lake


def test_every_table_is_a_view_named_like_it(spark, small_lake):
    assert register_views(small_lake) == ["movies", "recommendations"]
    actual = read_only_sql(
        small_lake,
        "SELECT r.user_id, r.rank, m.title FROM recommendations r "
        "JOIN movies m USING (movie_id) WHERE r.user_id = 7",
    )
    schema = StructType(
        [
            StructField(C.USER_ID, IntegerType(), False),
            StructField(C.RANK, IntegerType(), False),
            StructField(C.TITLE, StringType(), False),
        ]
    )
    expected = spark.createDataFrame([(7, 1, "Up (2009)"), (7, 2, "Heat (1995)")], schema)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_views_cannot_be_written(spark, small_lake):
    register_views(small_lake)
    with pytest.raises(Exception, match=r"(?i)insert|view|not supported|not allowed"):
        spark.sql("INSERT INTO movies SELECT * FROM movies")
    assert small_lake.read(C.T_MOVIES).count() == 2


def _args(query: str, limit: int = 50) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sql_cli.add_arguments(parser)
    return parser.parse_args([query, "--limit", str(limit)])


def test_command_prints_a_table_and_honours_the_limit(small_lake, make_ctx, capsys):
    ctx = make_ctx(small_lake.root)
    query = "SELECT user_id, rank, movie_id FROM recommendations ORDER BY user_id, rank"
    assert sql_cli.run(_args(query, limit=2), ctx) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["user_id", "rank", "movie_id"]
    assert [line.split() for line in out[2:4]] == [["7", "1", "2"], ["7", "2", "1"]]
    assert "first 2 rows shown" in out[4]

    assert sql_cli.run(_args(query), ctx) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "(3 rows)"


def test_command_refuses_writes_before_starting_spark(capsys):
    assert main(["sql", "DELETE FROM ratings"]) == 2
    err = capsys.readouterr().err
    assert "recsys sql: error: only read-only statements" in err


def test_format_table_aligns_numbers_right_and_cuts_long_cells():
    text = format_table(["name", "n"], [("a" * 10, 5), ("b", 123)], max_width=6)
    assert text.splitlines() == ["name      n", "------  ---", "aaaaa…    5", "b       123"]
