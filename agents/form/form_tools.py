"""Tool handlers of the delivery form: offline postcode and phone checks, a local outbox.

The postcode table is a small built-in sample, so checks are deterministic and need no
network.
"""

from __future__ import annotations

import re

#: postcode -> city, a sample of French postcodes.
POSTCODES: dict[str, str] = {
    "75001": "paris",
    "75011": "paris",
    "69001": "lyon",
    "13001": "marseille",
    "31000": "toulouse",
    "33000": "bordeaux",
}

#: Forms submitted in this process, in order.
OUTBOX: list[dict[str, str]] = []


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def check_postcode(postcode: str, city: str) -> bool:
    """True when ``postcode`` (spaces and dashes ignored) belongs to ``city``."""
    return POSTCODES.get(_digits(postcode)) == city.strip().lower()


def check_phone(phone: str) -> bool:
    """True for a ten-digit French number, or an international one starting with +."""
    digits = _digits(phone)
    if phone.strip().startswith("+"):
        return 8 <= len(digits) <= 15
    return len(digits) == 10 and digits.startswith("0")


async def submit_form(name: str, street: str, postcode: str, city: str, phone: str) -> str:
    """Store the form and return its reference (``D0001``, ``D0002``…)."""
    if not all(v.strip() for v in (name, street, postcode, city, phone)):
        raise ValueError("every field of the form is required")
    OUTBOX.append(
        {"name": name, "street": street, "postcode": _digits(postcode), "city": city, "phone": phone}
    )
    return f"D{len(OUTBOX):04d}"
