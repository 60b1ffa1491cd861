"""spark-submit entry point for `recsys train-als` (same arguments): `spark-submit jobs/train_als.py --help`."""

import sys

from recsys.cli import main

if __name__ == "__main__":
    sys.exit(main(["train-als", *sys.argv[1:]]))
