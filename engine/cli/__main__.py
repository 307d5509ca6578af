"""``python -m counterpoint.engine.cli``: the same as the ``counterpoint`` command."""

import sys

from counterpoint.engine.cli import main

sys.exit(main())
