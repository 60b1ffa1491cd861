"""spark-submit entry point for `recsys train-content`; takes the same arguments (see --help)."""

import sys

from recsys.cli import main

if __name__ == "__main__":
    sys.exit(main(["train-content", *sys.argv[1:]]))
