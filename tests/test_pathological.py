"""Regular expressions on hostile text: no catastrophic backtracking, in the grammars or elsewhere.

Every terminal of both grammars (dsl/text/agent.lark, dsl/expr/expr.lark) and the module-level
patterns that scan whole files are matched against long "pumped" strings (a prefix, a piece
repeated thousands of times, a suffix that makes the match fail): exponential or quadratic
backtracking shows as seconds. The matching runs in a child process with a deadline, so a
regression fails the test instead of hanging it. Whole files built the same way must validate
within the fuzzing limit too.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from counterpoint.dsl import check_file

#: Whole run of the child (every pattern, prefix, piece and suffix); it takes a few seconds.
DEADLINE = 60.0
#: One match of a pumped string (a few thousand characters); linear patterns take microseconds.
MATCH_LIMIT = 0.05
#: A whole pathological file (as in the fuzz test).
FILE_LIMIT = 2.0

_CHILD = textwrap.dedent(
    r'''
    import re, sys, time
    from counterpoint.dsl import durations, names
    from counterpoint.dsl.expr.parse import _parser as expr_parser
    from counterpoint.dsl.text import front, parser, printer
    from counterpoint.dsl.yaml import nodes

    patterns = {}
    for grammar, lark in (("agent.lark", parser.parser()), ("expr.lark", expr_parser())):
        for t in lark.terminals:
            patterns[f"{grammar} {t.name}"] = re.compile(t.pattern.to_regexp())
    for module in (durations, names, front, parser, printer, nodes):
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern):
                patterns[f"{module.__name__.rsplit('.', 1)[1]}.{name}"] = value
    # a pattern without repetition (a keyword such as /state\b/) cannot backtrack
    patterns = {k: v for k, v in patterns.items() if any(c in v.pattern for c in "*+{")}
    prefixes = ["", "after", "after ", "after 5", '"', '"""', "'", "#", "0", "1.", "a", "a.", "-", "0x", "when "]
    pieces = [" ", "#1 ", "# ", "#", "\n", "\n#", "a", "0", "1.", ".", "a.", "-", "a-", "\\", '\\"', '"', '""',
              "'", "*", "_", "e", "1e", ":", "a:", " #", "\t", "1s", "1m", "1ms", "0.", "\u00e9"]
    suffixes = ["", "!", "\n@"]
    worst = (0.0, "")
    for name, pattern in patterns.items():
        for prefix in prefixes:
            for piece in pieces:
                for suffix in suffixes:
                    text = prefix + piece * (3000 // len(piece)) + suffix
                    start = time.process_time()
                    pattern.match(text)  # as the lexer does, at one position
                    pattern.fullmatch(text)  # as the name and duration checks do
                    took = time.process_time() - start
                    if took > worst[0]:
                        worst = (took, f"{name} on {prefix!r} + {piece!r} * n + {suffix!r}")
    print(f"{len(patterns)}\t{worst[0]:.6f}\t{worst[1]}", flush=True)
    '''
)


def test_no_pattern_backtracks_catastrophically() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=DEADLINE, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    count, worst, where = done.stdout.strip().split("\t")
    assert int(count) > 20  # both grammars' terminals were found
    assert float(worst) < MATCH_LIMIT, f"{where} took {float(worst):.3f}s"


def _comments(n: int) -> str:
    return " ".join(f"#{i}" for i in range(n))


#: Whole files that once took exponential or quadratic time, or are built to.
PATHOLOGICAL = {
    # the lookahead after `after` split a comment of many `#` in every possible way
    "after_comment.agent": "agent x\ninitial a\nstate a {\n    entry send retry after 5s  # see "
    + _comments(40)
    + "\n}\n",
    "after_comment_long.agent": "agent x\ninitial a\nstate a {\n    entry send retry after 5s  "
    + "# #" * 20_000
    + "\n}\n",
    "after_many_comments.agent": "agent x\ninitial a\nstate a {\n    entry send r after 5s\n"
    + "    # #1 #2 #3\n" * 5_000
    + "}\n",
    "dotted_names.agent": "agent x\ninitial a\nstate a {\n    on " + "a." * 50_000 + " -> a\n}\n",
    "unclosed_string.agent": 'agent x\ninitial a\nstate a {\n    entry say "' + "\\\\x" * 100_000 + "\n}\n",
    "unclosed_verbatim.agent": 'agent x\ndescription """' + '""x' * 100_000 + "\n",
    "duration.agent": "agent x\ninitial a\nstate a {\n    after " + "1s" * 50_000 + "x -> a\n}\n",
    "comment.agent.yaml": "agent: x\n" + "# " * 200_000 + "\n",
    "flow.agent.yaml": "agent: x\nvars: {v: " + "[" * 90 + "]" * 90 + "}\n" + "# " * 100_000,
}


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Build both grammars' parsers first: building them is not what is measured."""
    folder = tmp_path_factory.mktemp("warm")
    for name, text in (("w.agent", "agent w\n"), ("w.agent.yaml", "agent: w\n")):
        (folder / name).write_text(text, encoding="utf-8")
        check_file(folder / name)


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_pathological_file_is_checked_in_time(name: str, tmp_path: Path, warm: None) -> None:
    path = tmp_path / name
    path.write_text(PATHOLOGICAL[name], encoding="utf-8")
    start = time.process_time()
    _, diags = check_file(path)
    took = time.process_time() - start
    assert took < FILE_LIMIT, f"{name} took {took:.2f}s"
    assert all(d.span.line >= 1 for d in diags)
