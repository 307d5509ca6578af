"""``python -m counterpoint.engine.bench``: the statechart benchmark against its peers;
``python -m counterpoint.engine.bench voice``: the voice pipeline on the embedded models."""

import sys

if sys.argv[1:2] == ["voice"]:
    from counterpoint.engine.bench.voice import main as voice

    sys.exit(voice(sys.argv[2:]))

from counterpoint.engine.bench.statecharts import main

sys.exit(main())
