"""Voilà serves the dashboard notebook: the page renders the app and shows no error output.

The widgets themselves need a browser (see test_dashboard_browser.py); here the page's HTML is
checked: the notebook ran, its last cell displayed the app's widget, and no cell failed.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO, free_port, wait_until_listening

NOTEBOOK = REPO / "notebooks" / "attendance_dashboard.ipynb"


def get(url: str, timeout: float = 180) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode("utf-8", "replace")


def error_outputs(page: str) -> list[str]:
    """Error outputs and stderr text in a rendered Voilà page (empty when every cell ran cleanly)."""
    problems = re.findall(r'"output_type":\s*"error".{0,300}', page)
    problems += re.findall(r'"name":\s*"stderr".{0,300}', page)
    problems += re.findall(r"Traceback \(most recent call last\).{0,300}", page)
    # How Voilà shows a failed cell by default (tracebacks hidden): rendered stderr text.
    problems += re.findall(r'data-mime-type="application/vnd.jupyter.stderr"[^>]*>.{0,300}', page, re.DOTALL)
    problems += re.findall(r"There was an error when executing cell.{0,100}", page)
    return problems


def test_notebook_is_thin_and_has_a_kernelspec():
    nb = json.loads(NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert 1 <= len(nb["cells"]) <= 3
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert nb["metadata"]["kernelspec"]["language"] == "python"
    assert all(not c.get("outputs") for c in code), "commit the notebook without outputs"
    assert "AttendanceApp" in "".join("".join(c["source"]) for c in code)


def test_voila_page_shows_the_app_and_no_error(dashboard_server):
    status, page = get(dashboard_server.url)
    assert status == 200
    assert "application/vnd.jupyter.widget-view+json" in page, "the app's widget was not displayed"
    assert "Smart Attendance dashboard (known faces)" in page, "the app's text marker is missing"
    assert error_outputs(page) == []
    assert "No Jupyter kernel" not in page


def test_error_check_catches_a_failing_cell(tmp_path):
    """The page check above can fail: a notebook whose cell raises, served the same way, is caught by it."""
    nb = json.loads(NOTEBOOK.read_text())
    nb["cells"] = [{"cell_type": "code", "execution_count": None, "id": "boom", "metadata": {}, "outputs": [],
                    "source": ["raise ValueError('boom')"]}]
    broken = tmp_path / "broken.ipynb"
    broken.write_text(json.dumps(nb))
    config = tmp_path / "config"
    config.mkdir()
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "JUPYTER_CONFIG_DIR": str(config)}
    voila = [str(Path(sys.executable).with_name("voila")), str(broken), f"--port={port}",
             "--Voila.ip=127.0.0.1", "--no-browser", f"--Voila.config_file_paths={config}"]
    proc = subprocess.Popen(voila, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_listening(proc, port, None, 120, "voila")
        try:
            _, page = get(f"http://127.0.0.1:{port}/")
        except urllib.error.HTTPError as err:  # Voilà answers 500 when a cell fails
            page = err.read().decode("utf-8", "replace")
        assert error_outputs(page), page[:2000]
        assert "Traceback" not in page  # Voilà hides tracebacks by default, as the dashboard is served
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@pytest.mark.parametrize("target, ip", [("dashboard", "127.0.0.1"), ("serve", "$(IP)")])
def test_makefile_serves_the_notebook_with_a_raised_websocket_limit(target, ip):
    """Both targets go through `attendance serve`, whose websocket limit fits a full upload (test_serve.py)."""
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0]
    assert f"attendance serve --ip {ip} --port $(PORT)" in recipe
    from attendance_core.config import Settings
    from attendance_core.server import DASHBOARD_NOTEBOOK, websocket_limit

    assert DASHBOARD_NOTEBOOK == NOTEBOOK
    assert websocket_limit(Settings()) >= 10 * 50 * 2**20
