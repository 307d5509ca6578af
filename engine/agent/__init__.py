"""The agent runtime: ledger, prompt rendering, the session that performs a chart's effects.

``open_session(path, backend, options)`` loads a definition and returns an
:class:`~counterpoint.engine.runtime.Interpreter` wired to a new :class:`AgentSession`;
``load_definition(path)`` does the loading once for many sessions (:class:`Definition`).
:class:`SessionOptions` and :class:`SessionLimits` say how a session runs,
:class:`TextSpeaker` speaks into text, and the :class:`Ledger` is the conversation record.
"""

from counterpoint.engine.agent.ledger import Ledger
from counterpoint.engine.agent.loading import Definition, SessionOptions, load_definition, open_session
from counterpoint.engine.agent.session import AgentSession, SessionLimits
from counterpoint.engine.agent.speaker import TextSpeaker

__all__ = [
    "AgentSession", "Definition", "Ledger", "SessionLimits", "SessionOptions", "TextSpeaker", "load_definition",
    "open_session",
]  # fmt: skip
