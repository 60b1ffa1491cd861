"""spark-submit entry point for `recsys recommend` (same arguments): `spark-submit jobs/recommend.py --help`."""

import sys

from recsys.cli import main

if __name__ == "__main__":
    sys.exit(main(["recommend", *sys.argv[1:]]))
