"""Browser tests: Debian's chromium driven by Playwright for Python, against `docloop serve`.

Chromium comes from the system (`/usr/bin/chromium`, installed by `make
test`'s set-up); Playwright only speaks the DevTools protocol to it, so
`playwright install` is never run. Each server is a real `docloop serve`
subprocess on a free port over its own DOCLOOP_HOME. Screenshots go to
tests/browser/artifacts/ (docs/screenshots/ keeps a committed copy).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
WEBHOOK_SECRET = "browser-test-webhook-secret"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@dataclass
class Server:
    """A running `docloop serve` and where it keeps its state."""

    url: str
    home: Path
    process: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def docloop_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a docloop subprocess: this one, cleaned, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DOCLOOP_", "LINEAR_", "DISCORD_", "OPENAI_"))}
    return env | {"DOCLOOP_HOME": str(home), "LINEAR_WEBHOOK_SECRET": WEBHOOK_SECRET} | extra


def docloop(*args: str, env: dict[str, str]) -> None:
    """Run a docloop command to completion (it must succeed)."""
    done = subprocess.run([sys.executable, "-m", "docloop.cli", *args], env=env,
                          capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]


def start_server(home: Path, host: str = "127.0.0.1", **env: str) -> Server:
    """`docloop serve` on a free port, once /healthz answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "docloop.cli", "serve", "--host", host, "--port", str(port)],
        env=docloop_env(home, **env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            raise AssertionError(f"docloop serve exited {process.returncode}: {stderr}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return Server(url, home, process)
        except httpx.TransportError:
            time.sleep(0.1)
    process.terminate()
    raise AssertionError("docloop serve did not answer /healthz within 30 s")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session (skipped, with the reason, when absent)."""
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is not installed (`make test` installs Debian's chromium "
                    "as root: apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (pip install -e .[dev])")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page, failing on any JS dialog."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()


def screenshot(page: Any, name: str) -> None:
    """Keep what a person saw, full page, under tests/browser/artifacts/."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def copy_example(tmp: Path) -> Path:
    """A private copy of the bundled example (tests must not write into the repo)."""
    source = Path(__file__).resolve().parents[2] / "examples" / "tidepool"
    target = tmp / "tidepool"
    shutil.copytree(source, target)
    return target
