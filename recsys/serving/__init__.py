"""Serving the lake over HTTP (``recsys serve``): :mod:`recsys.serving.app` builds the FastAPI
app (``create_app``, ``serve``); the snapshot, fold-in recommender and feedback committer live
beside it. Nothing here starts Spark. This package itself exports only :class:`ServeConfig`, so
the jobs can read the ``serve`` section without loading FastAPI."""

from recsys.serving._config import ServeConfig

__all__ = ["ServeConfig"]
