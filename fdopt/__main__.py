"""``python -m fdopt``: the same as the ``fdopt`` command."""

import sys

from fdopt.cli import main

if __name__ == "__main__":
    sys.exit(main())
