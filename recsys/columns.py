"""Column and table names shared by every module: the only place these strings are spelled.

Import as ``from recsys import columns as C`` and write ``C.USER_ID``.
"""

# keys
USER_ID = "user_id"
MOVIE_ID = "movie_id"
NEIGHBOR_ID = "neighbor_id"

# ratings / tags
RATING = "rating"
RATED_AT = "rated_at"
TAG = "tag"
TAGGED_AT = "tagged_at"

# movies
TITLE = "title"
YEAR = "year"
GENRES = "genres"
RELEASE_DATE = "release_date"

# users
AGE = "age"
GENDER = "gender"
OCCUPATION = "occupation"
ZIP_CODE = "zip_code"

# ingest rejects
SOURCE = "source"
LINE_NUMBER = "line_number"
RECORD = "record"
REASON = "reason"
INGESTED_AT = "ingested_at"

# model outputs
SCORE = "score"
RANK = "rank"
SIMILARITY = "similarity"
PREDICTION = "prediction"
RUN_ID = "run_id"

# table names in the lake
T_RATINGS = "ratings"
T_MOVIES = "movies"
T_TAGS = "tags"
T_USERS = "users"
T_REJECTS = "ingest_rejects"

# ---- content model (issue 4) ----
TOKENS = "tokens"
BECAUSE_MOVIE_ID = "because_movie_id"
NEIGHBOR_TITLE = "neighbor_title"
T_MOVIE_NEIGHBORS = "movie_neighbors"
T_CONTENT_SCORES = "content_scores"
