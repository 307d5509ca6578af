"""A scenario test from a replayed session: the recorded behaviour, pinned.

The scenario tests the chart alone (docs/testing.md): it plays the outside world exactly as
it was recorded (the user's events, the model's and the tools' events, with the recorded
waits between them) and after each event checks the configuration the session reached. Timer
events and events the chart sends itself are left out: the chart produces them again.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from counterpoint.engine.agent.loading import Definition
from counterpoint.engine.agent.replay import ReplayResult
from counterpoint.engine.core.effects import SendEvent, StartTool
from counterpoint.engine.runtime.recording import Recording


def _flow(value: Any) -> str:
    """A YAML flow value (JSON is YAML: strings quoted, so the scalar rules cannot change them)."""
    return json.dumps(value, ensure_ascii=False)


def scenario_from_replay(definition: Definition, recording: Recording, result: ReplayResult, out: str) -> str:
    chart = definition.chart
    agent = os.path.relpath(os.path.abspath(definition.path), os.path.abspath(Path(out).parent))
    name = f"recorded session {recording.path.name}"
    lines = [
        f"# Pinned from {recording.path.name} by 'counterpoint replay --to-test': the recorded session,",
        "# replayed against the chart alone. Re-create it after a deliberate change of behaviour.",
        f"agent: {_flow(agent)}",
        "scenarios:",
        f"  - name: {_flow(name)}",
    ]
    records = result.records
    if any(r.event is not None and r.event.name.startswith("error.") for r in records):
        lines.append("    allow_errors: true")
    lines.append("    steps:")
    steps: list[str] = []
    if records:
        steps.append(f"      - in: {_flow(list(records[0].configuration))}")
    sends: Counter[str] = Counter()
    chart_calls: set[str] = set()
    last_ms = round(records[0].time * 1000) if records else 0
    for k, record in enumerate(records):
        event = record.event
        if event is not None and k > 0:
            kind = event.name.rsplit(".", 1)[-1]
            if event.name in chart.timer_of_event:
                pass
            elif sends[event.name] > 0:
                sends[event.name] -= 1
            elif event.name.startswith("tool.") and kind == "timeout" and event.data.get("call_id") in chart_calls:
                pass  # a chart's call times out by itself in the scenario too
            else:
                now_ms = round(record.time * 1000)
                if now_ms > last_ms:
                    steps.append(f"      - wait: {now_ms - last_ms}ms")
                    last_ms = now_ms
                steps.append(f"      - send: {_flow(event.name)}")
                if event.data:
                    steps.append(f"        data: {_flow(dict(event.data))}")
                steps.append(f"      - in: {_flow(list(record.configuration))}")
        for effect in record.effects:
            if isinstance(effect, SendEvent):
                sends[effect.event.name] += 1
            elif isinstance(effect, StartTool):
                chart_calls.add(effect.call_id)
    if records:
        final = records[-1]
        steps.append(f"      - in: {_flow(list(final.configuration))}")
        variables = {k: v for k, v in final.variables.items() if not k.startswith("_")}
        if variables:
            steps.append(f"      - vars: {_flow(variables)}")
        steps.append(f"      - finished: {'true' if result.finished else 'false'}")
    return "\n".join(lines + steps) + "\n"

