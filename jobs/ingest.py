"""spark-submit entry point for `recsys ingest`; takes the same arguments (see --help)."""

import sys

from recsys.cli import main

if __name__ == "__main__":
    sys.exit(main(["ingest", *sys.argv[1:]]))
