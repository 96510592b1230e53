"""Serve a folder on 127.0.0.1 (an ephemeral port) while the gates look at it: ``serve_folder``.

Invariant: only files inside the folder are ever served. A path is resolved (symlinks too) and
refused with 404 when it lands outside the folder or inside ``.git``; directory listings are off.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_NOWHERE = "/nonexistent-agx-gates-path"


_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".woff2": "font/woff2",
    ".json": "application/json",
    ".wasm": "application/wasm",
}


class _FolderHandler(SimpleHTTPRequestHandler):
    def guess_type(self, path: str | Any) -> str:
        return _TYPES.get(Path(str(path)).suffix.lower()) or super().guess_type(path)

    def translate_path(self, path: str) -> str:
        candidate = Path(super().translate_path(path))  # already drops '..' and drive parts
        root = Path(self.directory).resolve()
        try:
            inside = candidate.resolve().relative_to(root)
        except ValueError:
            return _NOWHERE
        if ".git" in inside.parts:
            return _NOWHERE
        return str(root / inside)

    def list_directory(self, path: str | Any) -> None:
        self.send_error(404, "Not found")
        return None

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the gates report what matters."""


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Yield the base URL (``http://127.0.0.1:PORT/``) of ``folder`` served in a thread."""
    handler = partial(_FolderHandler, directory=str(folder.resolve()))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="agx-gates-preview", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
