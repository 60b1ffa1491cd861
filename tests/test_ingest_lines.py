"""Reading files as numbered lines: exact line numbers across many blocks, bytes decoding."""

from __future__ import annotations

from chispa import assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StringType, StructField, StructType

from recsys.ingest import _lines as L
from recsys.ingest import validate as V


def test_line_numbers_exact_across_blocks(spark, tmp_path):
    """A file split into ~40 blocks (64-byte splits) still numbers every line as `wc -l` does."""
    path = tmp_path / "many.txt"
    path.write_bytes(b"".join(b"line %04d\r\n" % i for i in range(1, 201)))
    key = "spark.sql.files.maxPartitionBytes"
    old = spark.conf.get(key)
    spark.conf.set(key, "64")
    try:
        lines = L.read_lines(spark, str(path), "many.txt")
        assert lines.rdd.getNumPartitions() > 10
        rows = lines.select(V.LINE, V.RECORD).collect()
    finally:
        spark.conf.set(key, old)
    assert sorted((r[0], r[1]) for r in rows) == [(i, f"line {i:04d}") for i in range(1, 201)]


def test_decoding_latin1_and_invalid_utf8(spark, tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_bytes(b"caf\xe9\nok \xc3\xa9\n")
    latin = L.read_lines(spark, str(path), "m", L.LATIN_1).orderBy(V.LINE)
    assert [r[V.RECORD] for r in latin.collect()] == ["café", "ok Ã©"]
    assert latin.where(F.col(V.REASON).isNotNull()).count() == 0
    utf8 = L.read_lines(spark, str(path), "m", L.UTF_8).orderBy(V.LINE)
    assert [(r[V.RECORD], r[V.REASON]) for r in utf8.collect()] == [
        ("café", V.Reason.UNDECODABLE_TEXT),  # shown byte for byte (latin-1), rejected
        ("ok é", None),
    ]


def test_split_csv_quotes(spark):
    schema = StructType([StructField("line", StringType())])
    df = spark.createDataFrame(
        [('1,"a, b",c',), ('2,"say ""hi""",',), ("3,,x",), ('4,"",y',)], schema
    )
    out = df.select(L.split_csv(F.col("line")).alias("f"))
    expected = spark.createDataFrame(
        [(["1", "a, b", "c"],), (["2", 'say "hi"', ""],), (["3", "", "x"],), (["4", "", "y"],)],
        StructType([StructField("f", ArrayType(StringType(), True))]),
    )
    assert_df_equality(out, expected, ignore_nullable=True)
    balanced = df.select(L.csv_quotes_balanced(F.col("line")).alias("ok")).collect()
    assert all(r["ok"] for r in balanced)
    assert not spark.range(1).select(L.csv_quotes_balanced(F.lit('1,"open'))).first()[0]
