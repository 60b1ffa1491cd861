"""The anchors' exact train/test rows (../shared/ANCHORS.md), reproduced for comparisons only.

ANCHORS.md was measured with Microsoft Recommenders' ``python_stratified_split(filter_by=
"user", ratio=0.75, seed=42)``, which (v1.x, ``_do_stratification``) draws ``np.random.rand``
over the ratings in file order, sorts each user's ratings by that draw and keeps the first
``round(0.75 n)`` in train. ``recsys.evaluation.stratified_split`` shuffles with a hash instead
(distributed, no driver state): the same protocol and per-user counts, a different draw. This
module reproduces the numpy draw exactly (dense EASE, lambda 500, on ml-100k gives the anchors'
0.4799 on these rows, against 0.4754 on the first-version MS split), on the driver with pandas:
a benchmark tool for the small MovieLens zips, never part of the product.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from recsys import columns as C

_FILES = {
    "ml-100k": ("ml-100k/u.data", "\t", None),
    "ml-latest-small": ("ml-latest-small/ratings.csv", ",", 0),
}


def read_ratings_in_file_order(zip_path: Path) -> pd.DataFrame:
    """``user_id, movie_id`` of a MovieLens zip in file order (the order numpy's draw follows)."""
    name = zip_path.name.removesuffix(".zip")
    if name not in _FILES:
        raise ValueError(f"anchor split: only {sorted(_FILES)} (got {zip_path})")
    member, sep, header = _FILES[name]
    with zipfile.ZipFile(zip_path) as z, z.open(member) as f:
        pdf = pd.read_csv(f, sep=sep, header=header, usecols=[0, 1])
    pdf.columns = [C.USER_ID, C.MOVIE_ID]
    return pdf


def ms_stratified_split(
    pdf: pd.DataFrame, ratio: float = 0.75, seed: int = 42
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Microsoft Recommenders' per-user random split, row for row (frames keep MS's order, so
    splitting the train part again carves the anchors' validation split)."""
    data = pdf[[C.USER_ID, C.MOVIE_ID]].copy()
    np.random.seed(seed)
    data["_r"] = np.random.rand(data.shape[0])
    data = data.sort_values([C.USER_ID, "_r"])
    groups = data.groupby(C.USER_ID)
    rank = groups.cumcount() + 1
    cut = (ratio * groups[C.USER_ID].transform("count")).round()
    data = data.drop(columns="_r")
    return data[rank <= cut], data[rank > cut]


def rows_of(ratings: DataFrame, keys: pd.DataFrame) -> DataFrame:
    """The rows of ``ratings`` (a lake table) whose (user, movie) pair is in ``keys``."""
    spark = ratings.sparkSession
    df = spark.createDataFrame(keys.astype("int32")).select(
        F.col(C.USER_ID).cast("int"), F.col(C.MOVIE_ID).cast("int")
    )
    return ratings.join(df, [C.USER_ID, C.MOVIE_ID])
