"""Just enough of the Chrome DevTools protocol to log into a page, click, wait and take a screenshot.

``chromium --screenshot`` cannot set the cookie Airflow's UI logs in with, so we start
headless chromium with ``--remote-debugging-port`` and talk to its page over a websocket.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = "/usr/bin/chromium"


class CdpError(RuntimeError):
    pass


class Chromium:
    """Headless chromium in a profile of its own; ``async with Chromium() as browser: page = await browser.page()``."""

    def __init__(self, binary: str = CHROMIUM, width: int = 1400, height: int = 1000) -> None:
        self.binary = binary
        self.width, self.height = width, height
        self._profile = Path(tempfile.mkdtemp(prefix="erp-outbound-chromium-"))
        self._process: asyncio.subprocess.Process | None = None
        self._http: aiohttp.ClientSession | None = None
        self.endpoint = ""

    async def __aenter__(self) -> Chromium:  # noqa: PYI034 (never subclassed)
        self._process = await asyncio.create_subprocess_exec(
            self.binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--hide-scrollbars", "--remote-debugging-port=0", f"--user-data-dir={self._profile}",
            f"--window-size={self.width},{self.height}", "about:blank",
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        port_file = self._profile / "DevToolsActivePort"  # chromium writes its port here
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if self._process.returncode is not None or time.monotonic() > deadline:
                raise CdpError(f"{self.binary} did not open its debugging port")
            await asyncio.sleep(0.2)
        self.endpoint = f"http://127.0.0.1:{port_file.read_text().split()[0]}"
        self._http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc) -> None:
        if self._http:
            await self._http.close()
        if self._process and self._process.returncode is None:
            self._process.terminate()
            try:
                await asyncio.wait_for(self._process.wait(), timeout=10)
            except asyncio.TimeoutError:
                self._process.kill()
                await self._process.wait()
        if self._process:
            with contextlib.suppress(ProcessLookupError):  # its renderer and helper processes
                os.killpg(self._process.pid, signal.SIGKILL)
        shutil.rmtree(self._profile, ignore_errors=True)

    async def page(self) -> Page:
        async with self._http.get(f"{self.endpoint}/json/list") as answer:
            targets = await answer.json()
        target = next(t for t in targets if t["type"] == "page")
        socket = await self._http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        page = Page(socket)
        await page.call("Page.enable")
        await page.resize(self.width, self.height)
        return page


class Page:
    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self._socket = socket
        self._ids = itertools.count(1)

    async def call(self, method: str, params: dict | None = None) -> dict:
        message_id = next(self._ids)
        await self._socket.send_str(json.dumps({"id": message_id, "method": method, "params": params or {}}))
        async for message in self._socket:  # events arrive in between; we wait for our answer
            data = json.loads(message.data)
            if data.get("id") == message_id:
                if "error" in data:
                    raise CdpError(f"{method}: {data['error']}")
                return data.get("result", {})
        raise CdpError(f"{method}: the browser closed the connection")

    async def resize(self, width: int, height: int) -> None:
        await self.call("Emulation.setDeviceMetricsOverride",
                        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    async def set_cookie(self, url: str, name: str, value: str) -> None:
        await self.call("Network.setCookie", {"url": url, "name": name, "value": value, "path": "/"})

    async def goto(self, url: str) -> None:
        await self.call("Page.navigate", {"url": url})

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                      "awaitPromise": True})
        if "exceptionDetails" in result:
            raise CdpError(f"{expression[:80]}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, what: str, timeout: float = 30) -> Any:
        """The first truthy value of a JavaScript expression (the UI renders after its API calls answer)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = await self.evaluate(expression)
            except CdpError:  # e.g. no document.body yet while the page loads
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                text = await self.evaluate("document.body ? document.body.innerText.slice(0, 300) : ''")
                raise CdpError(f"waited {timeout:.0f} s for {what}; the page shows: {text!r}")
            await asyncio.sleep(0.5)

    async def click(self, element: str, what: str, timeout: float = 30) -> None:
        """A real mouse click in the middle of the element a JavaScript expression finds (widgets ignore .click())."""
        box = await self.wait_for(
            f"(() => {{ let e; try {{ e = {element}; }} catch (_) {{ return null; }}"  # not rendered yet
            f" if (!e) return null; e.scrollIntoView({{block: 'center'}});"
            f" const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()",
            what, timeout)
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            await self.call("Input.dispatchMouseEvent",
                            {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1})

    async def screenshot(self, path: Path) -> None:
        data = await self.call("Page.captureScreenshot", {"format": "png"})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data["data"]))
