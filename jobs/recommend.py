"""spark-submit entry point for `recsys recommend`; takes the same arguments (see --help)."""

import sys

from recsys.cli import main

if __name__ == "__main__":
    sys.exit(main(["recommend", *sys.argv[1:]]))
