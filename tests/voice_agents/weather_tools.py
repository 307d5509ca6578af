"""The weather agent's slow forecast tool (fixed answers, no network)."""

import trio


async def forecast(city: str) -> dict[str, object]:
    """Takes 8 seconds, like a slow weather service."""
    await trio.sleep(8)
    return {"city": city, "sky": "sunny", "high_c": 21}
