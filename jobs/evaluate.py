"""spark-submit entry point for `recsys evaluate` (same arguments): `spark-submit jobs/evaluate.py --help`."""

import sys

from recsys.cli import main

if __name__ == "__main__":
    sys.exit(main(["evaluate", *sys.argv[1:]]))
