"""Files shipped with the package (Spark logging configuration)."""
