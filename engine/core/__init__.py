"""The pure statechart core: compile a resolved model into a Chart, then step it.

Its public names (``Chart``, ``compile``, ``start``, ``step``, ``macrostep``, ``Snapshot``,
``Event``, ``effects`` ...) are exported by :mod:`counterpoint.engine`; they are not
re-exported here, where the function ``step`` would hide the module ``step``.
"""
