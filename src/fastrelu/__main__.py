"""``python -m fastrelu`` is the ``fastrelu`` command (see ``fastrelu.cli``)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
