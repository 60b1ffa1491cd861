"""MovieLens in GroupLens's own layouts: detection, readability checks and parsers.

=========  ===========================================  ========  ==========  ==========
layout     files (ratings, movies, users, tags)         fields    encoding    ratings
=========  ===========================================  ========  ==========  ==========
ml-100k    u.data, u.item (+ u.genre), u.user           ``\\t|``   latin-1     1-5
ml-1m      ratings.dat, movies.dat, users.dat           ``::``    latin-1     1-5
ml-latest  ratings.csv, movies.csv, tags.csv            CSV       UTF-8       0.5-5 by .5
=========  ===========================================  ========  ==========  ==========

``ml-latest`` covers ml-latest-small, ml-latest, ml-25m and ml-32m (same files and format).
Each parser returns a *parsed frame* (see :mod:`recsys.ingest.validate`): every line of the
file, its target columns and the reason it is rejected, if any.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from recsys import columns as C
from recsys.errors import InputError
from recsys.ingest import _lines as L
from recsys.ingest import validate as V

_F = "_fields"

# layout -> role -> file name; roles are table names plus ml-100k's genre list.
FILES: dict[str, dict[str, str]] = {
    "ml-100k": {"ratings": "u.data", "movies": "u.item", "genres": "u.genre", "users": "u.user"},
    "ml-1m": {"ratings": "ratings.dat", "movies": "movies.dat", "users": "users.dat"},
    "ml-latest": {"ratings": "ratings.csv", "movies": "movies.csv", "tags": "tags.csv"},
}
REQUIRED: dict[str, set[str]] = {
    "ml-100k": {"ratings", "movies", "genres"},
    "ml-1m": {"ratings", "movies"},
    "ml-latest": {"ratings", "movies"},
}
CSV_HEADERS = {
    "ratings.csv": "userId,movieId,rating,timestamp",
    "movies.csv": "movieId,title,genres",
    "tags.csv": "userId,movieId,tag,timestamp",
}
# file -> (separator, field count, what the fields are) for the files without a header
PLAIN = {
    "u.data": ("\t", 4, "user id, item id, rating, timestamp"),
    "u.item": ("|", 24, "movie id, title, release date, video date, URL, 19 genre flags"),
    "u.user": ("|", 5, "user id, age, gender, occupation, zip code"),
    "u.genre": ("|", 2, "genre name, index"),
    "ratings.dat": ("::", 4, "UserID, MovieID, Rating, Timestamp"),
    "movies.dat": ("::", 3, "MovieID, Title, Genres"),
    "users.dat": ("::", 5, "UserID, Gender, Age, Occupation, Zip-code"),
}
# ml-1m README: occupation codes
OCCUPATIONS_1M = (
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
    "K-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist",
    "self-employed", "technician/engineer", "tradesman/craftsman", "unemployed", "writer",
)  # fmt: skip


@dataclass(frozen=True)
class Layout:
    """A recognised MovieLens folder on the local disk."""

    kind: str
    """``ml-100k``, ``ml-1m`` or ``ml-latest``."""
    folder: Path
    files: dict[str, str]
    """role -> file name, only the files present."""

    @property
    def dataset(self) -> str:
        """The folder's name (``ml-latest-small``): prefixes reject sources."""
        return self.folder.name

    def source(self, role: str) -> str:
        return f"{self.dataset}/{self.files[role]}"


def detect_layout(folder: Path) -> Layout:
    """Find the MovieLens layout in ``folder`` or its only sub-folder (as zips hold it)."""
    candidates = [folder]
    if folder.is_dir():
        subdirs = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
        candidates += subdirs if len(subdirs) == 1 else []
    for cand in candidates:
        for kind, files in FILES.items():
            if (cand / files["ratings"]).is_file():
                present = {r: n for r, n in files.items() if (cand / n).is_file()}
                missing = sorted(files[r] for r in REQUIRED[kind] - set(present))
                if missing:
                    raise InputError(
                        f"{cand}: looks like {kind} but lacks {', '.join(missing)}; "
                        "expected the files as GroupLens distributes them"
                    )
                return Layout(kind, cand, present)
    raise InputError(
        f"{folder}: no MovieLens layout recognised; expected u.data (ml-100k), ratings.dat "
        "(ml-1m) or ratings.csv (ml-latest, ml-25m, ml-32m) in it or its only sub-folder"
    )


def check_readable(layout: Layout) -> None:
    """Fail before any table is written when a file is empty or not in the expected format
    (reads only each file's first line)."""
    for name in layout.files.values():
        path = layout.folder / name
        first = first_line(path, f"{layout.dataset}/{name}")
        if name in CSV_HEADERS:
            if first.decode("utf-8", "replace").strip() != CSV_HEADERS[name]:
                raise InputError(
                    f"{layout.dataset}/{name}: expected the header {CSV_HEADERS[name]!r}, "
                    f"found {first[:80].decode('utf-8', 'replace')!r}"
                )
        else:
            sep, n, what = PLAIN[name]
            got = len(first.decode("latin-1").split(sep))
            if got != n:
                raise InputError(
                    f"{layout.dataset}/{name}: expected {n} fields separated by {sep!r} "
                    f"({what}); the first line has {got}"
                )


def first_line(path: Path, name: str) -> bytes:
    """The first line of a local file (without its line end); InputError if absent/empty."""
    if not path.is_file():
        raise InputError(f"{name}: file not found at {path}")
    with path.open("rb") as fh:
        head = fh.readline(1 << 16)
    if not head.strip():
        raise InputError(f"{name}: the file is empty (expected data lines)")
    return head.rstrip(b"\r\n")


# ---- parsers ---------------------------------------------------------------------------------
def _field(i: int) -> Column:
    """Field ``i`` (0-based) of the split line, null when the line has fewer."""
    return F.try_element_at(F.col(_F), F.lit(i + 1))


def _lines_split(
    spark: SparkSession,
    path: str,
    source: str,
    sep: str,
    encoding: str,
    csv: bool,
    quoted: bool | None = None,
) -> DataFrame:
    """Lines with their fields; ``csv``: skip the header; ``quoted`` (default ``csv``): fields
    may be quoted (slower split, only for files with text fields)."""
    lines = L.drop_blank(L.read_lines(spark, path, source, encoding))
    if csv:
        lines = L.drop_header(lines)
    quoted = csv if quoted is None else quoted
    if quoted:
        lines = V.flag(lines, (~L.csv_quotes_balanced(F.col(V.RECORD)), V.Reason.MALFORMED_LINE))
        fields = L.split_csv(F.col(V.RECORD), sep)
    else:
        fields = L.split_plain(F.col(V.RECORD), sep)
    return lines.withColumn(_F, fields)


def _ratings(lines: DataFrame, n: int, scale: V.RatingScale) -> DataFrame:
    """Fields user, movie, rating, timestamp (Unix seconds, required)."""
    df = lines.select(
        "*",
        V.parse_int(_field(0)).alias(C.USER_ID),
        V.parse_int(_field(1)).alias(C.MOVIE_ID),
        V.parse_double(_field(2)).alias(C.RATING),
        V.parse_epoch(_field(3)).alias(C.RATED_AT),
    )
    return V.flag(
        df,
        V.field_count_rule(F.col(_F), n),
        *V.id_rules(C.USER_ID, C.MOVIE_ID),
        *V.rating_rules(C.RATING, scale),
        *V.timestamp_rules(_field(3), C.RATED_AT),
    ).drop(_F)


def _movies(
    lines: DataFrame,
    n: int,
    genres: Column,
    release: Column | None = None,
    extra: list[tuple[Column, str]] | None = None,
) -> DataFrame:
    """Fields id, title, ...; ``genres`` an array column built from the fields."""
    title = F.trim(_field(1))
    release_date = release if release is not None else F.lit(None).cast("date")
    df = lines.select(
        "*",
        V.parse_int(_field(0)).alias(C.MOVIE_ID),
        title.alias(C.TITLE),
        F.coalesce(V.year_from_title(title), F.year(release_date)).alias(C.YEAR),
        genres.alias(C.GENRES),
        release_date.alias(C.RELEASE_DATE),
    )
    return V.flag(
        df,
        V.field_count_rule(F.col(_F), n),
        *V.id_rules(C.MOVIE_ID),
        (F.col(C.TITLE) == "", V.Reason.MISSING_VALUE),
        *(extra or []),
    ).drop(_F)


def _users(
    lines: DataFrame, n: int, age: int, gender: int, occupation: Column, zip_code: int
) -> DataFrame:
    raw_age = _field(age)
    df = lines.select(
        "*",
        V.parse_int(_field(0)).alias(C.USER_ID),
        V.parse_int(raw_age).alias(C.AGE),
        F.trim(_field(gender)).alias(C.GENDER),
        occupation.alias(C.OCCUPATION),
        F.trim(_field(zip_code)).alias(C.ZIP_CODE),
    )
    return V.flag(
        df,
        V.field_count_rule(F.col(_F), n),
        *V.id_rules(C.USER_ID),
        ((F.trim(raw_age) != "") & F.col(C.AGE).isNull(), V.Reason.NON_NUMERIC_VALUE),
    ).drop(_F)


def genre_names_100k(path: Path, source: str) -> list[str]:
    """u.genre's names ordered by index. Read on the driver: 19 short lines of metadata that
    shape the parser (the genre flag columns), like a header."""
    names = {}
    for raw in path.read_bytes().decode("latin-1").splitlines():
        name, sep, idx = raw.strip().rpartition("|")
        if not raw.strip():
            continue
        if not sep or not idx.isdigit():
            raise InputError(f"{source}: expected lines 'genre name|index', found {raw!r}")
        names[int(idx)] = name
    if not names:
        raise InputError(f"{source}: no genres listed (expected lines 'genre name|index')")
    return [names[i] for i in sorted(names)]


def parse_100k(spark: SparkSession, layout: Layout, base: str) -> dict[str, DataFrame]:
    def lines(role: str, sep: str) -> DataFrame:
        path = f"{base}/{layout.files[role]}"
        return _lines_split(spark, path, layout.source(role), sep, L.LATIN_1, csv=False)

    names = genre_names_100k(layout.folder / layout.files["genres"], layout.source("genres"))
    flags = [_field(5 + i) for i in range(len(names))]
    genres = F.array_compact(
        F.array(*[F.when(fl == "1", F.lit(g)) for fl, g in zip(flags, names, strict=True)])
    )
    flags_ok = reduce(lambda a, b: a & b, [fl.isin("0", "1") for fl in flags])
    raw_date = F.trim(_field(2))
    release = F.try_to_date(raw_date, "d-MMM-yyyy")
    out = {
        C.T_RATINGS: _ratings(lines("ratings", "\t"), 4, V.FIVE_STARS),
        C.T_MOVIES: _movies(
            lines("movies", "|"),
            5 + len(names),
            genres,
            release,
            [
                (~flags_ok, V.Reason.MALFORMED_LINE),
                ((raw_date != "") & F.col(C.RELEASE_DATE).isNull(), V.Reason.INVALID_DATE),
            ],
        ),
    }
    if "users" in layout.files:
        out[C.T_USERS] = _users(lines("users", "|"), 5, 1, 2, F.trim(_field(3)), 4)
    return out


def parse_1m(spark: SparkSession, layout: Layout, base: str) -> dict[str, DataFrame]:
    def lines(role: str) -> DataFrame:
        path = f"{base}/{layout.files[role]}"
        return _lines_split(spark, path, layout.source(role), "::", L.LATIN_1, csv=False)

    out = {
        C.T_RATINGS: _ratings(lines("ratings"), 4, V.FIVE_STARS),
        C.T_MOVIES: _movies(lines("movies"), 3, V.genre_list(_field(2))),
    }
    if "users" in layout.files:
        code = V.parse_int(_field(3))
        names = F.array(*[F.lit(o) for o in OCCUPATIONS_1M])
        # get (0-based, null out of range) rather than try_element_at(names, code + 1):
        # code + 1 overflows for a code of 2147483647
        occupation = F.coalesce(F.get(names, code), F.trim(_field(3)))
        out[C.T_USERS] = _users(lines("users"), 5, 2, 1, occupation, 4)
    return out


def parse_latest(spark: SparkSession, layout: Layout, base: str) -> dict[str, DataFrame]:
    def lines(role: str, quoted: bool = True) -> DataFrame:
        path = f"{base}/{layout.files[role]}"
        return _lines_split(spark, path, layout.source(role), ",", L.UTF_8, True, quoted)

    out = {
        C.T_RATINGS: _ratings(lines("ratings", quoted=False), 4, V.HALF_STARS),
        C.T_MOVIES: _movies(lines("movies"), 3, V.genre_list(_field(2))),
    }
    if "tags" in layout.files:
        out[C.T_TAGS] = parse_tags(lines("tags"))
    return out


def parse_tags(lines: DataFrame) -> DataFrame:
    """Fields user, movie, tag, timestamp (as in tags.csv)."""
    df = lines.select(
        "*",
        V.parse_int(_field(0)).alias(C.USER_ID),
        V.parse_int(_field(1)).alias(C.MOVIE_ID),
        F.trim(_field(2)).alias(C.TAG),
        V.parse_epoch(_field(3)).alias(C.TAGGED_AT),
    )
    return V.flag(
        df,
        V.field_count_rule(F.col(_F), 4),
        *V.id_rules(C.USER_ID, C.MOVIE_ID),
        (F.col(C.TAG) == "", V.Reason.MISSING_VALUE),
        *V.timestamp_rules(_field(3), C.TAGGED_AT),
    ).drop(_F)


PARSERS = {"ml-100k": parse_100k, "ml-1m": parse_1m, "ml-latest": parse_latest}


def parse(spark: SparkSession, layout: Layout, base: str | None = None) -> dict[str, DataFrame]:
    """Parsed frames by table name; ``base`` is where Spark reads the files (default: the
    local folder; a ``<lake>/_raw/<dataset>`` copy when executors cannot see local disks)."""
    return PARSERS[layout.kind](spark, layout, base or str(layout.folder.resolve()))
