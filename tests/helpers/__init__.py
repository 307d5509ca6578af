"""Helpers shared by several test modules (``pyproject.toml`` puts ``tests/`` on the path).

- :mod:`.models`: Hypothesis strategies for random, structurally valid agent models.
- :mod:`.oracle_build`, :mod:`.oracle_gen`, :mod:`.oracle_psm`: charts built in Python,
  random charts and event sequences, and the python-statemachine reference they are checked
  against.
- :mod:`.llm_servers`: loopback HTTP servers standing in for an OpenAI-compatible endpoint.
- :mod:`.steps`: stepping a chart through events and picking effects out.
"""
