"""counterpoint.engine: the pure statechart core and the trio runtime around it.

``load_chart(path)`` reads, validates and compiles a definition file into a :class:`Chart`
(raising :class:`DiagnosticError` with the diagnostics when it is not valid); ``compile``
(= ``compile_chart``) does the same for a resolved :class:`~counterpoint.dsl.model.Agent`.
``start``/``step``/``macrostep`` run a chart purely, from :class:`Snapshot` to
``(Snapshot, effects)``; effects are the plain data types in :mod:`.effects`.

The trio side lives in :mod:`counterpoint.engine.runtime` (:class:`Interpreter`) and the test
tools in :mod:`counterpoint.engine.testing` (:class:`Harness`); neither is imported here, so
using the core never loads trio.
"""

from counterpoint.dsl.diagnostics import DiagnosticError
from counterpoint.engine.core import effects
from counterpoint.engine.core.chart import Chart, ChartTransition, compile_chart
from counterpoint.engine.core.events import DEFAULT_PRIORITY, Event
from counterpoint.engine.core.snapshot import Snapshot
from counterpoint.engine.core.step import Macrostep, macrostep, start, step
from counterpoint.engine.loading import load_chart

compile = compile_chart  # the documented name of the compiler

__all__ = [
    "Chart", "ChartTransition", "DEFAULT_PRIORITY", "DiagnosticError", "Event", "Macrostep", "Snapshot",
    "compile", "compile_chart", "effects", "load_chart", "macrostep", "start", "step",
]  # fmt: skip
