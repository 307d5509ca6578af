"""The trio runtime: an :class:`Interpreter` runs a chart in real time, hands its effects to
:class:`EffectHandler` objects and reports every macrostep as a :class:`MacrostepRecord`."""

from counterpoint.engine.runtime.interpreter import (
    EffectHandler,
    Interpreter,
    MacrostepRecord,
    RecordingHandler,
)
from counterpoint.engine.runtime.queue import EventQueue
from counterpoint.engine.runtime.trace import JsonlTrace, read_trace

__all__ = [
    "EffectHandler", "EventQueue", "Interpreter", "JsonlTrace", "MacrostepRecord", "RecordingHandler", "read_trace",
]  # fmt: skip
