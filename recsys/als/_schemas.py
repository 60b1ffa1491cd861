"""Schemas of the tables the ALS job writes (names in :mod:`recsys.columns`)."""

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DoubleType,
    FloatType,
    IntegerType,
    StringType,
    StructField,
    StructType,
)

from recsys import columns as C
from recsys.schemas import RECS

# als_user_factors / als_item_factors: one row per user (movie); explicit runs with biases store
# the augmented vectors [p, 1, mu + b_u] / [q, b_m, 1] so a dot product is the full prediction.
FACTORS = StructType(
    [
        StructField(C.ID, IntegerType(), False),
        StructField(C.FEATURES, ArrayType(FloatType(), False), False),
        StructField(C.RUN_ID, StringType(), False),
    ]
)

# als_candidates: the recommendation contract plus the run that produced it.
CANDIDATES = StructType([*RECS.fields, StructField(C.RUN_ID, StringType(), False)])

# als_search: one row per grid point of a run's validation search.
SEARCH = StructType(
    [
        StructField(C.RUN_ID, StringType(), False),
        StructField(C.DATASET, StringType(), False),
        StructField("mode", StringType(), False),
        StructField(C.PARAMS, StringType(), False),
        StructField("objective", StringType(), False),
        StructField("rmse", DoubleType(), True),
        StructField("ndcg", DoubleType(), True),
        StructField("precision", DoubleType(), True),
        StructField("fit_s", DoubleType(), True),
        StructField("chosen", BooleanType(), False),
    ]
)
