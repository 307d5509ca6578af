"""Real servers on 127.0.0.1 for the LLM backend tests: a llama.cpp chat server running the
embedded GGUF in a child process, and a tiny HTTP server that answers with scripted statuses."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from counterpoint.engine.llm.embedded import default_model_path

# The child loads the model, prints its address, and serves until its stdin closes.
_CHILD = """
import sys, xllamacpp
params = xllamacpp.CommonParams()
params.model.path = sys.argv[1]
params.n_ctx = 4096
params.port = 0
params.warmup = False
params.verbosity = -1
params.use_jinja = True
params.cpuparams.n_threads = 1
params.cpuparams_batch.n_threads = 1
server = xllamacpp.Server(params)
print(server.listening_address, flush=True)
sys.stdin.read()
"""


@contextmanager
def model_server(timeout: float = 60.0) -> Iterator[str]:
    """Start the llama.cpp server on a free loopback port; yield its base URL (``.../v1``)."""
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(default_model_path())],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        address = proc.stdout.readline().strip()
        if not address.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the model server did not start (it printed {address!r})")
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{address}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the model server never became ready")
            time.sleep(0.05)
        yield f"{address}/v1"
    finally:
        proc.kill()
        proc.wait(timeout=10)


@dataclass
class Reply:
    """One answer; ``cut`` sends only that many bytes of the body, then closes the connection."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str = '{"error": {"message": "scripted"}}'
    cut: int | None = None


@dataclass
class Seen:
    at: float
    path: str
    headers: dict[str, str]  # names in lower case
    body: str


def sse_events(events: Sequence[dict[str, object]]) -> Reply:
    """A 200 answer streaming these chunk objects (id, object, created and model filled in)."""
    chunks = [{"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m", **event}
              for event in events]
    body = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + "data: [DONE]\n\n"
    return Reply(200, {"Content-Type": "text/event-stream"}, body)


def sse_answer(text: str) -> Reply:
    """A 200 answer streaming ``text`` one character a chunk, as OpenAI-compatible servers do."""
    return sse_events([{"choices": [{"index": 0, "delta": {"content": char}}]} for char in text]
                      + [{"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}])


@contextmanager
def status_server(replies: Sequence[Reply]) -> Iterator[tuple[str, list[Seen]]]:
    """Answer POSTs with ``replies`` in order (the last one repeats); yield (base URL, requests seen)."""
    seen: list[Seen] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the http.server naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            seen.append(Seen(time.monotonic(), self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            reply = replies[min(len(seen), len(replies)) - 1]
            payload = reply.body.encode()
            self.send_response(reply.status)
            headers = {"Content-Type": "application/json", **reply.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload if reply.cut is None else payload[: reply.cut])
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep the test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    finally:
        server.shutdown()
        server.server_close()
