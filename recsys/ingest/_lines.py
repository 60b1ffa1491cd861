"""Text files as numbered, decoded lines, entirely in Spark.

``spark.read.text`` hands each line over as the file's raw bytes (no decoding happens), so
casting the value to binary and decoding it ourselves is exact: latin-1 files decode byte for
byte, and UTF-8 files are checked with ``is_valid_utf8`` so that undecodable lines become
rejects instead of silently carrying replacement characters.

Line numbers are 1-based and count ``\\n`` like ``wc -l`` (a trailing ``\\r`` of a CRLF line is
stripped, a lone ``\\r`` does not end a line). They are computed without a global sort: the
text reader splits a file into blocks at byte offsets (``_metadata.file_block_start``) and
reads each block's lines in order inside one partition, where ``monotonically_increasing_id``
is consecutive. One aggregation gives each block its first id and line count (one row per
block, a few per GB); running sums over the blocks, in offset order, give each block's first
line number, inlined into the plan as a literal map.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from recsys.ingest import validate as V

LATIN_1 = "ISO-8859-1"
UTF_8 = "UTF-8"


def read_lines(spark: SparkSession, path: str, source: str, encoding: str = UTF_8) -> DataFrame:
    """One row per line of ``path``: ``_src`` (= ``source``), ``_line`` (1-based), ``_record``
    (decoded text, trailing ``\\r`` removed) and ``_reason`` (``undecodable_text`` or null).

    UTF-8 lines that are not valid UTF-8 keep their text decoded as latin-1 (lossless, so the
    reject shows every byte) and get the reason; latin-1 never fails.
    """
    raw = (
        spark.read.option("lineSep", "\n")
        .text(path)
        .select(
            F.col("value"),
            F.col("_metadata.file_block_start").alias("_blk"),
            F.monotonically_increasing_id().alias("_mid"),
        )
    )
    line = (F.col("_mid") + _block_offsets(raw)).cast("long")
    data = F.col("value").cast("binary")
    if encoding.upper().replace("_", "-") in {"LATIN-1", "LATIN1", LATIN_1}:
        text, reason = F.decode(data, LATIN_1), F.lit(None).cast("string")
    else:
        valid = F.is_valid_utf8(F.col("value"))
        text = F.when(valid, F.col("value")).otherwise(F.decode(data, LATIN_1))
        reason = F.when(~valid, F.lit(V.Reason.UNDECODABLE_TEXT))
    return raw.select(
        F.lit(source).alias(V.SRC),
        line.alias(V.LINE),
        F.regexp_replace(text, "\r$", "").alias(V.RECORD),
        reason.alias(V.REASON),
    )


def _block_offsets(raw: DataFrame) -> Column:
    """Per block, what turns ``_mid`` into the 1-based line number. One aggregation job whose
    result has one row per block (a few per GB), collected and inlined as a literal map."""
    stats = raw.groupBy("_blk").agg(F.min("_mid").alias("first"), F.count("*").alias("n"))
    before, offsets = 0, []
    for row in sorted(stats.collect(), key=lambda r: r["_blk"]):  # bounded by the block count
        offsets += [F.lit(row["_blk"]), F.lit(before + 1 - row["first"])]
        before += row["n"]
    if not offsets:
        return F.lit(0)
    return F.element_at(F.create_map(*offsets), F.col("_blk"))


def drop_blank(lines: DataFrame) -> DataFrame:
    """Blank lines are not records (GroupLens's u.genre ends with one); they are skipped."""
    return lines.where(F.trim(F.col(V.RECORD)) != "")


def drop_header(lines: DataFrame) -> DataFrame:
    return lines.where(F.col(V.LINE) > 1)


def split_plain(record: Column, sep: str) -> Column:
    """Fields of a line whose separator never occurs inside a field (``\\t``, ``|``, ``::``)."""
    import re

    return F.split(record, re.escape(sep), -1)


def csv_quotes_balanced(record: Column, quote: str = '"') -> Column:
    """False when a line has an odd number of quote characters (a field never closed)."""
    return (F.length(record) - F.length(F.regexp_replace(record, quote, ""))) % 2 == 0


def split_csv(record: Column, sep: str = ",", quote: str = '"') -> Column:
    """Fields of an RFC 4180 line: split on ``sep`` outside quotes, then unquote each field
    (``"a, b"`` -> ``a, b`` and ``""`` -> ``"``). Call only on lines with balanced quotes."""
    import re

    s, q = re.escape(sep), re.escape(quote)
    outside_quotes = f"{s}(?=(?:[^{q}]*{q}[^{q}]*{q})*[^{q}]*$)"
    fields = F.split(record, outside_quotes, -1)
    return F.transform(
        fields,
        lambda f: F.when(
            f.startswith(quote) & f.endswith(quote) & (F.length(f) >= 2),
            F.replace(F.substring(f, 2, F.length(f) - 2), F.lit(quote * 2), F.lit(quote)),
        ).otherwise(f),
    )
