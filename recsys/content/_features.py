"""TF-IDF + L2 normalisation + LSH as one pyspark.ml Pipeline, fitted and saved together.

Vectors are L2-normalised, so for two movies ``|a - b|^2 = 2 - 2 cos(a, b)``: Euclidean
distance is monotone in cosine similarity, and BucketedRandomProjectionLSH (a Euclidean LSH)
finds cosine neighbours. The LSH model is the pipeline's last stage so its random projections
are saved with the vocabulary and reused by every later query.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.feature import (
    IDF,
    BucketedRandomProjectionLSH,
    BucketedRandomProjectionLSHModel,
    CountVectorizer,
    CountVectorizerModel,
    Normalizer,
)
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, IntegerType, StringType, StructField, StructType

from recsys import columns as C

HASHES = "hashes"
_TF = "_tf"
_TFIDF = "_tfidf"


@dataclass(frozen=True)
class ContentConfig:
    """Content model settings; defaults chosen by ``benchmarks/content.py`` (docs/content.md)."""

    min_df: float = 2.0
    """Tokens found in fewer movies are dropped: they cannot make two movies similar and only
    dilute the vector of the one movie that has them."""
    vocab_size: int = 1 << 18
    """Largest vocabulary CountVectorizer keeps (most frequent tokens first)."""
    bucket_length: float = 2.0
    """Width of an LSH bucket along one random projection, in units of ``1/sqrt(V)`` (V = the
    vocabulary size): projections of unit vectors onto a random unit direction in V dimensions
    are ~N(0, 1/V), so Spark's ``bucketLength`` is ``bucket_length / sqrt(V)`` and the same
    setting means the same thing for a 500-token and a 50,000-token vocabulary."""
    num_hash_tables: int = 4
    """Independent projections; a pair is a candidate when it shares a bucket in any of them.
    Default (2.0, 4): the fewest candidate pairs with recall@20 safely above 0.90 on
    ml-latest-small (simulated 0.972, measured 0.975 in Spark; 4.0 x 2 simulated 0.904 but
    measured 0.892 in Spark;
    ``benchmarks/content.py curve`` / ``lsh``, docs/content.md)."""
    seed: int = 42
    """Seed of the LSH projections."""
    exact_max_rows_per_pair: float = 4.0
    """``method="auto"`` computes neighbours exactly while the inverted-index join
    (:meth:`ContentModel.exact_join_rows`) has at most this many rows per movie pair, with LSH
    beyond. Any LSH setting reaching recall@20 >= 0.9 makes most pairs candidates on the
    catalogues measured (docs/content.md), and a candidate costs more than a join row (hashing, a
    distance, de-duplication): ml-latest-small at 1.1 rows per pair ran exactly in 67 s, every
    such LSH setting took > 240 s. Long documents (plots, many tags) share many tokens per
    pair, and that is where LSH pays."""

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def similarity_from_distance(distance: str) -> F.Column:
    """Cosine similarity of two unit vectors from their Euclidean distance."""
    return 1.0 - F.col(distance) * F.col(distance) / 2.0


def distance_for_similarity(similarity: float) -> float:
    """Euclidean distance below which two unit vectors have cosine above ``similarity``."""
    return math.sqrt(max(0.0, 2.0 - 2.0 * similarity))


class ContentEstimator:
    """Fits the content pipeline on documents from :func:`build_documents`.

    >>> model = ContentEstimator().fit(documents)          # doctest: +SKIP
    >>> model.save("/lake/_models/content/run-1")           # doctest: +SKIP
    >>> ContentModel.load("/lake/_models/content/run-1").transform(documents)  # doctest: +SKIP
    """

    def __init__(self, params: ContentConfig | None = None):
        self.params = params or ContentConfig()

    def tfidf(self) -> Pipeline:
        p = self.params
        return Pipeline(
            stages=[
                CountVectorizer(
                    inputCol=C.TOKENS, outputCol=_TF, minDF=p.min_df, vocabSize=p.vocab_size
                ),
                IDF(inputCol=_TF, outputCol=_TFIDF),
                Normalizer(inputCol=_TFIDF, outputCol=C.FEATURES, p=2.0),
            ]
        )

    def fit(self, documents: DataFrame) -> ContentModel:
        """TF-IDF stages first; the LSH stage is sized from the fitted vocabulary."""
        tfidf = self.tfidf().fit(documents)
        p = self.params
        return ContentModel(tfidf).with_lsh(p.bucket_length, p.num_hash_tables, p.seed)


_TOKEN, _IDF, _COUNT = "_token", "_idf", "_count"


class ContentModel:
    """A fitted content pipeline: documents -> (movie_id, features, hashes)."""

    def __init__(self, pipeline_model: PipelineModel):
        self.pipeline_model = pipeline_model

    @property
    def lsh(self) -> BucketedRandomProjectionLSHModel:
        return self.pipeline_model.stages[-1]

    @property
    def vocabulary(self) -> list[str]:
        """Token of each feature index (model state, bounded by ``vocab_size``)."""
        stage = self.pipeline_model.stages[0]
        assert isinstance(stage, CountVectorizerModel)
        return list(stage.vocabulary)

    def exact_join_rows(self) -> float:
        """Rows of the exact inverted-index join: the sum over weighted tokens of the movie
        pairs sharing it, ``df (df - 1) / 2``, from the fitted IDF's document frequencies
        (model state: no pass over the data)."""
        idf = self.pipeline_model.stages[1]
        return float(
            sum(
                df * (df - 1) / 2
                for df, w in zip(idf.docFreq, idf.idf.toArray(), strict=True)
                if w > 0
            )
        )

    def movie_pairs(self) -> float:
        """Unordered pairs of the documents the model was fitted on (model state)."""
        n = self.pipeline_model.stages[1].numDocs
        return n * (n - 1) / 2

    def _terms(self, spark) -> DataFrame:
        """(token, term index, idf) of the vocabulary tokens with a non-zero idf: model state,
        bounded by ``vocab_size``."""
        cv, idf = self.pipeline_model.stages[0], self.pipeline_model.stages[1]
        rows = [
            (token, i, float(w))
            for i, (token, w) in enumerate(zip(cv.vocabulary, idf.idf.toArray(), strict=True))
            if w > 0
        ]
        schema = StructType(
            [
                StructField(_TOKEN, StringType(), False),
                StructField(C.TERM, IntegerType(), False),
                StructField(_IDF, DoubleType(), False),
            ]
        )
        return spark.createDataFrame(rows, schema)

    def term_weights(self, documents: DataFrame) -> DataFrame:
        """(movie_id, term, weight): the non-zero entries of each movie's unit TF-IDF vector,
        computed in SQL with the fitted vocabulary and idf (the same numbers the pipeline's
        vectors hold), for joins that need vector entries as rows."""
        counts = (
            documents.select(C.MOVIE_ID, F.explode(C.TOKENS).alias(_TOKEN))
            .groupBy(C.MOVIE_ID, _TOKEN)
            .agg(F.count("*").alias(_COUNT))
        )
        weighted = counts.join(F.broadcast(self._terms(documents.sparkSession)), _TOKEN).select(
            C.MOVIE_ID, C.TERM, (F.col(_COUNT) * F.col(_IDF)).alias(C.WEIGHT)
        )
        norm = F.sqrt(F.sum(F.col(C.WEIGHT) * F.col(C.WEIGHT)).over(Window.partitionBy(C.MOVIE_ID)))
        return weighted.select(C.MOVIE_ID, C.TERM, (F.col(C.WEIGHT) / norm).alias(C.WEIGHT))

    def transform(self, documents: DataFrame) -> DataFrame:
        """Unit TF-IDF vectors and LSH hashes. Movies none of whose tokens has a non-zero
        weight (no token in the vocabulary, or only tokens every movie has) would get a zero
        vector, close to nothing; they are dropped."""
        keep = self.term_weights(documents).select(C.MOVIE_ID).distinct()
        out = self.pipeline_model.transform(documents.join(keep, C.MOVIE_ID, "left_semi"))
        return out.select(C.MOVIE_ID, C.FEATURES, HASHES)

    def with_lsh(self, bucket_length: float, num_hash_tables: int, seed: int = 42) -> ContentModel:
        """The same TF-IDF stages with a (new) LSH stage; ``bucket_length`` is relative, see
        :attr:`ContentConfig.bucket_length`."""
        tfidf = self.pipeline_model.stages[:3]
        vocabulary = tfidf[0].vocabulary
        lsh = BucketedRandomProjectionLSH(
            inputCol=C.FEATURES,
            outputCol=HASHES,
            bucketLength=bucket_length / math.sqrt(max(1, len(vocabulary))),
            numHashTables=num_hash_tables,
            seed=seed,
        )
        fitted = lsh.fit(_one_vector(len(vocabulary)))
        return ContentModel(PipelineModel(stages=[*tfidf, fitted]))

    def save(self, path: str) -> None:
        self.pipeline_model.write().overwrite().save(path)

    @classmethod
    def load(cls, path: str) -> ContentModel:
        return cls(PipelineModel.load(path))


def _one_vector(size: int) -> DataFrame:
    """BucketedRandomProjectionLSH.fit only needs the vector size: one row is enough."""
    from pyspark.ml.linalg import SparseVector, VectorUDT
    from pyspark.sql import SparkSession
    from pyspark.sql.types import StructField, StructType

    spark = SparkSession.getActiveSession()
    assert spark is not None
    schema = StructType([StructField(C.FEATURES, VectorUDT(), False)])
    return spark.createDataFrame([(SparseVector(max(1, size), [0], [1.0]),)], schema)
