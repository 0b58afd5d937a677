"""The hub waits for a service it started that is slow to answer (a busy machine) and still stops for one that
exited: a real JupyterHub and proxy, with a small HTTP service that answers only after SLOW_SECONDS."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import free_port
from hub_helpers import START_TIMEOUT, stop_hub

#: Longer than JupyterHub's own patience with a service it starts (ten tries of one second).
SLOW_SECONDS = 25

SERVICE = """
import http.server, os, sys, time
from urllib.parse import urlsplit
time.sleep(float(sys.argv[1]))
if sys.argv[2] == "exit":
    sys.exit(3)
os.chdir(sys.argv[3])
port = urlsplit(os.environ["JUPYTERHUB_SERVICE_URL"]).port
http.server.ThreadingHTTPServer(("127.0.0.1", port), http.server.SimpleHTTPRequestHandler).serve_forever()
"""


def _hub(tmp_path: Path, module: str, delay: float, then: str = "serve") -> SimpleNamespace:
    """JupyterHub run by ``module`` with one service, ``slow``; the same fields as hub_helpers.start_hub's."""
    from attendance_core.hub.plan import proxy_command

    page = tmp_path / "www" / "services" / "slow"  # (the proxy keeps the service's prefix)
    page.mkdir(parents=True)
    (page / "index.html").write_text("the slow service")
    port, service_port = free_port(), free_port()
    config = tmp_path / "jupyterhub_config.py"
    config.write_text(f"""
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_port = {free_port()}
c.JupyterHub.db_url = "sqlite:///{tmp_path / 'hub.sqlite'}"
c.JupyterHub.cookie_secret_file = "{tmp_path / 'cookie_secret'}"
c.JupyterHub.authenticator_class = "null"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.command = [{proxy_command()!r}]
c.ConfigurableHTTPProxy.pid_file = "{tmp_path / 'proxy.pid'}"
c.JupyterHub.services = [{{"name": "slow", "url": "http://127.0.0.1:{service_port}",
                          "command": [{sys.executable!r}, "-c", {SERVICE!r}, "{delay}", "{then}", "{tmp_path / 'www'}"]}}]
""")
    log = tmp_path / "hub.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", module, "-f", str(config)], cwd=tmp_path, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    return SimpleNamespace(url=f"http://127.0.0.1:{port}", port=port, proc=proc, log=log)


def _until(hub: SimpleNamespace, done, timeout: float = START_TIMEOUT) -> str:
    deadline = time.monotonic() + timeout
    while not done(text := hub.log.read_text(errors="replace")):
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s:\n{text}")
        time.sleep(0.5)
    return text


def test_the_hub_waits_for_a_service_slower_than_jupyterhubs_ten_seconds_and_routes_it(tmp_path):
    import requests

    hub = _hub(tmp_path, "attendance_core.hub.hub_app", SLOW_SECONDS)
    try:
        text = _until(hub, lambda t: "JupyterHub is now running" in t or hub.proc.poll() is not None)
        assert hub.proc.poll() is None, text
        assert "Service slow is still starting" in text and "Service slow answered" in text
        answer = requests.get(f"{hub.url}/services/slow/", timeout=30)
        assert answer.status_code == 200 and answer.text == "the slow service"
    finally:
        stop_hub(hub)


def test_jupyterhub_alone_stops_for_that_slow_service(tmp_path):
    """Why hub_app exists: the same service and configuration stop JupyterHub itself."""
    hub = _hub(tmp_path, "jupyterhub", SLOW_SECONDS)
    try:
        hub.proc.wait(timeout=START_TIMEOUT)
        text = hub.log.read_text(errors="replace")
        assert hub.proc.returncode != 0 and "Cannot connect to slow service" in text, text
    finally:
        stop_hub(hub)


def test_the_hub_still_stops_at_once_for_a_service_that_exited(tmp_path):
    hub = _hub(tmp_path, "attendance_core.hub.hub_app", 0, then="exit")
    try:
        started = time.monotonic()
        hub.proc.wait(timeout=START_TIMEOUT)
        text = hub.log.read_text(errors="replace")
        assert hub.proc.returncode != 0 and "Service slow exited with status 3" in text, text
        assert "still starting" not in text
        assert time.monotonic() - started < SLOW_SECONDS  # not kept waiting for a service that is gone
    finally:
        stop_hub(hub)
