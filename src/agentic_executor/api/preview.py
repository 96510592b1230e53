"""``/preview/{id}/…``: a session's workspace, served read-only for the reviewer.

The path is confined by ``sandbox.paths.resolve_inside`` (no ``..`` or symlink escape, never
``.git``, no hard-linked aliases, regular files only), then opened component by component with
``O_NOFOLLOW`` from the workspace root, so a symlink swapped in between the check and the open
(the agent may still be running) fails instead of being followed. Pages are served with a
``sandbox`` Content-Security-Policy: the agent's scripts run in an opaque origin and cannot
read the API from the reviewer's browser.
"""

from __future__ import annotations

import mimetypes
import os
import stat
from collections.abc import Iterator
from pathlib import Path as FsPath
from typing import Annotated, BinaryIO

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, StreamingResponse

from agentic_executor.api.auth import Reader
from agentic_executor.api.deps import get_app
from agentic_executor.api.errors import documented
from agentic_executor.api.sessions import SessionId
from agentic_executor.errors import NotFound
from agentic_executor.sandbox.paths import ToolError, resolve_inside
from agentic_executor.store import queries

CHUNK = 64 * 1024
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox allow-scripts allow-forms allow-popups allow-modals",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}

router = APIRouter(tags=["preview"], responses=documented(401, 403, 404, 413, 422, 503))


@router.get("/preview/{session_id}", response_class=RedirectResponse, status_code=307)
def preview_root(session_id: SessionId) -> RedirectResponse:
    """Redirect to ``/preview/{id}/``, so that the page's relative links resolve."""
    return RedirectResponse(f"/preview/{session_id}/", status_code=307)


@router.get(
    "/preview/{session_id}/{path:path}",
    response_class=StreamingResponse,
    responses={200: {"content": {"*/*": {}}, "description": "The file, with its content type."}},
)
def preview_file(
    request: Request,
    session_id: SessionId,
    principal: Reader,
    path: Annotated[
        str, Path(max_length=4096, description="A file in the workspace; a directory serves its index.html.")
    ],
) -> StreamingResponse:
    """A file of the session's workspace (a directory serves its ``index.html``)."""
    app = get_app(request)
    with app.db.read() as conn:
        session = queries.get_session_in(conn, session_id, principal.tenant)
    if not session.workspace or not FsPath(session.workspace).is_dir():
        raise NotFound(f"session {session_id} has no workspace yet: it has not started", details={"path": path})
    workspace = FsPath(session.workspace)
    served = path
    fd = _open_inside(workspace, path or ".")
    st = os.fstat(fd)
    if stat.S_ISDIR(st.st_mode):
        os.close(fd)
        served = f"{path.strip('/')}/index.html".lstrip("/")
        fd = _open_inside(workspace, served)
        st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink > 1:
        os.close(fd)
        raise NotFound(f"{path or '/'} is not a file that can be served", details={"path": path})
    return StreamingResponse(
        _chunks(os.fdopen(fd, "rb"), st.st_size),  # a file object: closed even if never read
        media_type=_media_type(served.rsplit("/", 1)[-1]),
        headers={**HEADERS, "Content-Length": str(st.st_size)},
    )


def _open_inside(workspace: FsPath, user_path: str) -> int:
    """An fd of the confined path, opened without following any symlink on the way."""
    try:
        resolved = resolve_inside(workspace, user_path, must_exist=True)
    except ToolError as exc:
        raise NotFound(f"no such file in the preview: {exc}", details={"path": user_path}) from None
    root = workspace.resolve()
    parts = resolved.relative_to(root).parts
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            # O_NONBLOCK: a FIFO swapped in must not hang the server (fstat then refuses it)
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_NONBLOCK if last else os.O_DIRECTORY)
            child = os.open(part, flags, dir_fd=fd)
            os.close(fd)
            fd = child
    except OSError:
        os.close(fd)
        raise NotFound("the file changed while it was being opened: retry", details={"path": user_path}) from None
    return fd


def _media_type(name: str) -> str:
    guessed = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if guessed.startswith("text/") or guessed in ("application/javascript", "application/json", "image/svg+xml"):
        guessed += "; charset=utf-8"
    return guessed


def _chunks(f: BinaryIO, size: int) -> Iterator[bytes]:
    """The file's first ``size`` bytes (what Content-Length promised, even if it grows meanwhile)."""
    with f:
        while size > 0 and (chunk := f.read(min(CHUNK, size))):
            size -= len(chunk)
            yield chunk
