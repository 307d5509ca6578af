"""LLM backends behind one streaming, cancellable interface (:mod:`.base`)."""
