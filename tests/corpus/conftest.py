"""The scenario files here are broken on purpose: tests/test_corpus.py checks their diagnostics,
so the scenario plugin must not collect them as tests."""

collect_ignore_glob = ["*.test.yaml"]
