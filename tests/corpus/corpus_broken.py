"""A tool module that fails while being imported."""

raise RuntimeError("corpus module broken on purpose")
