"""recsys: movie recommendations as distributed Spark jobs writing Delta tables."""

__version__ = "0.1.0"
