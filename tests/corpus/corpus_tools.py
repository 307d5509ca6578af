"""Handlers for the broken-input corpus."""


def ok() -> str:
    return "ok"
