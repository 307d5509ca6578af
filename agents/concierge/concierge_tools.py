"""Tool handlers of the concierge agent: a small, deterministic restaurant directory.

No network: the "restaurants" are a table in this module, so scenario tests and demos
always see the same answers.
"""

from __future__ import annotations

import trio

#: name -> (cuisine, seats, opening hour, closing hour)
RESTAURANTS: dict[str, tuple[str, int, int, int]] = {
    "Chez Marianne": ("french", 8, 18, 23),
    "Le Petit Zinc": ("french", 4, 12, 22),
    "Sukhothai": ("thai", 10, 17, 23),
    "Baan Suan": ("thai", 6, 11, 21),
    "Trattoria Da Enzo": ("italian", 12, 12, 23),
    "Sakura Bar": ("japanese", 6, 18, 24),
}

#: Bookings made so far in this process: (restaurant, time) -> party size.
BOOKINGS: dict[tuple[str, str], int] = {}

#: Simulated seconds a call to one restaurant takes (find_table "phones around").
CALL_SECONDS = 0.01


def _hour(time: str) -> int:
    """The hour of ``19:30``, ``7pm`` or ``19``; ValueError when it is none of those."""
    text = time.strip().lower().replace(" ", "")
    pm = text.endswith("pm")
    text = text.removesuffix("pm").removesuffix("am")
    hour = int(text.split(":")[0].split("h")[0])
    if pm and hour < 12:
        hour += 12
    if not 0 <= hour <= 24:
        raise ValueError(f"not a time of day: {time!r}")
    return hour


def _free_seats(name: str, time: str) -> int:
    taken = sum(n for (r, t), n in BOOKINGS.items() if r == name and t == time)
    return RESTAURANTS[name][1] - taken


async def find_table(cuisine: str, time: str, party: int) -> list[dict[str, object]]:
    """Restaurants of ``cuisine`` with room for ``party`` at ``time`` (best fit first)."""
    hour = _hour(time)
    found = []
    for name, (kind, _seats, opens, closes) in RESTAURANTS.items():
        await trio.sleep(CALL_SECONDS)  # one "phone call" per restaurant
        if kind == cuisine.strip().lower() and opens <= hour < closes and _free_seats(name, time) >= party:
            found.append({"restaurant": name, "time": time, "party": party, "free": _free_seats(name, time)})
    return sorted(found, key=lambda r: (r["free"], r["restaurant"]))


def book_table(restaurant: str, time: str, party: int) -> dict[str, object]:
    """Book ``party`` seats; raises ValueError when the restaurant is unknown or full."""
    if restaurant not in RESTAURANTS:
        raise ValueError(f"unknown restaurant {restaurant!r}")
    if _free_seats(restaurant, time) < party:
        raise ValueError(f"{restaurant} has no table for {party} at {time}")
    BOOKINGS[(restaurant, time)] = BOOKINGS.get((restaurant, time), 0) + party
    return {"restaurant": restaurant, "time": time, "party": party, "reference": f"R{len(BOOKINGS):04d}"}
