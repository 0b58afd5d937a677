"""A page's kernel websocket driven by hand, as a curious teacher's script would (issue 28): messages sent on
the shell channel, everything the server sends back heard for a while."""
from __future__ import annotations

import asyncio
import concurrent.futures
import json
import time
import uuid


def shell_message(kind: str, content: dict, user: str = "") -> str:
    """A Jupyter message of type ``kind`` on the shell channel, as JSON text (the websocket's legacy framing)."""
    header = {"msg_id": uuid.uuid4().hex, "msg_type": kind, "username": user, "session": uuid.uuid4().hex,
              "date": "2026-01-05T08:00:00Z", "version": "5.3"}
    return json.dumps({"channel": "shell", "header": header, "parent_header": {}, "metadata": {}, "content": content,
                       "buffers": []})


#: Three crafted comm_opens to the widgets' target (each fails in ipywidgets), then a kernel_info_request.
CRAFTED_COMM_OPENS = [shell_message("comm_open", {"comm_id": uuid.uuid4().hex, "target_name": "jupyter.widget",
                                                  "data": data})
                      for data in ({"state": {"_model_name": "Nope"}, "buffer_paths": []}, {"state": None}, {})] + [
    shell_message("kernel_info_request", {})]


def talk(url: str, cookies: str, messages: list[str], seconds: float = 10) -> list[str]:
    """Open the websocket ``url`` with ``cookies``, send ``messages``, and return every message heard within
    ``seconds`` (a kernel's output is flushed after its replies); in a thread of its own (Playwright's loop may
    run in this one)."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    async def run() -> list[str]:
        connection = await websocket_connect(HTTPRequest(url, headers={"Cookie": cookies}, connect_timeout=60))
        for message in messages:
            connection.write_message(message)
        heard, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                received = await asyncio.wait_for(connection.read_message(), 1)
            except asyncio.TimeoutError:
                continue
            if received is None:
                break
            heard.append(received if isinstance(received, str) else received.decode("utf-8", "replace"))
        connection.close()
        return heard

    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, run()).result()


def types_of(heard: list[str]) -> list[str]:
    """The ``msg_type`` of each JSON message heard."""
    return [json.loads(m)["header"]["msg_type"] for m in heard if m.startswith("{")]
