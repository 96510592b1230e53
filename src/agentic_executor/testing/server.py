"""The fake Anthropic Messages API served over real HTTP on 127.0.0.1 (stdlib ThreadingHTTPServer in a
background thread), for tests and benchmarks that drive it through the official ``anthropic`` SDK."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from agentic_executor.testing.engine import COUNT_TOKENS_PATH, MESSAGES_PATH, Exchange, FakeModel, Response
from agentic_executor.testing.scenarios import SCENARIOS, Scenario
from agentic_executor.testing.wire import DEFAULT_SECRET

_SCENARIO_PREFIX = re.compile(r"/s/([^/]+)(/.*)?")
_STREAM_BATCH_BYTES = 4096
"""Without ``stream_delay``, events are sent in chunks of about this size (with it, one by one)."""


class _HTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that can close its open keep-alive connections on shutdown."""

    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: FakeModelServer) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms delayed-ACK stalls
    server: _HTTPServer
    timeout = 60

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.owner.verbose:
            super().log_message(format, *args)

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        owner = self.server.owner
        model = owner.model
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        path = urlsplit(self.path).path
        scenario = owner.scenario_name
        prefixed = _SCENARIO_PREFIX.fullmatch(path)
        if prefixed:
            scenario, path = prefixed.group(1), prefixed.group(2) or "/"
        if method != "POST" or path not in (MESSAGES_PATH, COUNT_TOKENS_PATH):
            self._send(model.error(404, f"{method} {self.path} not found"))
            return
        if scenario not in model.scenarios:
            self._send(model.error(404, f"scenario {scenario!r} not found; known: {sorted(model.scenarios)}"))
            return
        if not (self.headers.get("x-api-key") or self.headers.get("authorization")):
            self._send(model.error(401, "x-api-key header is required"))
            return
        self._send(model.handle(path, scenario, raw))

    def _send(self, response: Response) -> None:
        if not response.stream:
            data = json.dumps(response.body, ensure_ascii=False).encode("utf-8")
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        delay = self.server.owner.stream_delay
        pending = b""
        try:
            for event in response.events():
                pending += event
                if delay or len(pending) >= _STREAM_BATCH_BYTES:
                    self._write_chunk(pending)
                    pending = b""
                if delay:
                    time.sleep(delay)
            if pending:
                self._write_chunk(pending)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode("ascii") + data + b"\r\n")
        self.wfile.flush()


class FakeModelServer:
    """A fake Anthropic Messages API on real HTTP; use as a context manager or start()/stop().

    ``scenario`` is the default scenario (a name in ``SCENARIOS``/``scenarios`` or a Scenario object);
    a request to ``/s/<name>/v1/messages`` (base url ``url_for(name)``) uses scenario ``<name>``."""

    def __init__(
        self,
        scenario: str | Scenario = "builder",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        min_cache_tokens: int = 1024,
        retry_after: float = 0,
        secret: bytes = DEFAULT_SECRET,
        scenarios: Mapping[str, Scenario] | None = None,
        stream_delay: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        verbose: bool = False,
    ) -> None:
        registry: dict[str, Scenario] = {**SCENARIOS, **(scenarios or {})}
        if isinstance(scenario, str):
            if scenario not in registry:
                raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(sorted(registry))}")
            self.scenario_name = scenario
        else:
            self.scenario_name = scenario.name
            registry[scenario.name] = scenario
        self.model = FakeModel(
            registry, min_cache_tokens=min_cache_tokens, retry_after=retry_after, secret=secret, clock=clock
        )
        self.host = host
        self.port = port
        self.stream_delay = stream_delay
        self.verbose = verbose
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeModelServer:
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer((self.host, self.port), self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-model-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._httpd = self._thread = None
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join()

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (used by ``run``)."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def __enter__(self) -> FakeModelServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- addresses and records -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (the SDK appends ``/v1/messages``)."""
        if self._httpd is None:
            raise RuntimeError("FakeModelServer is not started")
        return f"http://{self.host}:{self.port}"

    def url_for(self, scenario: str) -> str:
        """Base url that selects ``scenario`` for every request sent to it."""
        if scenario not in self.model.scenarios:
            raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(sorted(self.model.scenarios))}")
        return f"{self.base_url}/s/{scenario}"

    def add_scenario(self, scenario: Scenario) -> None:
        """Make a custom scenario reachable through ``url_for(scenario.name)``."""
        self.model.scenarios[scenario.name] = scenario

    @property
    def requests(self) -> list[Any]:
        """Every parsed JSON body received on /v1/messages, in order (a snapshot copy)."""
        return self.model.requests

    @property
    def exchanges(self) -> list[Exchange]:
        """Every answered POST (messages and count_tokens) with status and response, in order."""
        return self.model.exchanges

    def reset(self) -> None:
        """Forget recorded requests, retry attempts (flaky) and the prompt cache."""
        self.model.reset()


def run(host: str, port: int, scenario: str) -> None:
    """Serve the fake API on ``host:port`` with default ``scenario`` until interrupted."""
    server = FakeModelServer(scenario, host=host, port=port).start()
    print(f"fake Anthropic Messages API (simulated model) on {server.base_url}, scenario {scenario}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.stop()
