"""Pictures of sessions: :func:`draw_timeline` draws timed records as a timeline PNG or SVG."""

from counterpoint.engine.viz.timeline import draw_timeline

__all__ = ["draw_timeline"]
