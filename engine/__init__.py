"""counterpoint.engine: the pure statechart core and the trio runtime around it.

The core: ``compile`` (= ``compile_chart``) turns a resolved agent model into a
:class:`Chart`; ``start``/``step``/``macrostep`` run it purely, from :class:`Snapshot` to
``(Snapshot, effects)``. Effects are the plain data types in :mod:`.effects`.
"""

from counterpoint.engine.core import effects
from counterpoint.engine.core.chart import Chart, ChartTransition, compile_chart
from counterpoint.engine.core.events import DEFAULT_PRIORITY, Event
from counterpoint.engine.core.snapshot import Snapshot
from counterpoint.engine.core.step import Macrostep, macrostep, start, step

compile = compile_chart  # noqa: A001 - the documented name of the compiler

__all__ = [
    "Chart", "ChartTransition", "DEFAULT_PRIORITY", "Event", "Macrostep", "Snapshot", "compile",
    "compile_chart", "effects", "macrostep", "start", "step",
]  # fmt: skip
