"""Tool handlers of the desk test agent: waits are trio sleeps, so virtual under MockClock."""

from __future__ import annotations

import trio

DELAYS = {"slow": 5.0, "quick": 0.5}


async def lookup(query: str) -> dict[str, str]:
    await trio.sleep(DELAYS.get(query.split()[0], 1.0))
    return {"answer": f"facts about {query}"}


async def hang() -> None:
    await trio.sleep_forever()


def boom() -> None:
    raise RuntimeError("the backend of boom is down")
