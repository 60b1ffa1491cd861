"""Ingest: MovieLens (GroupLens layouts), any ratings file, or synthetic data, validated and
upserted into the lake's ratings, movies, tags, users and ingest_rejects tables.

>>> from recsys.ingest import ingest                                  # doctest: +SKIP
>>> summary = ingest(spark, lake, "/data/ml-latest-small.zip")        # doctest: +SKIP
>>> summary.rows["ratings"]                                           # doctest: +SKIP
100836
"""

from recsys.ingest.generic import GenericSource, parse_mapping
from recsys.ingest.run import IngestSummary, ingest
from recsys.ingest.validate import REASONS, RatingScale, Reason

__all__ = [
    "REASONS",
    "GenericSource",
    "IngestSummary",
    "RatingScale",
    "Reason",
    "ingest",
    "parse_mapping",
]
