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

# --- evaluation and ALS (issue 3) ---
DATASET = "dataset"
SPLIT = "split"
MODEL = "model"
PARAMS = "params"
METRIC = "metric"
K = "k"
VALUE = "value"
CREATED_AT = "created_at"
FEATURES = "features"
ID = "id"
T_METRICS = "metrics"
T_ALS_USER_FACTORS = "als_user_factors"
T_ALS_ITEM_FACTORS = "als_item_factors"
T_ALS_CANDIDATES = "als_candidates"
T_ALS_SEARCH = "als_search"

# ---- content model (issue 4) ----
TOKENS = "tokens"
BECAUSE_MOVIE_ID = "because_movie_id"
NEIGHBOR_TITLE = "neighbor_title"
T_MOVIE_NEIGHBORS = "movie_neighbors"
T_CONTENT_SCORES = "content_scores"

# ---- blend, item-kNN, recommendations (issue 5) ----
SUPPORT = "support"
WEIGHT = "weight"
TERM = "term"
ALS_SCORE = "als_score"
CONTENT_SCORE = "content_score"
ITEMKNN_SCORE = "itemknn_score"
EASE_SCORE = "ease_score"
USERKNN_SCORE = "userknn_score"
POPULARITY_SCORE = "popularity_score"
GENERATED_AT = "generated_at"
SIMILAR_MOVIE_ID = "similar_movie_id"
CONTENT_SIMILARITY = "content_similarity"
CF_SIMILARITY = "cf_similarity"
HISTORY_SIZE = "history_size"
HISTORY_BUCKET = "history_bucket"
RATING_COUNT = "rating_count"
MEAN_RATING = "mean_rating"
T_RECOMMENDATIONS = "recommendations"
T_SIMILAR_MOVIES = "similar_movies"
T_ITEM_NEIGHBORS = "item_neighbors"
T_FEEDBACK = "feedback"
