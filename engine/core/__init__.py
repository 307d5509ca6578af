"""The pure statechart core: compile a resolved model into a :class:`Chart`, then step it.

``start``/``step``/``macrostep`` go from a :class:`Snapshot` to ``(Snapshot, effects)`` and
never block, sleep or import trio; effects are the plain data types of :mod:`.effects`.
"""

from counterpoint.engine.core import effects
from counterpoint.engine.core.chart import Chart, ChartTransition, compile_chart
from counterpoint.engine.core.events import DEFAULT_PRIORITY, Event
from counterpoint.engine.core.snapshot import Snapshot
from counterpoint.engine.core.step import MacrostepResult, macrostep, start, step

__all__ = [
    "Chart", "ChartTransition", "DEFAULT_PRIORITY", "Event", "MacrostepResult", "Snapshot", "compile_chart",
    "effects", "macrostep", "start", "step",
]  # fmt: skip
