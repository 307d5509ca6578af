"""The agent runtime: ledger, prompt rendering, the session that performs a chart's effects."""
