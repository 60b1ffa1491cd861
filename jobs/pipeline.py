"""spark-submit entry point for `recsys pipeline`; takes the same arguments (see --help)."""

import sys

from recsys.cli import main

if __name__ == "__main__":
    sys.exit(main(["pipeline", *sys.argv[1:]]))
