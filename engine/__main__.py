"""``python -m counterpoint.engine``: the same as the ``counterpoint`` command."""

import sys

from .cli import main

sys.exit(main())
