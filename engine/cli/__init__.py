"""The ``counterpoint`` command line: one module per command, wired together in :mod:`.app`."""

from counterpoint.engine.cli.app import main

__all__ = ["main"]
