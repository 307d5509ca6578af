"""The trio runtime: an :class:`Interpreter` runs a chart in real time, hands its effects to
:class:`EffectHandler` objects and reports every macrostep as a :class:`StepRecord`;
``Interpreter.save``/``Interpreter.resume`` keep and continue its whole state (:data:`SAVE_FORMAT`)."""

from counterpoint.engine.runtime.interpreter import (
    SAVE_FORMAT,
    EffectHandler,
    Interpreter,
    RecordingHandler,
    StepRecord,
)
from counterpoint.engine.runtime.queue import EventQueue
from counterpoint.engine.runtime.trace import JsonlTrace, read_trace

__all__ = [
    "SAVE_FORMAT", "EffectHandler", "EventQueue", "Interpreter", "JsonlTrace", "RecordingHandler", "StepRecord",
    "read_trace",
]  # fmt: skip
