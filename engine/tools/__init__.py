"""Tool execution: handlers bound from a definition, run in the background, outcomes as events."""
