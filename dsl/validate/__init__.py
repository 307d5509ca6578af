"""The checks a definition must pass, split by what they check (:mod:`.checks` runs them all).

The entry points (``validate``, ``check_file``, ``check_paths``) are re-exported by
:mod:`counterpoint.dsl`, not here: reading a file goes through the front ends, which use
:mod:`.exprs` from this package, so importing :mod:`.checks` here would be circular.
"""
