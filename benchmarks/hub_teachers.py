"""Teachers for bench_hub.py: as the server sees them (the protocol), and one in a real browser.

:class:`ProtocolTeacher` is a teacher as JupyterHub's own load tester (yuvipanda/hubtraf, ``hubtraf/user.py``)
simulates a user: no browser, a small state machine over one HTTP session and the kernel's websocket, each step
timed and kept as a structured event. Its steps are what a browser sends the server and nothing else: the hub's
login form, the dashboard's page (the OAuth round trip included), the page's kernel websocket, the widgets' state
(ipywidgets' ``jupyter.widget.control`` comm: ``request_states``, as the page's widget manager asks), the upload
as the FileUpload widget's comm message (``update`` of ``value``, the photos as binary buffers), and the result
read from the attendance table's widget state (the HTML of each ``sa-status-<student>`` widget). What a browser
adds on the teacher's phone (drawing, its JavaScript, the page's static files from its cache) is not the server's.

:func:`chromium_teacher` is the same teacher in Chromium (Playwright), whose page is checked to show the result.
"""
from __future__ import annotations

import asyncio
import html
import json
import re
import time
import uuid
from pathlib import Path

#: The stage line of the page tells where each photo is: "NAME: waiting for a free worker: 3 photos ahead of it,
#: about 12 s… (0%)".
WAITING = re.compile(r"^(?P<photo>.+?): waiting for a free worker: (?P<ahead>\d+) photos? ahead of it, "
                     r"about (?P<seconds>\d+) s")
#: ipywidgets' control protocol (``jupyter.widget.control``) that the page speaks.
CONTROL_PROTOCOL = "1.0.0"
TAG = re.compile(r"<[^>]+>")
TIMEOUT = 900
#: The password of the benchmarks' teachers.
PASSWORD = "bench-Teacher-pass-4242"


def _text(value: str) -> str:
    return html.unescape(TAG.sub("", value or "")).strip()


def _message(kind: str, content: dict, session: str, buffers: list[bytes] = (), metadata: dict | None = None) -> dict:
    header = {"msg_id": uuid.uuid4().hex, "msg_type": kind, "username": "", "session": session,
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "version": "5.3"}
    return {"channel": "shell", "header": header, "parent_header": {}, "metadata": metadata or {}, "content": content,
            "buffers": list(buffers)}


def _put_buffers(state: dict, paths: list, buffers: list) -> None:
    """ipywidgets' buffer paths: each buffer put back where the kernel took it out of the state."""
    for path, buffer in zip(paths, buffers):
        target = state
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = buffer


class ProtocolTeacher:
    """One teacher at the protocol level; ``events`` holds every step as ``(seconds since start, step, details)``."""

    def __init__(self, hub_url: str, name: str, password: str, service: str = "/services/dashboard/"):
        self.hub_url, self.name, self.password, self.service = hub_url.rstrip("/"), name, password, service
        self.events: list[tuple[float, str, dict]] = []
        self.models: dict[str, dict] = {}  # comm id -> widget state
        self.stages: list[tuple[float, str]] = []  # the stage line, each time it changed
        self._start = time.monotonic()
        self._session_id = uuid.uuid4().hex
        self._changed = asyncio.Event()
        self._socket = None
        self._reader = None

    def _event(self, step: str, **details) -> float:
        now = time.monotonic() - self._start
        self.events.append((now, step, details))
        return now

    # ----- the steps -------------------------------------------------------------------------------------------

    async def sign_in(self) -> float:
        """The login form, the dashboard's page, its kernel's websocket and its widgets; seconds until the upload
        button's widget is known (a browser shows the button then)."""
        self._start = time.monotonic()
        self._event("login-start")
        cookies, page = await asyncio.to_thread(self._log_in_and_open_page)
        self._event("page", bytes=len(page))
        config = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S)
        kernel = json.loads(config.group(1))["kernelId"]
        await self._connect(kernel, cookies)
        self._event("kernel-websocket")
        await self._request_states()
        upload = self._model("sa-upload-photos")
        seconds = self._event("dashboard", widgets=len(self.models))
        if upload is None:
            raise RuntimeError(f"{self.name}: no upload button among the page's {len(self.models)} widgets")
        return seconds

    def _log_in_and_open_page(self) -> tuple[str, str]:
        import requests

        session = requests.Session()
        session.get(f"{self.hub_url}/hub/login", timeout=TIMEOUT)
        xsrf = session.cookies.get("_xsrf", "")
        answer = session.post(f"{self.hub_url}/hub/login", data={"username": self.name, "password": self.password,
                                                                  "_xsrf": xsrf}, timeout=TIMEOUT)
        if not answer.url.startswith(self.hub_url + self.service) or answer.status_code != 200:
            raise RuntimeError(f"{self.name}: signed in to {answer.url} ({answer.status_code}), not the dashboard")
        cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies if c.path.startswith(self.service))
        return cookies, answer.text

    async def _connect(self, kernel: str, cookies: str) -> None:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        url = (f"{self.hub_url.replace('http', 'ws', 1)}{self.service}api/kernels/{kernel}/channels"
               f"?session_id={self._session_id}")
        request = HTTPRequest(url, headers={"Cookie": cookies, "Origin": self.hub_url}, connect_timeout=TIMEOUT,
                              request_timeout=TIMEOUT)
        self._socket = await websocket_connect(request, max_message_size=512 * 1024 * 1024)
        self._reader = asyncio.ensure_future(self._read())

    def _send(self, kind: str, content: dict, buffers: list[bytes] = (), metadata: dict | None = None) -> None:
        from jupyter_server.services.kernels.connection.base import serialize_binary_message

        message = _message(kind, content, self._session_id, buffers, metadata)
        if buffers:
            self._socket.write_message(serialize_binary_message(message), binary=True)
        else:
            message.pop("buffers")
            self._socket.write_message(json.dumps(message))

    async def _read(self) -> None:
        from jupyter_server.services.kernels.connection.base import deserialize_binary_message

        while True:
            received = await self._socket.read_message()
            if received is None:
                return
            message = deserialize_binary_message(received) if isinstance(received, bytes) else json.loads(received)
            self._heard(message)

    def _heard(self, message: dict) -> None:
        kind = message["header"]["msg_type"]
        content, buffers = message.get("content", {}), message.get("buffers", [])
        if kind == "comm_open" and content.get("target_name") == "jupyter.widget":
            data = content.get("data", {})
            state = data.get("state", {})
            _put_buffers(state, data.get("buffer_paths", []), buffers)
            self.models[content["comm_id"]] = state
        elif kind == "comm_msg":
            data = content.get("data", {})
            if data.get("method") == "update_states":  # the answer to request_states: every widget
                states = data.get("states", {})
                _put_buffers(states, data.get("buffer_paths", []), buffers)
                for model, entry in states.items():
                    self.models[model] = entry.get("state", {})
            elif data.get("method") in ("update", "echo_update"):
                state = data.get("state", {})
                _put_buffers(state, data.get("buffer_paths", []), buffers)
                self.models.setdefault(content["comm_id"], {}).update(state)
                if "value" in state and content["comm_id"] == self._stage_model():
                    self.stages.append((time.monotonic(), _text(state["value"])))
        self._changed.set()

    async def _request_states(self) -> None:
        control = uuid.uuid4().hex
        # The page's widget manager (ipywidgets 8's control protocol, version 1) asks for every widget's state.
        self._send("comm_open", {"comm_id": control, "target_name": "jupyter.widget.control", "data": {}},
                   metadata={"version": CONTROL_PROTOCOL})
        self._send("comm_msg", {"comm_id": control, "data": {"method": "request_states"}})
        await self._until(lambda: self._model("sa-upload-photos") is not None, "the dashboard's widgets")

    async def _until(self, condition, what: str, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self._reader.done():
                raise RuntimeError(f"{self.name}: the kernel's websocket closed while waiting for {what}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), max(0.1, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                raise RuntimeError(f"{self.name}: no {what} after {timeout:.0f} s") from None

    def _model(self, css_class: str) -> str | None:
        return next((m for m, s in self.models.items() if css_class in (s.get("_dom_classes") or ())), None)

    def _stage_model(self) -> str | None:
        return self._model("sa-progress-text")

    def statuses(self, students) -> dict[str, str]:
        """The attendance table as the page shows it: student id -> status (the status widget's text)."""
        out = {}
        for sid in students:
            model = self._model(f"sa-status-{sid}")
            out[sid] = _text(self.models[model].get("value", "")) if model else ""
        return out

    async def upload(self, photos: list[Path], expected: dict[str, str]) -> float:
        """Send the photos as the FileUpload widget does (one comm message, the photos as buffers) and wait until
        the table shows ``expected``; seconds from sending to the right result."""
        upload = self._model("sa-upload-photos")
        value, buffers = [], []
        for k, photo in enumerate(photos):
            data = photo.read_bytes()
            value.append({"name": photo.name, "type": "image/jpeg", "size": len(data),
                          "last_modified": int(time.time() * 1000)})
            buffers.append(data)
        paths = [["value", k, "content"] for k in range(len(photos))]
        self.stages.clear()
        sent = self._event("upload", photos=[p.name for p in photos], bytes=sum(map(len, buffers)))
        self._send("comm_msg", {"comm_id": upload, "data": {"method": "update", "state": {"value": value},
                                                               "buffer_paths": paths}}, buffers)
        await self._until(lambda: self.statuses(expected) == expected, "the right result")
        done = self._event("result", statuses=self.statuses(expected))
        return done - sent

    def phases(self) -> dict[str, float]:
        """Where the last upload's time went, as the page heard it (seconds): ``sent`` until the kernel had sent the
        photos to the pool (the first stage line saying "detecting" or "waiting": the upload over the websocket and
        the kernel reading it), ``pool`` until the results were back ("matching": the hop to a worker, its
        analysis and the hop back), ``table`` until the table showed the result (matching, the widgets' updates)."""
        sent = next((t for t, step, _ in reversed(self.events) if step == "upload"), None)
        done = next((t for t, step, _ in reversed(self.events) if step == "result"), None)
        told = next((t for t, line in self.stages if "detecting" in line or "waiting" in line), None)
        matched = next((t for t, line in self.stages if "matching" in line), None)
        if None in (sent, done, told, matched):
            return {}
        sent, done = sent + self._start, done + self._start
        return {"sent": told - sent, "pool": matched - told, "table": done - matched}

    def queue_estimates(self) -> list[tuple[float, float]]:
        """(seconds the page said a photo would wait, seconds until the result came) for the first waiting message of
        each upload's longest-waiting photo (one per upload)."""
        result = next((t for t, step, _ in reversed(self.events) if step == "result"), None)
        told = [(t, WAITING.match(line)) for t, line in self.stages]
        told = [(t, int(found["seconds"])) for t, found in told if found]
        if result is None or not told:
            return []
        first = told[0][0]
        estimate = max(seconds for t, seconds in told if t - first < 0.5)
        return [(float(estimate), result + self._start - first)]

    async def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
        if self._reader is not None:
            self._reader.cancel()


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


async def sign_in(page, url: str, name: str, password: str = PASSWORD) -> None:
    """Sign in to the hub at ``url`` as teacher ``name`` through the login form, until their dashboard shows."""
    await page.goto(url + "/hub/login")
    await page.fill("#username_input", name)
    await page.fill("#password_input", password)
    await page.click("#login_submit", no_wait_after=True)
    await page.wait_for_selector(".sa-upload-photos")


async def chromium_teacher(context, url: str, name: str, password: str, photos: list[Path], expected: dict,
                           timeout_ms: int = TIMEOUT * 1000) -> dict:
    """A teacher in a new page of the browser ``context``: signs in, uploads ``photos`` and waits until the page
    shows ``expected``; returns the times (``dashboard_s``, ``result_s``) and whether the page showed the right
    result (``right``)."""
    page = await context.new_page()
    page.set_default_timeout(timeout_ms)
    start = time.monotonic()
    await sign_in(page, url, name, password)
    dashboard = time.monotonic() - start
    async with page.expect_file_chooser() as chooser:
        await page.click(".sa-upload-photos")
    await (await chooser.value).set_files([str(p) for p in photos])
    upload = time.monotonic()
    await page.wait_for_function(
        "expected => Object.entries(expected).every(([sid, want]) => {"
        " const e = document.querySelector('.sa-status-' + sid); return e && e.innerText.trim() === want; })",
        arg=expected)
    result = time.monotonic() - upload
    shown = {sid: (await page.inner_text(f".sa-status-{sid}")).strip() for sid in expected}
    return {"name": name, "client": "chromium", "dashboard_s": dashboard, "result_s": result,
            "right": shown == expected}
