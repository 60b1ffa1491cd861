"""Ingest's parts: MovieLens layouts, any ratings file, the synthetic generator, and the
validation rules every record passes. The job that writes the lake's ratings, movies, tags,
users and ingest_rejects tables is :mod:`recsys.jobs.ingest`::

    from recsys.jobs.ingest import ingest
    summary = ingest(spark, lake, "/data/ml-latest-small.zip")
    summary.rows["ratings"]                                           # 100836
"""

from recsys.ingest.generic import GenericSource, parse_mapping
from recsys.ingest.validate import REASONS, RatingScale, Reason

__all__ = [
    "REASONS",
    "GenericSource",
    "RatingScale",
    "Reason",
    "parse_mapping",
]
