"""Handlers for the golden diagnostic inputs."""


def ok() -> str:
    return "ok"
