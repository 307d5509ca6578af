"""The core's memo tables stay bounded: a full table starts afresh, and what it forgets is
really gone (no plan's ``next`` pointer keeps the old entries alive)."""

from __future__ import annotations

import gc
import random

import pytest

from counterpoint.engine.bench.memory import parallel_chart
from counterpoint.engine.core import plan
from counterpoint.engine.core.events import Event
from counterpoint.engine.core.step import start, step


def _walk(chart, events: int, seed: int = 3):
    snapshot = start(chart)[0]
    rng = random.Random(seed)
    names = [Event(f"r{r}") for r in range(3)]
    seen = []
    for _ in range(events):
        snapshot = step(chart, snapshot, names[rng.randrange(3)])[0]
        seen.append(snapshot.configuration)
    return snapshot, seen


def test_a_full_table_starts_afresh_and_the_results_do_not_change(monkeypatch: pytest.MonkeyPatch):
    expected = _walk(parallel_chart(3, 6), 3000)[1]  # 216 configurations, under the default bound
    monkeypatch.setattr(plan, "MAX_CONFIGS", 20)
    chart = parallel_chart(3, 6)
    snapshot, seen = _walk(chart, 3000)
    assert seen == expected
    assert len(chart._configs) <= 20 and len(chart._by_ids) <= 20


def test_forgotten_entries_are_collected(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(plan, "MAX_CONFIGS", 20)
    chart = parallel_chart(3, 6)
    _walk(chart, 3000)
    gc.collect()
    alive = [o for o in gc.get_objects() if type(o) is plan.ConfigInfo and o.chart is chart]
    # the table's entries plus the one the last snapshot points to (it may be a forgotten one)
    assert len(alive) <= 21, f"{len(alive)} configurations stay reachable"
