"""``python -m recsys.cli``: the ``recsys`` command without the installed script."""

import sys

from recsys.cli import main

sys.exit(main())
