"""`counterpoint run`, `replay` and `export`: headless runs, recordings, replay, pinned tests, data sets,
the live view in a pseudo-terminal, Ctrl-C and kill -9."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from counterpoint.engine.agent.replay import replay
from counterpoint.engine.runtime.recording import RecordingError, read_recording

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "tests" / "sessions"
CONCIERGE = ROOT / "agents" / "concierge" / "concierge.agent.yaml"
CLI = [sys.executable, "-m", "counterpoint.engine"]
STARTED = "2026-01-01T09:00:00+00:00"


def cli(*args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env=env)


def scripted_run(tmp_path: Path, agent: Path = CONCIERGE, *extra: str) -> subprocess.CompletedProcess[str]:
    return cli("run", str(agent), "--llm", f"scripted:{HERE / 'replies.yaml'}", "--script", str(HERE / "user.txt"),
               "--virtual-time", "--started-at", STARTED, *extra)


def test_headless_run_prints_the_golden_transcript(tmp_path: Path) -> None:
    done = scripted_run(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (HERE / "concierge.golden.txt").read_text(encoding="utf-8")
    assert "Traceback" not in done.stderr


def test_piped_input_is_a_script() -> None:
    done = cli("run", str(CONCIERGE), "--llm", f"scripted:{HERE / 'replies.yaml'}", "--virtual-time",
               stdin="+3s thai for two at eight\n")
    assert done.returncode == 0, done.stderr
    assert "user: thai for two at eight" in done.stdout
    assert "tool find_table (call1) done" in done.stdout


def test_loading_problems_are_positioned_and_nothing_runs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.agent.yaml"
    bad.write_text("agent: bad\ninitial: a\nstates:\n  a: {on: {go: nowhere}}\n", encoding="utf-8")
    record = tmp_path / "s.jsonl"
    done = cli("run", str(bad), "--script", str(HERE / "user.txt"), "--record", str(record))
    assert done.returncode == 1
    assert "bad.agent.yaml:4:" in done.stderr and "Traceback" not in done.stderr
    assert not record.exists()


def test_a_bad_script_line_is_positioned(tmp_path: Path) -> None:
    script = tmp_path / "user.txt"
    script.write_text("+1s hello\n+soon what?\n", encoding="utf-8")
    done = cli("run", str(CONCIERGE), "--llm", f"scripted:{HERE / 'replies.yaml'}", "--script", str(script))
    assert done.returncode == 1
    assert f"{script}:2:1: '+soon' is not a time" in done.stderr


def test_record_then_replay_gives_the_same_configurations_and_ledger(tmp_path: Path) -> None:
    record = tmp_path / "s.jsonl"
    assert scripted_run(tmp_path, CONCIERGE, "--record", str(record)).returncode == 0
    recording = read_recording(record)
    assert recording.header["format"] == "counterpoint.recording/1"
    assert recording.header["hash"].startswith("sha256:")
    kinds = {e["kind"] for e in recording.entries}
    assert {"input", "step", "llm.start", "llm.text", "llm.call", "llm.end", "end"} <= kinds
    result = replay(recording)
    assert result.ok, (result.divergence, result.ledger_difference)
    assert result.steps == len(recording.steps) > 10
    done = cli("replay", str(record))
    assert done.returncode == 0 and "same configurations and the same ledger" in done.stdout


def test_replay_reports_the_first_divergence_with_its_position(tmp_path: Path) -> None:
    agent_dir = tmp_path / "concierge"
    shutil.copytree(CONCIERGE.parent, agent_dir)
    agent = agent_dir / CONCIERGE.name
    record = tmp_path / "s.jsonl"
    assert scripted_run(tmp_path, agent, "--record", str(record)).returncode == 0
    text = agent.read_text(encoding="utf-8")
    agent.write_text(text.replace("tool.find_table.started: {target: searching",
                                  "tool.find_table.started: {target: chat"), encoding="utf-8")
    done = cli("replay", str(record))
    assert done.returncode == 1
    line = next(n for n, t in enumerate(agent.read_text().splitlines(), 1) if "tool.find_table.started:" in t)
    assert f"concierge.agent.yaml:{line}:" in done.stdout
    assert "event tool.find_table.started" in done.stdout
    assert "recorded: tool.find_table.started -> [call, dialog, emitting, booking, searching]" in done.stdout
    assert "now:      tool.find_table.started -> [call, dialog, emitting, booking, chat]" in done.stdout
    assert "changed since the recording" in done.stderr


def test_to_test_writes_a_scenario_that_passes(tmp_path: Path) -> None:
    record = tmp_path / "s.jsonl"
    assert scripted_run(tmp_path, CONCIERGE, "--record", str(record)).returncode == 0
    out = tmp_path / "pinned.test.yaml"
    done = cli("replay", str(record), "--to-test", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "send: \"tool.find_table.done\"" in out.read_text()
    tested = cli("test", str(out))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "1 passed" in tested.stdout


def test_export_writes_chat_examples(tmp_path: Path) -> None:
    record = tmp_path / "s.jsonl"
    assert scripted_run(tmp_path, CONCIERGE, "--record", str(record)).returncode == 0
    out = tmp_path / "data.jsonl"
    done = cli("export", str(record), "--format", "chat", "-o", str(out))
    assert done.returncode == 0, done.stderr
    examples = [json.loads(line) for line in out.read_text().splitlines()]
    assert examples  # the cancelled first turn is left out, the answered one is in
    for example in examples:
        messages = example["messages"]
        assert messages[0]["role"] == "system" and "2026-01-01" in messages[0]["content"]
        assert all(m["role"] in ("system", "user", "assistant", "tool") for m in messages)
        answer = messages[-1]
        assert answer["role"] == "assistant" and (answer.get("content") or answer.get("tool_calls"))
        for call in answer.get("tool_calls", []):
            assert call["type"] == "function" and json.loads(call["function"]["arguments"]) is not None
        for tool in example.get("tools", []):
            assert tool["type"] == "function" and "parameters" in tool["function"]
    assert any(m["content"] == "It is a quarter past seven." for e in examples for m in e["messages"][-1:])
    everything = cli("export", str(record), "--include-cut")
    assert len(everything.stdout.splitlines()) >= len(examples)


@pytest.mark.parametrize("content, message", [
    (b"", "empty file"),
    (b"hello world\n", "not a counterpoint recording"),
    (b'{"kind": "header", "format": "other/1"}\n', "format 'other/1'"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
])
def test_foreign_files_get_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(content)
    with pytest.raises(RecordingError, match=message):
        read_recording(bad)
    done = cli("replay", str(bad))
    assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr


def test_a_bad_line_in_the_middle_names_the_line(tmp_path: Path) -> None:
    record = tmp_path / "s.jsonl"
    assert scripted_run(tmp_path, CONCIERGE, "--record", str(record)).returncode == 0
    lines = record.read_text().splitlines(keepends=True)
    lines[3] = "{oops\n"
    record.write_text("".join(lines))
    with pytest.raises(RecordingError, match=r"s.jsonl:4: not a recording entry"):
        read_recording(record)


def test_a_torn_last_line_is_reported_and_replay_goes_up_to_the_cut(tmp_path: Path) -> None:
    record = tmp_path / "s.jsonl"
    assert scripted_run(tmp_path, CONCIERGE, "--record", str(record)).returncode == 0
    data = record.read_bytes()
    lines = data.splitlines(keepends=True)
    cut = b"".join(lines[: len(lines) // 2]) + lines[len(lines) // 2][:20]
    record.write_bytes(cut)
    recording = read_recording(record)
    assert recording.torn is not None and "cut off" in recording.torn
    assert recording.end is None
    result = replay(recording)
    assert result.ok and result.steps == len(recording.steps)
    done = cli("replay", str(record))
    assert done.returncode == 0 and "up to where the recording was cut" in done.stdout
    assert "warning:" in done.stderr


@pytest.mark.slow
def test_kill_9_loses_nothing_already_written(tmp_path: Path) -> None:
    """A real-time session killed mid-way: every complete line is there and replays."""
    script = tmp_path / "user.txt"
    script.write_text("+0.2s thai for two at eight\n+0.5s what time is it?\n+30s still there?\n", encoding="utf-8")
    record = tmp_path / "s.jsonl"
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen([*CLI, "run", str(CONCIERGE), "--llm", f"scripted:{HERE / 'replies.yaml'}",
                             "--script", str(script), "--record", str(record)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the search result is recorded
        if record.exists() and b"tool.find_table.done" in record.read_bytes():
            break
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    recording = read_recording(record)
    assert recording.end is None
    assert any(s["event"] and s["event"]["name"] == "tool.find_table.done" for s in recording.steps)
    result = replay(recording)
    assert result.ok, result.divergence
    assert result.steps == len(recording.steps)


@pytest.mark.slow
def test_ctrl_c_ends_cleanly_cancelling_tools_and_closing_the_recording(tmp_path: Path) -> None:
    agent = ROOT / "agents" / "travel" / "travel.agent.yaml"
    script = tmp_path / "user.txt"
    script.write_text("+0.1s check the trains to Lyon\n+60s anything else?\n", encoding="utf-8")
    replies = tmp_path / "replies.yaml"
    replies.write_text("- say: Sure.\n", encoding="utf-8")
    record = tmp_path / "s.jsonl"
    proc = subprocess.Popen([*CLI, "run", str(agent), "--llm", f"scripted:{replies}", "--script", str(script),
                             "--record", str(record)], cwd=ROOT, env={**os.environ, "NO_COLOR": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if record.exists() and b"tool.find_trains.started" in record.read_bytes():
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "stopped by Ctrl-C" in out
    recording = read_recording(record)
    assert recording.end is not None and recording.end["reason"] == "stopped by Ctrl-C"
    outcomes = [e for e in recording.end["ledger"]["entries"] if e["type"] == "tool_outcome"]
    assert [o["status"] for o in outcomes] == ["cancelled"]


# --------------------------------------------------------------------------- the live view


class Terminal:
    """A pseudo-terminal running the CLI: type into it, read what it drew."""

    def __init__(self, *args: str) -> None:
        import fcntl
        import struct
        import termios

        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 110, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "110", "LINES": "40"}
        env.pop("NO_COLOR", None)
        def controlling_terminal() -> None:  # as in a real terminal: Ctrl-C becomes SIGINT
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen([*CLI, *args], stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=env,
                                     close_fds=True, preexec_fn=controlling_terminal)
        os.close(slave)
        self.screen = b""

    def read_until(self, needle: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle.encode() in self.screen:
                return self.screen.decode("utf-8", "replace")
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.screen += os.read(self.master, 65536)
                except OSError:
                    break
        raise AssertionError(f"{needle!r} never appeared; the terminal shows:\n{self.screen[-3000:].decode(errors='replace')}")

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())


@pytest.mark.slow
def test_the_live_view_in_a_pseudo_terminal(tmp_path: Path) -> None:
    replies = tmp_path / "replies.yaml"
    replies.write_text(
        "- say: Let me tell you a long story about the restaurants of this town, one by one, slowly.\n"
        "- say: Of course, stopping here.\n", encoding="utf-8")
    record = tmp_path / "live.jsonl"
    term = Terminal("run", str(CONCIERGE), "--llm", f"scripted:{replies}", "--record", str(record), "--pace", "15")
    term.read_until("Where would you like")  # the greeting is being spoken
    term.read_until("states")
    term.type("hello\r")  # interrupts the greeting
    term.read_until("user: hello")
    term.read_until("a long story")  # the answer is spoken word by word
    term.type("stop please\r")  # text barge-in while the agent speaks
    term.read_until("user: stop please")
    term.read_until("[interrupted]")
    term.read_until("Of course, stopping here.")
    term.type("/quit\r")
    term.read_until("ended by the user")
    assert term.proc.wait(timeout=30) == 0
    recording = read_recording(record)
    said = [s["event"]["data"] for s in recording.steps if s["event"] and s["event"]["name"] == "agent.said"]
    story = "Let me tell you a long story about the restaurants of this town, one by one, slowly."
    cut = [d for d in said if d["interrupted"] and d["text"] and story.startswith(d["text"])]
    assert cut and len(cut[0]["text"]) < len(story), said
    assert replay(recording).ok


# --------------------------------------------------------------------------- voice from the command line


@pytest.mark.slow
def test_a_voice_session_from_a_script_records_replays_and_draws(tmp_path: Path) -> None:
    """The caller's lines are synthesised, heard, recognised; the call, the timeline and the recording
    are written, and the recording replays without any model."""
    import wave

    agent = ROOT / "agents" / "travel" / "travel.agent.yaml"
    replies = tmp_path / "replies.yaml"
    replies.write_text("- say: I am checking the trains.\n- say: Pack a warm coat.\n", encoding="utf-8")
    call, timeline, record = tmp_path / "call.wav", tmp_path / "timeline.png", tmp_path / "s.jsonl"
    done = cli("run", str(agent), "--script", str(ROOT / "agents" / "travel" / "showcase.txt"), "--voice",
               "--llm", f"scripted:{replies}", "--virtual-time", "--audio-out", str(call), "--timeline",
               str(timeline), "--record", str(record), timeout=600)
    assert done.returncode == 0, done.stderr
    assert "user: Can you check the trains" in done.stdout
    assert "tool find_trains (find_trains#1) done" in done.stdout and "trains to Paris leave at" in done.stdout
    assert "voice to voice" in done.stdout
    with wave.open(str(call)) as w:
        assert w.getnchannels() == 2 and w.getframerate() == 16000 and w.getnframes() > 16000 * 5
    assert timeline.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    recording = read_recording(record)
    inputs = [e["name"] for e in recording.of_kind("input")]
    assert inputs.count("user.said") == 2 and "user.speech.started" in inputs
    result = replay(recording)
    assert result.ok, (result.divergence, result.ledger_difference)


@pytest.mark.slow
def test_voice_problems_are_clear_errors(tmp_path: Path) -> None:
    agent = ROOT / "agents" / "travel" / "travel.agent.yaml"
    bad = tmp_path / "noise.wav"
    bad.write_bytes(b"RIFF0000WAVEjunk")
    done = cli("run", str(agent), "--audio-in", str(bad), "--llm", f"scripted:{HERE / 'replies.yaml'}")
    assert done.returncode == 1 and "noise.wav" in done.stderr and "Traceback" not in done.stderr
    done = cli("run", str(agent), "--timeline", str(tmp_path / "t.png"), "--script", str(HERE / "user.txt"))
    assert done.returncode == 2 and "--timeline draws voice sessions" in done.stderr


@pytest.mark.slow
def test_ctrl_c_in_the_live_view_cancels_the_tool_and_closes_the_recording(tmp_path: Path) -> None:
    replies = tmp_path / "replies.yaml"
    replies.write_text("- say: I am checking the trains for you right now.\n", encoding="utf-8")
    record = tmp_path / "live.jsonl"
    term = Terminal("run", str(ROOT / "agents" / "travel" / "travel.agent.yaml"), "--llm", f"scripted:{replies}",
                    "--record", str(record))
    term.read_until("states")
    term.type("check the trains to Paris\r")
    term.read_until("find_trains")  # the search runs: the view lists it
    term.type("\x03")
    term.read_until("stopped by Ctrl-C")
    assert term.proc.wait(timeout=30) == 0
    end = read_recording(record).end
    assert end is not None and end["reason"] == "stopped by Ctrl-C"
    outcomes = [e for e in end["ledger"]["entries"] if e["type"] == "tool_outcome"]
    assert [o["status"] for o in outcomes] == ["cancelled"]
