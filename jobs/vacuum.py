"""spark-submit entry point for `recsys vacuum`; takes the same arguments (see --help)."""

import sys

from recsys.cli import main

if __name__ == "__main__":
    sys.exit(main(["vacuum", *sys.argv[1:]]))
