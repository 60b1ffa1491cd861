"""Every MovieLens parser and the generic source on small hand-made files in the exact formats."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from recsys import columns as C
from recsys.errors import InputError
from recsys.ingest import movielens as ML
from recsys.ingest import validate as V
from recsys.ingest.generic import GenericSource, parse_generic
from recsys.schemas import MOVIES, RATINGS, TAGS, USERS

GENRES_100K = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
]  # fmt: skip


def ts(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None)


def flags(*on: int) -> str:
    return "|".join("1" if i in on else "0" for i in range(19))


def write(folder, name: str, data: bytes):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def rejects(df):
    """(source, line_number, reason) of the rejected records, sorted."""
    _, bad = V.split(df, RATINGS if C.RATING in df.columns else _schema_of(df))
    return sorted(tuple(r) for r in bad.select(C.SOURCE, C.LINE_NUMBER, C.REASON).collect())


def _schema_of(df):
    for schema in (MOVIES, TAGS, USERS):
        if all(f.name in df.columns for f in schema.fields):
            return schema
    raise AssertionError(df.columns)


def good(df, schema):
    return V.split(df, schema)[0]


# ---- ml-100k ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ml100k(spark, tmp_path_factory):
    d = tmp_path_factory.mktemp("src") / "ml-100k"
    genre = "".join(f"{g}|{i}\n" for i, g in enumerate(GENRES_100K)) + "\n"
    write(d, "u.genre", genre.encode("latin-1"))
    item = [
        f"1|Toy Story (1995)|01-Jan-1995||http://x|{flags(3, 4, 5)}",
        f"2|Misérables, Les (1995)|4-Feb-1995||http://x|{flags(8)}",
        f"3|Bad Flags (1990)|01-Jan-1990||u|2|{flags()[2:]}",
        f"4|unknown|||u|{flags(0)}",
        f"x|Bad Id (1990)|01-Jan-1990||u|{flags()}",
        "5|Short|1",
        f"6|Bad Date (1990)|31-Foo-1990||u|{flags()}",
    ]
    write(d, "u.item", ("\n".join(item) + "\n").encode("latin-1"))
    data = [
        "1\t1\t5\t874724710", "1\t2\t3\t874724711", "2\t1\t6\t874724712",
        "2\t2\t3.5\t874724713", "3\tx\t4\t874724714", "3\t1\t4", "3\t2\t4\t",
        "3\t4\tNaN\t874724715", "4\t1\t1\tsoon",
    ]  # fmt: skip
    write(d, "u.data", ("\n".join(data) + "\n").encode())
    write(d, "u.user", b"1|24|M|technician|85711\n2|x|F|other|94043\n3|30|F|writer\n")
    layout = ML.detect_layout(d.parent)
    ML.check_readable(layout)
    return ML.parse(spark, layout)


def test_100k_ratings(spark, ml100k):
    expected = spark.createDataFrame(
        [(1, 1, 5.0, ts(874724710)), (1, 2, 3.0, ts(874724711))], RATINGS
    )
    assert_df_equality(good(ml100k[C.T_RATINGS], RATINGS), expected, ignore_row_order=True)
    src = "ml-100k/u.data"
    assert rejects(ml100k[C.T_RATINGS]) == [
        (src, 3, V.Reason.RATING_OUT_OF_SCALE),
        (src, 4, V.Reason.RATING_OUT_OF_SCALE),
        (src, 5, V.Reason.NON_NUMERIC_ID),
        (src, 6, V.Reason.WRONG_FIELD_COUNT),
        (src, 7, V.Reason.MISSING_TIMESTAMP),
        (src, 8, V.Reason.RATING_NAN),
        (src, 9, V.Reason.NON_NUMERIC_VALUE),
    ]


def test_100k_movies_latin1_genres_dates(spark, ml100k):
    expected = spark.createDataFrame(
        [
            (1, "Toy Story (1995)", 1995, ["Animation", "Children's", "Comedy"],
             dt.date(1995, 1, 1)),
            (2, "Misérables, Les (1995)", 1995, ["Drama"], dt.date(1995, 2, 4)),
            (4, "unknown", None, ["unknown"], None),
        ],
        MOVIES,
    )  # fmt: skip
    assert_df_equality(good(ml100k[C.T_MOVIES], MOVIES), expected, ignore_row_order=True)
    src = "ml-100k/u.item"
    assert rejects(ml100k[C.T_MOVIES]) == [
        (src, 3, V.Reason.MALFORMED_LINE),
        (src, 5, V.Reason.NON_NUMERIC_ID),
        (src, 6, V.Reason.WRONG_FIELD_COUNT),
        (src, 7, V.Reason.INVALID_DATE),
    ]


def test_100k_users(spark, ml100k):
    expected = spark.createDataFrame([(1, 24, "M", "technician", "85711")], USERS)
    assert_df_equality(good(ml100k[C.T_USERS], USERS), expected)
    assert rejects(ml100k[C.T_USERS]) == [
        ("ml-100k/u.user", 2, V.Reason.NON_NUMERIC_VALUE),
        ("ml-100k/u.user", 3, V.Reason.WRONG_FIELD_COUNT),
    ]


# ---- ml-1m -----------------------------------------------------------------------------------
def test_1m_dat_files_latin1(spark, tmp_path):
    d = tmp_path / "ml-1m"
    write(
        d,
        "movies.dat",
        "1::Toy Story (1995)::Animation|Children's|Comedy\n"
        "2::Misérables, Les (1995)::Drama\n3::Broken (1990)\n".encode("latin-1"),
    )
    write(d, "ratings.dat", b"1::1::5::978300760\n1::2::4::978300761\n2::1::0::978300762\n")
    write(d, "users.dat", b"1::F::1::10::48067\n2::M::56::16::70072\n3::M::x::16::1\n")
    layout = ML.detect_layout(tmp_path)
    assert layout.kind == "ml-1m"
    ML.check_readable(layout)
    parsed = ML.parse(spark, layout)
    assert_df_equality(
        good(parsed[C.T_MOVIES], MOVIES),
        spark.createDataFrame(
            [(1, "Toy Story (1995)", 1995, ["Animation", "Children's", "Comedy"], None),
             (2, "Misérables, Les (1995)", 1995, ["Drama"], None)],
            MOVIES,
        ),
        ignore_row_order=True,
    )  # fmt: skip
    assert rejects(parsed[C.T_MOVIES]) == [("ml-1m/movies.dat", 3, V.Reason.WRONG_FIELD_COUNT)]
    assert_df_equality(
        good(parsed[C.T_RATINGS], RATINGS),
        spark.createDataFrame([(1, 1, 5.0, ts(978300760)), (1, 2, 4.0, ts(978300761))], RATINGS),
        ignore_row_order=True,
    )
    assert rejects(parsed[C.T_RATINGS]) == [("ml-1m/ratings.dat", 3, V.Reason.RATING_OUT_OF_SCALE)]
    assert_df_equality(
        good(parsed[C.T_USERS], USERS),
        spark.createDataFrame(
            [(1, 1, "F", "K-12 student", "48067"), (2, 56, "M", "self-employed", "70072")], USERS
        ),
        ignore_row_order=True,
    )
    assert rejects(parsed[C.T_USERS]) == [("ml-1m/users.dat", 3, V.Reason.NON_NUMERIC_VALUE)]


# ---- ml-latest / ml-25m / ml-32m ---------------------------------------------------------------
def test_latest_csv_quotes_crlf_utf8(spark, tmp_path):
    d = tmp_path / "ml-25m"
    movies = [
        b"movieId,title,genres",
        b"1,Toy Story (1995),Adventure|Animation",
        b'2,"American President, The (1995)",Comedy|Drama|Romance',
        b'3,"Title with ""quotes"" (2000)",(no genres listed)',
        b'4,"Unclosed (2001),Drama',
        b"5,Caf\xe9 (2002),Drama",
        "6,Amélie (Fabuleux destin d'Amélie Poulain) (2001),Comedy".encode(),
        b"7,Two Fields",
    ]
    write(d, "movies.csv", b"\r\n".join(movies) + b"\r\n")
    ratings = [b"userId,movieId,rating,timestamp", b"1,1,4.0,964982703", b"1,2,0.5,964981247",
               b"1,3,4.25,964982224", b"2,1,,964982931", b"2,2,abc,964982931",
               b"2,3,5.0,"]  # fmt: skip
    write(d, "ratings.csv", b"\r\n".join(ratings) + b"\r\n")
    tags = [b"userId,movieId,tag,timestamp", b'2,1,"funny, smart",1445714994',
            b"2,2,Highly quotable,1445714996", b"2,3,,1445714997"]  # fmt: skip
    write(d, "tags.csv", b"\r\n".join(tags) + b"\r\n")
    write(d, "links.csv", b"movieId,imdbId,tmdbId\r\n")
    layout = ML.detect_layout(d)
    assert (layout.kind, layout.dataset) == ("ml-latest", "ml-25m")
    ML.check_readable(layout)
    parsed = ML.parse(spark, layout)
    assert_df_equality(
        good(parsed[C.T_MOVIES], MOVIES),
        spark.createDataFrame(
            [
                (1, "Toy Story (1995)", 1995, ["Adventure", "Animation"], None),
                (2, "American President, The (1995)", 1995, ["Comedy", "Drama", "Romance"],
                 None),
                (3, 'Title with "quotes" (2000)', 2000, [], None),
                (6, "Amélie (Fabuleux destin d'Amélie Poulain) (2001)", 2001, ["Comedy"], None),
            ],
            MOVIES,
        ),
        ignore_row_order=True,
    )  # fmt: skip
    src = "ml-25m/movies.csv"
    assert rejects(parsed[C.T_MOVIES]) == [
        (src, 5, V.Reason.MALFORMED_LINE),
        (src, 6, V.Reason.UNDECODABLE_TEXT),
        (src, 8, V.Reason.WRONG_FIELD_COUNT),
    ]
    record = V.split(parsed[C.T_MOVIES], MOVIES)[1].where(F.col(C.LINE_NUMBER) == 6).first()
    assert record[C.RECORD] == "5,Café (2002),Drama"  # shown byte for byte, without the \r
    assert_df_equality(
        good(parsed[C.T_RATINGS], RATINGS),
        spark.createDataFrame([(1, 1, 4.0, ts(964982703)), (1, 2, 0.5, ts(964981247))], RATINGS),
        ignore_row_order=True,
    )
    src = "ml-25m/ratings.csv"
    assert rejects(parsed[C.T_RATINGS]) == [
        (src, 4, V.Reason.RATING_OUT_OF_SCALE),
        (src, 5, V.Reason.NON_NUMERIC_VALUE),
        (src, 6, V.Reason.NON_NUMERIC_VALUE),
        (src, 7, V.Reason.MISSING_TIMESTAMP),
    ]
    assert_df_equality(
        good(parsed[C.T_TAGS], TAGS),
        spark.createDataFrame(
            [(2, 1, "funny, smart", ts(1445714994)), (2, 2, "Highly quotable", ts(1445714996))],
            TAGS,
        ),
        ignore_row_order=True,
    )
    assert rejects(parsed[C.T_TAGS]) == [("ml-25m/tags.csv", 4, V.Reason.MISSING_VALUE)]


# ---- layouts and unreadable files ------------------------------------------------------------
def test_layout_errors(tmp_path):
    with pytest.raises(InputError, match="no MovieLens layout recognised"):
        ML.detect_layout(tmp_path)
    write(tmp_path / "ml-1m", "ratings.dat", b"1::1::5::1\n")
    with pytest.raises(InputError, match=r"lacks movies\.dat"):
        ML.detect_layout(tmp_path)
    write(tmp_path / "ml-1m", "movies.dat", b"")
    with pytest.raises(InputError, match=r"ml-1m/movies\.dat: the file is empty"):
        ML.check_readable(ML.detect_layout(tmp_path))
    write(tmp_path / "ml-1m", "movies.dat", b"1,Toy Story (1995),Animation\n")
    with pytest.raises(InputError, match=r"ml-1m/movies\.dat: expected 3 fields separated by"):
        ML.check_readable(ML.detect_layout(tmp_path))


def test_csv_header_checked(tmp_path):
    d = tmp_path / "ml-latest"
    write(d, "ratings.csv", b"user,item,rating,ts\n1,1,4.0,1\n")
    write(d, "movies.csv", b"movieId,title,genres\n1,A (1990),Drama\n")
    with pytest.raises(InputError, match=r"ml-latest/ratings\.csv: expected the header"):
        ML.check_readable(ML.detect_layout(d))


# ---- generic ---------------------------------------------------------------------------------
def test_generic_csv_with_mapping(spark, tmp_path):
    """A ';'-separated file (both files use --sep), ISO and Unix timestamps, a 0.5-10 scale."""
    path = tmp_path / "mine.csv"
    path.write_bytes(
        b"stars;who;what;when\n4.5;7;10;2020-01-02T03:04:05\n11;7;11;1600000000\n"
        b"3;8;x;1600000000\n2.0;9;10;\n"
    )
    movies = tmp_path / "films.csv"
    movies.write_bytes(b'movieId;title;genres\n10;"Heat; Again (1995)";Action|Crime\n11;;Drama\n')
    src = GenericSource(
        ratings=str(path),
        mapping={"user": "who", "item": "what", "rating": "stars", "timestamp": "when"},
        movies=str(movies),
        sep=";",
        scale=V.RatingScale(0.5, 10.0, 0.5),
    )
    parsed = parse_generic(spark, src)
    assert_df_equality(
        good(parsed[C.T_RATINGS], RATINGS),
        spark.createDataFrame([(7, 10, 4.5, dt.datetime(2020, 1, 2, 3, 4, 5))], RATINGS),
    )
    assert rejects(parsed[C.T_RATINGS]) == [
        ("mine.csv", 3, V.Reason.RATING_OUT_OF_SCALE),
        ("mine.csv", 4, V.Reason.NON_NUMERIC_ID),
        ("mine.csv", 5, V.Reason.MISSING_TIMESTAMP),
    ]
    assert_df_equality(
        good(parsed[C.T_MOVIES], MOVIES),
        spark.createDataFrame(
            [(10, "Heat; Again (1995)", 1995, ["Action", "Crime"], None)], MOVIES
        ),
    )
    assert rejects(parsed[C.T_MOVIES]) == [("films.csv", 3, V.Reason.MISSING_VALUE)]


def test_generic_tags_are_validated_like_movielens_tags(spark, tmp_path):
    """--tags with --tags-map: ISO or Unix timestamps; the MovieLens tags rules and reasons."""
    ratings = tmp_path / "r.csv"
    ratings.write_bytes(b"u,i,r\n1,10,4\n")
    tags = tmp_path / "t.csv"
    tags.write_bytes(
        b'who,what,label,when\n1,10, dark comedy ,1600000000\n2,10,"noir, rain",2021-05-06\n'
        b"x,10,odd,1600000000\n3,10,  ,1600000000\n4,10,late,yesterday\n5,10,short\n"
        b"6,11,kept,\n"
    )
    src = GenericSource(
        ratings=str(ratings),
        mapping={"user": "u", "item": "i", "rating": "r"},
        tags=str(tags),
        tags_mapping={"user": "who", "item": "what", "tag": "label", "timestamp": "when"},
    )
    parsed = parse_generic(spark, src)
    assert_df_equality(
        good(parsed[C.T_TAGS], TAGS),
        spark.createDataFrame(
            [
                (1, 10, "dark comedy", ts(1600000000)),
                (2, 10, "noir, rain", dt.datetime(2021, 5, 6)),
            ],
            TAGS,
        ),
        ignore_row_order=True,
    )
    assert rejects(parsed[C.T_TAGS]) == [
        ("t.csv", 4, V.Reason.NON_NUMERIC_ID),
        ("t.csv", 5, V.Reason.MISSING_VALUE),
        ("t.csv", 6, V.Reason.NON_NUMERIC_VALUE),
        ("t.csv", 7, V.Reason.WRONG_FIELD_COUNT),
        ("t.csv", 8, V.Reason.MISSING_TIMESTAMP),
    ]
    # without a timestamp column the tag is kept with a null tagged_at
    untimed_map = {"user": "who", "item": "what", "tag": "label"}
    untimed = GenericSource(str(ratings), src.mapping, tags=str(tags), tags_mapping=untimed_map)
    kept = good(parse_generic(spark, untimed)[C.T_TAGS], TAGS).where(F.col(C.USER_ID) == 6)
    assert [tuple(r) for r in kept.collect()] == [(6, 11, "kept", None)]
    with pytest.raises(InputError, match=r"t\.csv: no column 'tagz' for tag"):
        parse_generic(spark, GenericSource(str(ratings), src.mapping, tags=str(tags),
                                           tags_mapping={"user": "who", "item": "what",
                                                         "tag": "tagz"}))  # fmt: skip
    with pytest.raises(InputError, match=r"gone\.csv: file not found"):
        parse_generic(spark, GenericSource(str(ratings), src.mapping,
                                           tags=str(tmp_path / "gone.csv")))  # fmt: skip


def test_generic_parquet_and_positions(spark, tmp_path):
    path = tmp_path / "r.parquet"
    pq.write_table(
        pa.table({"u": [1, 2, None], "i": [5, 6, 7], "r": [3.0, float("nan"), 1.0]}), path
    )
    parsed = parse_generic(
        spark, GenericSource(str(path), {"user": "u", "item": "i", "rating": "r"})
    )
    assert_df_equality(
        good(parsed[C.T_RATINGS], RATINGS), spark.createDataFrame([(1, 5, 3.0, None)], RATINGS)
    )
    assert rejects(parsed[C.T_RATINGS]) == [
        ("r.parquet", 2, V.Reason.RATING_NAN),
        ("r.parquet", 3, V.Reason.NON_NUMERIC_ID),
    ]
    csv = tmp_path / "noheader.tsv"
    csv.write_bytes(b"1\t2\t4\n")
    src = GenericSource(str(csv), {"user": "1", "item": "2", "rating": "3"}, sep="\t",
                        header=False)  # fmt: skip
    assert_df_equality(
        good(parse_generic(spark, src)[C.T_RATINGS], RATINGS),
        spark.createDataFrame([(1, 2, 4.0, None)], RATINGS),
    )
    with pytest.raises(InputError, match="no column 'nope' for user"):
        parse_generic(spark, GenericSource(str(csv), {"user": "nope", "item": "2", "rating": "3"},
                                           sep="\t", header=False))  # fmt: skip
    with pytest.raises(InputError, match="file not found"):
        parse_generic(
            spark,
            GenericSource(str(tmp_path / "gone.csv"), {"user": "a", "item": "b", "rating": "c"}),
        )
