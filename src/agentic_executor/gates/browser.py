"""One headless Chromium (Debian's ``/usr/bin/chromium``) that every browser gate of a run shares.

It listens for the DevTools protocol on loopback only; Playwright (axe) connects over CDP and
Lighthouse with ``--port``. No browser is ever downloaded: no Chromium, no browser gate.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

# The flags Lighthouse is documented to need here (root, no GPU, no background traffic).
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--no-default-browser-check",
    "--mute-audio",
)
DEFAULT_CHROMIUM = "/usr/bin/chromium"
KEPT_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "TMPDIR", "CHROME_PATH")
"""All the browser and Lighthouse see of our environment: never provider keys or tokens."""
START_TIMEOUT_S = 30.0
REFUSING_PORT = 9
"""The discard port: nothing listens on it here, so a request sent to this "proxy" fails at once."""


def tool_env(home: str) -> dict[str, str]:
    """A minimal environment for the tools that load the agent's pages (they run its JavaScript)."""
    env = {name: os.environ[name] for name in KEPT_ENV if name in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["HOME"] = home
    return env


def confine_to(origin: str) -> list[str]:
    """Flags that send every request except those to ``origin`` to a proxy that refuses them.

    The pages are the agent's, and so is their JavaScript: without this it could reach the
    internet and any service on this machine's loopback (``<-loopback>`` removes Chromium's
    implicit proxy bypass for loopback addresses)."""
    if not origin:
        return []
    netloc = urlsplit(origin).netloc
    return [f"--proxy-server=http://127.0.0.1:{REFUSING_PORT}", f"--proxy-bypass-list=<-loopback>;{netloc}"]


class BrowserUnavailable(Exception):
    """Chromium is missing or would not start; the message says why and how to fix it."""


def find_chromium(configured: str = "") -> str:
    if configured:
        if Path(configured).is_file() or shutil.which(configured):
            return configured
        raise BrowserUnavailable(f"the configured Chromium {configured!r} does not exist")
    if Path(DEFAULT_CHROMIUM).is_file():
        return DEFAULT_CHROMIUM
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise BrowserUnavailable("Chromium is not installed (Debian: apt-get install chromium)")


@dataclass
class Chromium:
    """A running headless Chromium; ``port`` is its DevTools port on 127.0.0.1."""

    process: subprocess.Popen[bytes]
    profile: tempfile.TemporaryDirectory[str]
    port: int
    ws_url: str

    @classmethod
    def launch(cls, executable: str, *, only_origin: str = "") -> Chromium:
        """``only_origin`` (``http://127.0.0.1:PORT``): the one origin pages may load anything from."""
        profile = tempfile.TemporaryDirectory(prefix="agx-chromium-", ignore_cleanup_errors=True)
        log = Path(profile.name, "chromium.log")
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [
                    executable,
                    *CHROME_FLAGS,
                    *confine_to(only_origin),
                    "--remote-debugging-address=127.0.0.1",
                    "--remote-debugging-port=0",
                    f"--user-data-dir={profile.name}",
                    "about:blank",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=sink,
                env=tool_env(profile.name),
            )
        active = Path(profile.name, "DevToolsActivePort")
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            lines = active.read_text().split() if active.exists() else []
            if len(lines) >= 2:
                port = int(lines[0])
                return cls(process, profile, port, f"ws://127.0.0.1:{port}{lines[1]}")
            if process.poll() is not None:
                break
            time.sleep(0.05)
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        _stop(process)
        profile.cleanup()
        raise BrowserUnavailable(f"Chromium ({executable}) did not start: {' | '.join(tail) or 'no output'}")

    def close(self) -> None:
        _stop(self.process)
        for _ in range(20):  # a helper process may still be writing the profile for a moment
            self.profile.cleanup()
            if not Path(self.profile.name).exists():
                return
            time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
