"""spark-submit entry point for `recsys train-content` (same arguments): `spark-submit jobs/train_content.py --help`."""

import sys

from recsys.cli import main

if __name__ == "__main__":
    sys.exit(main(["train-content", *sys.argv[1:]]))
