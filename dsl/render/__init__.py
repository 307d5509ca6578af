"""Statechart diagrams of a model, drawn with Graphviz."""

from counterpoint.dsl.render.graphviz import FORMATS, RenderError, render, to_dot

__all__ = ["FORMATS", "RenderError", "render", "to_dot"]
