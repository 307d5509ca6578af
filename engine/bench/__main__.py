"""``python -m counterpoint.engine.bench``: the statechart benchmark against its peers."""

import sys

from counterpoint.engine.bench.statecharts import main

sys.exit(main())
