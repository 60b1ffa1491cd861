"""`recsys ingest` flags -> the source handed to ingest() (no Spark needed)."""

from __future__ import annotations

import pytest

from recsys.cli import build_parser
from recsys.cli.ingest import build_source
from recsys.errors import InputError
from recsys.ingest import GenericSource, RatingScale
from recsys.ingest.synthetic import SYNTHETIC_SIZES, SyntheticConfig


def source_of(*flags: str):
    return build_source(build_parser("ingest").parse_args(["ingest", *flags]))


def test_synthetic_flags():
    assert source_of() == SyntheticConfig()
    spec = source_of("--size", "tiny", "--movies", "77", "--seed", "3")
    assert (spec.users, spec.movies, spec.seed) == (SYNTHETIC_SIZES["tiny"].users, 77, 3)


def test_movielens_and_generic_flags():
    assert source_of("--source", "ml-100k") == "ml-100k"
    src = source_of("--ratings", "r.tsv", "--map", "user=1,item=2,rating=3", "--sep", "\\t",
                    "--no-header", "--rating-scale", "1:10:1", "--movies", "m.tsv")  # fmt: skip
    assert src == GenericSource(
        ratings="r.tsv",
        mapping={"user": "1", "item": "2", "rating": "3"},
        movies="m.tsv",
        sep="\t",
        header=False,
        scale=RatingScale(1.0, 10.0, 1.0),
    )
    tagged = source_of("--ratings", "r.csv", "--map", "user=u,item=i,rating=r", "--tags", "t.csv",
                       "--tags-map", "user=a,item=b,tag=c")  # fmt: skip
    assert (tagged.tags, tagged.tags_mapping) == ("t.csv", {"user": "a", "item": "b", "tag": "c"})
    assert source_of("--ratings", "r.csv", "--map", "user=u,item=i,rating=r").tags is None


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--ratings", "r.csv"], "--ratings needs --map"),
        (["--ratings", "r.csv", "--map", "user=a,movie=b"], "expected ROLE=COLUMN"),
        (["--ratings", "r.csv", "--map", "user=a,item=b"], r"--map lacks \['rating'\]"),
        (["--ratings", "r.csv", "--map", "user=a,item=b,rating=c", "--rating-scale", "5:1"],
         "LOW:HIGH"),
        (["--source", "ml-100k", "--size", "tiny"], "need --source synthetic"),
        (["--movies", "films.csv"], "with synthetic data it is a count"),
        (["--size", "huge"], "unknown synthetic size"),
        (["--tags", "t.csv"], "need --ratings"),
        (["--ratings", "r.csv", "--map", "user=a,item=b,rating=c", "--tags", "t.csv",
          "--tags-map", "user=a,film=b"], r"--tags-map entry 'film=b'"),
        (["--ratings", "r.csv", "--map", "user=a,item=b,rating=c", "--tags", "t.csv",
          "--tags-map", "user=a,item=b"], r"--tags-map lacks \['tag'\]"),
    ],
)  # fmt: skip
def test_bad_flags(flags, message):
    with pytest.raises(InputError, match=message):
        source = source_of(*flags)
        if isinstance(source, GenericSource):  # the mapping is checked when the file is parsed
            from recsys.ingest.generic import parse_generic

            parse_generic(None, source)
