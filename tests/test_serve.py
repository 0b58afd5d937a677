"""`attendance serve`: the dashboard on a shared server, behind Jupyter's login, with limits.

Real servers are started as an instructor would (`attendance serve`, a subprocess) over a private
copy of the demo class, and real HTTP and websocket requests are sent to them on 127.0.0.1:
- without credentials: no dashboard page (a redirect to the login form), no kernel started, the
  kernel API and the kernel websocket refused;
- with the token, or the password typed into the login form (with its XSRF cookie): the page;
- a public address without a login configured: the command refuses to start;
- an idle dashboard page's kernel is culled (a server with a 6-second idle limit);
- `?template=` refused at once, `/logout` working, no token or password in the log.
"""
from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import KNOWN_FACES, REPO, free_port, wait_until_listening

APP_MARKER = "Smart Attendance dashboard (known faces)"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
START_TIMEOUT = 120
PAGE_TIMEOUT = 240
PASSWORD = "correct horse battery staple"


def attendance_command() -> list[str]:
    script = Path(sys.executable).with_name("attendance")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "attendance_core.cli"]


def clean_env(root: Path, **extra: str) -> dict[str, str]:
    """The environment of a served dashboard: no ATTENDANCE_/JUPYTER_ variables leak in from the test run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATTENDANCE_", "JUPYTER_"))}
    env.update(ATTENDANCE_ROSTER_DIR=str(root / "known_faces"), ATTENDANCE_DATA_DIR=str(root / "attendance_data"))
    env.update(extra)
    return env


def run_attendance(args: list[str], env: dict[str, str], cwd: Path, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(attendance_command() + args, env=env, cwd=cwd, input=stdin, capture_output=True,
                          text=True, timeout=120)


def lay_out_class(root: Path, demo_encoding_cache: Path) -> Path:
    shutil.copytree(KNOWN_FACES, root / "known_faces", ignore=shutil.ignore_patterns("README.md"))
    shutil.copytree(demo_encoding_cache, root / "attendance_data" / "cache")
    return root


def start_server(root: Path, env: dict[str, str], args: list[str] = (), port: int | None = None) -> SimpleNamespace:
    port = port or free_port()
    log = root / f"serve-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(attendance_command() + ["serve", "--port", str(port), *args], cwd=root, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_listening(proc, port, log, START_TIMEOUT, "attendance serve")
    except BaseException:
        stop_server(proc)
        raise
    return SimpleNamespace(url=f"http://127.0.0.1:{port}/", port=port, proc=proc, log=log, root=root)


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()  # `attendance serve` passes it on to Voilà, which shuts its kernels down
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextlib.contextmanager
def served_class(tmp_path_factory, demo_encoding_cache: Path, name: str, password: str | None = None,
                 token: str | None = None, **settings: str):
    """`attendance serve` over a private copy of the demo class (a temporary folder named after ``name``).

    ``settings`` are ``ATTENDANCE_*`` variables; ``password`` is set first by `attendance serve
    --set-password`, then ``token`` is given as ``ATTENDANCE_TOKEN`` (and kept as ``server.token``).
    Yields the server; stops it on exit.
    """
    root = lay_out_class(tmp_path_factory.mktemp(name), demo_encoding_cache)
    env = clean_env(root, **settings)
    if password is not None:
        done = run_attendance(["serve", "--set-password"], env, root, stdin=password + "\n")
        assert done.returncode == 0, done.stderr
    if token is not None:
        env["ATTENDANCE_TOKEN"] = token
    server = start_server(root, env)
    server.token = token
    try:
        yield server
    finally:
        stop_server(server.proc)


class Client:
    """An HTTP client that keeps cookies and does not follow redirects (so that a 302 to the login shows)."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def request(self, path: str, data: dict | None = None, method: str | None = None,
                headers: dict | None = None) -> tuple[int, dict, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path.lstrip("/"), data=body, method=method, headers=headers or {})
        try:
            with self.opener.open(req, timeout=PAGE_TIMEOUT) as response:
                return response.status, dict(response.headers), response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read().decode("utf-8", "replace")

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)

    def log_in(self, password: str) -> tuple[int, dict, str]:
        """Fill in the login form as a browser does: GET it (XSRF cookie), POST the password with it."""
        status, _, form = self.request("login")
        assert status == 200 and 'name="_xsrf"' in form, form[:500]
        return self.request("login?next=%2F", {"password": password, "_xsrf": self.cookie("_xsrf")})


def kernel_id_of(page: str) -> str:
    match = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', page)
    assert match, "no kernel id in the dashboard page"
    return match.group(1)


def websocket_status(url: str, headers: dict | None = None) -> int | str:
    """101 when a websocket to ``url`` opens, else the HTTP status of the refusal."""
    from tornado.httpclient import HTTPClientError, HTTPRequest
    from tornado.websocket import websocket_connect

    async def connect():
        try:
            conn = await websocket_connect(HTTPRequest(url, headers=headers or {}, request_timeout=60))
        except HTTPClientError as err:
            return err.code
        conn.close()
        return 101

    return asyncio.run(connect())


def shows_the_dashboard(page: str) -> bool:
    return WIDGET_MIME in page or APP_MARKER in page


def kernels_started(log: Path) -> int:
    return log.read_text(errors="replace").count("Kernel started")


# --- Servers ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def token_server(demo_class, demo_encoding_cache, tmp_path_factory):
    """`attendance serve` on 127.0.0.1 with ATTENDANCE_TOKEN set (no password)."""
    with served_class(tmp_path_factory, demo_encoding_cache, "serve-token", token=secrets.token_urlsafe(24)) as server:
        yield server


@pytest.fixture(scope="module")
def password_server(demo_class, demo_encoding_cache, tmp_path_factory):
    """`attendance serve` with a password set by `attendance serve --set-password`, idle pages culled after 6 s."""
    with served_class(tmp_path_factory, demo_encoding_cache, "serve-password", password=PASSWORD,
                      ATTENDANCE_IDLE_KERNEL_MINUTES="0.1") as server:
        yield server


# --- Refusing to start, and the configuration in force ---------------------------------------------

@pytest.mark.parametrize("ip", ["0.0.0.0", "::", "192.0.2.10", "school-server.example"])
def test_refuses_a_public_address_without_a_login(tmp_path, ip):
    port = free_port()
    done = run_attendance(["serve", "--ip", ip, "--port", str(port)], clean_env(tmp_path), tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "refusing to serve the dashboard" in done.stderr and "--set-password" in done.stderr
    assert "ATTENDANCE_TOKEN" in done.stderr and "Traceback" not in done.stderr
    with pytest.raises(OSError):  # and nothing listens
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_a_short_token_or_a_plain_password_setting_is_refused(tmp_path):
    done = run_attendance(["serve", "--ip", "0.0.0.0", "--print-config"],
                          clean_env(tmp_path, ATTENDANCE_TOKEN="secret"), tmp_path)
    assert done.returncode == 2 and "too short" in done.stderr
    done = run_attendance(["serve", "--ip", "0.0.0.0", "--print-config"],
                          clean_env(tmp_path, ATTENDANCE_PASSWORD_HASH="hunter22"), tmp_path)
    assert done.returncode == 2 and "not a plain password" in done.stderr


def test_set_password_stores_an_argon2_hash_readable_by_its_owner_only(tmp_path):
    env = clean_env(tmp_path)
    done = run_attendance(["serve", "--set-password"], env, tmp_path, stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    path = tmp_path / "attendance_data" / "dashboard-password"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert text.startswith("argon2:$argon2id$") and PASSWORD not in text
    from jupyter_server.auth import passwd_check

    assert passwd_check(text.strip(), PASSWORD) and not passwd_check(text.strip(), "wrong password")
    # Too short a password (11 characters) is refused and keeps the old hash.
    done = run_attendance(["serve", "--set-password"], env, tmp_path, stdin="elevenchars\n")
    assert done.returncode == 2 and "at least 12 characters" in done.stderr
    assert path.read_text() == text


def test_a_public_address_is_served_once_a_password_is_set(tmp_path):
    env = clean_env(tmp_path)
    assert run_attendance(["serve", "--set-password"], env, tmp_path, stdin=PASSWORD + "\n").returncode == 0
    done = run_attendance(["serve", "--ip", "0.0.0.0", "--print-config"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)
    assert config["Voila"]["ip"] == "0.0.0.0"
    assert config["PasswordIdentityProvider"]["hashed_password"] == "<hidden>"  # set, and not printed


def test_the_password_hash_setting_is_a_login_too(tmp_path):
    from attendance_core.server import hash_password

    hashed = hash_password(PASSWORD)
    done = run_attendance(["serve", "--ip", "0.0.0.0", "--print-config"],
                          clean_env(tmp_path, ATTENDANCE_PASSWORD_HASH=hashed), tmp_path)
    assert done.returncode == 0, done.stderr
    assert hashed not in done.stdout
    assert json.loads(done.stdout)["PasswordIdentityProvider"]["hashed_password"] == "<hidden>"


def test_configuration_hides_tracebacks_sources_and_files_and_culls_idle_pages(tmp_path):
    token = secrets.token_urlsafe(24)
    env = clean_env(tmp_path, ATTENDANCE_TOKEN=token, ATTENDANCE_MAX_UPLOAD_MB="20",
                    ATTENDANCE_MAX_FILES_PER_UPLOAD="4", ATTENDANCE_IDLE_KERNEL_MINUTES="30")
    done = run_attendance(["serve", "--print-config"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert token not in done.stdout
    config = json.loads(done.stdout)
    voila = config["Voila"]
    assert voila["token"] == "<hidden>" and voila["ip"] == "127.0.0.1" and voila["port_retries"] == 0
    limit = voila["tornado_settings"]["websocket_max_message_size"]
    assert 4 * 20 * 2**20 <= limit <= 4 * 20 * 2**20 + 2 * 2**20  # a full upload, not unlimited
    assert voila["tornado_settings"]["xsrf_cookies"] is True
    assert config["VoilaConfiguration"]["show_tracebacks"] is False
    assert config["VoilaConfiguration"]["strip_sources"] is True
    assert config["VoilaConfiguration"]["file_allowlist"] == []
    assert config["KernelManager"]["transport"] == "ipc"  # no kernel ports other users could listen on
    culling = config["MappingKernelManager"]
    assert culling["cull_idle_timeout"] == 30 * 60 and culling["cull_connected"] is True
    assert 0 < culling["cull_interval"] <= 300
    # The template is ours (no CDN asset), and a request cannot switch it.
    assert config["VoilaConfiguration"]["template"] == "attendance"
    assert config["VoilaConfiguration"]["allow_template_override"] == "NO"
    assert config["VoilaConfiguration"]["allow_theme_override"] == "NO"
    assert config["AttendanceVoila"] == {"max_kernels": 10, "max_kernels_per_user": 3}
    # A page's output is waited for (a loaded machine delays it), and a page that still lacks it says so.
    assert config["VoilaExecutor"]["iopub_timeout"] >= 60 and config["VoilaExecutor"]["raise_on_iopub_timeout"]
    # With a login, the Host check is the login's job (a reverse proxy may forward its own name) ...
    assert voila["tornado_settings"]["allow_remote_access"] is True
    # ... without one, only this machine's names are answered.
    done = run_attendance(["serve", "--print-config"], clean_env(tmp_path, ATTENDANCE_MAX_KERNELS="4"), tmp_path)
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)
    assert config["Voila"]["tornado_settings"]["allow_remote_access"] is False
    assert config["AttendanceVoila"]["max_kernels"] == 4


def test_the_machines_jupyter_config_cannot_loosen_the_server(tmp_path):
    """A voila.json in the folder it is started from, or in ~/.jupyter, is not read (e.g. one turning tracebacks on)."""
    from attendance_core.config import load_settings
    from attendance_core.server import plan_server, server_environment, voila_command

    loose = {"VoilaConfiguration": {"show_tracebacks": True}, "Voila": {"token": ""}}
    (tmp_path / "voila.json").write_text(json.dumps(loose))
    settings = load_settings(roster_dir=tmp_path, data_dir=tmp_path / "data")
    plan = plan_server(settings, token=secrets.token_urlsafe(24))
    private = tmp_path / "private"
    private.mkdir()
    command = voila_command(plan, private)
    assert f"--Voila.config_file_paths={private}" in command
    assert all(secret not in " ".join(command) for secret in (plan.token,))  # no secret on the command line
    env = server_environment(settings, private)
    assert env["JUPYTER_CONFIG_DIR"] == str(private) and env["JUPYTER_NO_CONFIG"] == "1"
    assert "ATTENDANCE_TOKEN" not in env and "JUPYTER_CONFIG_PATH" not in env
    assert not list(private.iterdir()), "nothing is written to the private folder: the login goes through a pipe"


# --- Real requests against a served dashboard -------------------------------------------------------

def test_without_credentials_there_is_no_page_and_no_kernel(token_server):
    anonymous = Client(token_server.url)
    before = kernels_started(token_server.log)
    for path in ("", "?token=wrong-token-wrong-token", "attendance_dashboard.ipynb", "voila/render/x.ipynb",
                 "api/kernels", "tree"):
        status, headers, body = anonymous.request(path)
        assert status == 302 and headers["Location"].startswith("/login"), (path, status)
        assert not shows_the_dashboard(body) and "kernelId" not in body
    status, _, body = anonymous.request("", data={"x": "1"})  # a POST is refused outright
    assert status in (403, 405) and not shows_the_dashboard(body)
    status, _, body = anonymous.request("", headers={"Authorization": "token not-the-token-at-all"})
    assert status == 302 and not shows_the_dashboard(body)
    # The login form itself is public, and shows nothing of the dashboard.
    status, _, body = anonymous.request("login")
    assert status == 200 and not shows_the_dashboard(body)
    # No file of the project folder is served without a login (Voilà's /voila/files/ is not authenticated).
    assert anonymous.request("voila/files/attendance_dashboard.ipynb")[0] == 403
    assert anonymous.request("voila/files/known_faces/Alex_Lacamoire.jpg")[0] == 403
    time.sleep(1)
    assert kernels_started(token_server.log) == before, "an unauthenticated request started a kernel"


def test_with_the_token_the_dashboard_is_served_without_sources_or_tracebacks(token_server):
    before = kernels_started(token_server.log)
    status, _, page = Client(token_server.url).request("", headers={"Authorization": f"token {token_server.token}"})
    assert status == 200
    assert shows_the_dashboard(page) and APP_MARKER in page
    assert "AttendanceApp.from_settings" not in page, "the notebook's source is shown"
    assert "Traceback" not in page
    assert kernels_started(token_server.log) == before + 1
    # In the address, as `?token=`, it works too, and logs the browser in (a cookie) for what follows.
    client = Client(token_server.url)
    status, _, page = client.request(f"?token={token_server.token}")
    assert status == 200 and shows_the_dashboard(page)
    status, _, page = client.request("")
    assert status == 200 and shows_the_dashboard(page)


def test_the_kernel_api_and_websocket_refuse_requests_without_credentials(token_server):
    auth = {"Authorization": f"token {token_server.token}"}
    status, _, page = Client(token_server.url).request("", headers=auth)
    assert status == 200
    kernel = kernel_id_of(page)
    anonymous = Client(token_server.url)
    assert anonymous.request(f"api/kernels/{kernel}")[0] == 403
    assert anonymous.request(f"api/kernels/{kernel}", method="DELETE")[0] == 403
    assert anonymous.request(f"voila/api/shutdown/{kernel}", data={})[0] == 403
    channels = f"ws://127.0.0.1:{token_server.port}/api/kernels/{kernel}/channels"
    origin = {"Origin": token_server.url.rstrip("/")}
    assert websocket_status(channels, origin) == 403
    assert websocket_status(channels, {**origin, "Authorization": "token not-the-token-at-all"}) == 403
    # The same requests with the token succeed: the refusals above are the login's doing.
    assert Client(token_server.url).request(f"api/kernels/{kernel}", headers=auth)[0] == 200
    assert websocket_status(channels, {**origin, **auth}) == 101
    # A page of another site cannot open the kernel websocket with a logged-in browser's cookie.
    browser = Client(token_server.url)
    status, _, page = browser.request(f"?token={token_server.token}")
    assert status == 200
    channels = f"ws://127.0.0.1:{token_server.port}/api/kernels/{kernel_id_of(page)}/channels"
    cookie = {"Cookie": browser.cookie_header()}
    assert websocket_status(channels, {**origin, **cookie}) == 101
    assert websocket_status(channels, {"Origin": "http://evil.example", **cookie}) == 403


@pytest.mark.parametrize("query", ["template=base", "template=nonexist", "theme=dark"])
def test_a_template_or_theme_override_is_refused_at_once_without_a_kernel(token_server, query):
    before = kernels_started(token_server.log)
    client = Client(token_server.url)
    started = time.monotonic()
    status, _, body = client.request(f"?{query}", headers={"Authorization": f"token {token_server.token}"})
    assert status == 400 and "own template" in body, (status, body[:300])
    assert time.monotonic() - started < 10, "the override was not answered at once"
    time.sleep(1)
    assert kernels_started(token_server.log) == before, "a kernel was started for a refused page"


def test_logout_answers_and_ends_the_login(password_server):
    client = Client(password_server.url)
    assert client.log_in(PASSWORD)[0] == 302
    assert client.request("voila/api/shutdown/00000000-0000-0000-0000-000000000000",
                          data={"_xsrf": client.cookie("_xsrf")})[0] == 404  # logged in: a 404, not a 403
    status, _, body = client.request("logout")
    assert status == 200 and "Successfully logged out" in body, (status, body[:300])
    status, headers, _ = client.request("")
    assert status == 302 and headers["Location"].startswith("/login")


def test_tokens_and_passwords_never_reach_the_log(token_server, password_server):
    token = token_server.token
    client = Client(token_server.url)
    assert client.request(f"voila/static/x.js?token={token}")[0] in (403, 404)  # an error status, logged
    assert client.request(f"voila/static/x.js?a=1&token={token}&b=2")[0] in (403, 404)
    assert client.request(f"nothing/here?token={token}")[0] in (302, 403, 404)
    assert client.request(f"?token={token}")[0] == 200
    typed = Client(password_server.url)
    assert typed.log_in("wrong " + PASSWORD)[0] == 401
    time.sleep(1)
    assert "x.js" in token_server.log.read_text(), "the request was not logged at all"
    assert token not in token_server.log.read_text()
    assert PASSWORD not in password_server.log.read_text()


def test_the_login_form_needs_the_password_and_its_xsrf_cookie(password_server):
    client = Client(password_server.url)
    status, headers, _ = client.request("")
    assert status == 302 and headers["Location"].startswith("/login")
    # Without the form's XSRF value the POST is refused, even with the right password.
    assert Client(password_server.url).request("login", {"password": PASSWORD})[0] == 403
    status, _, body = client.log_in("not the password")
    assert status == 401 and not shows_the_dashboard(body)
    assert client.request("")[0] == 302
    # No token was configured: a made-up one is no way in.
    assert Client(password_server.url).request("?token=" + "x" * 32)[0] == 302
    status, headers, _ = client.log_in(PASSWORD)
    assert status == 302 and headers["Location"] == "/"
    status, _, page = client.request("")
    assert status == 200 and shows_the_dashboard(page) and APP_MARKER in page


def test_an_idle_dashboard_kernel_is_culled(password_server):
    client = Client(password_server.url)
    assert client.log_in(PASSWORD)[0] == 302
    status, _, page = client.request("")
    assert status == 200
    kernel = kernel_id_of(page)
    assert "Culling kernels with idle durations > 6 seconds" in password_server.log.read_text()
    deadline = time.monotonic() + 90
    while client.request(f"api/kernels/{kernel}")[0] == 200:
        assert time.monotonic() < deadline, "the idle kernel was not culled within 90 s"
        time.sleep(2)
    assert client.request(f"api/kernels/{kernel}")[0] == 404
    assert re.search(rf"Culling 'idle' kernel .*\({kernel}\)", password_server.log.read_text())


def test_a_failing_cell_shows_no_traceback_and_no_source(tmp_path):
    """Served as `attendance serve` serves it, a notebook whose cell raises shows neither the error's text nor code."""
    nb = json.loads((REPO / "notebooks" / "attendance_dashboard.ipynb").read_text())
    nb["cells"] = [{"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [],
                    "source": ["secret_path = '/srv/school/known_faces'\n", "raise ValueError('boom at ' + secret_path)"]}]
    broken = tmp_path / "broken.ipynb"
    broken.write_text(json.dumps(nb))
    token = secrets.token_urlsafe(24)
    port = free_port()
    script = ("import sys; from attendance_core.config import load_settings; from attendance_core import server; "
              f"s = load_settings(); sys.exit(server.serve(s, server.plan_server(s, '127.0.0.1', {port}, "
              f"notebook={str(broken)!r})))")
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
                                env=clean_env(tmp_path, ATTENDANCE_TOKEN=token), start_new_session=True)
    try:
        wait_until_listening(proc, port, log, START_TIMEOUT, "attendance serve")
        status, _, page = Client(f"http://127.0.0.1:{port}/").request("", headers={"Authorization": f"token {token}"})
        assert status in (200, 500)
        assert "There was an error when executing cell" in page  # Voilà's message without the details
        assert "boom" not in page and "/srv/school" not in page and "Traceback" not in page
    finally:
        stop_server(proc)


@pytest.mark.parametrize("name, value, message", [
    ("max_files_per_upload", "0", "max_files_per_upload must be between 1 and 500"),
    ("max_upload_mb", "0", "max_upload_mb must be between 1 and 1000"),
    ("idle_kernel_minutes", "-5", "idle_kernel_minutes must be between 0"),
    ("max_kernels", "0", "max_kernels must be between 1 and 1000"),
    ("max_kernels_per_user", "11", "max_kernels_per_user must be between 1 and max_kernels (10)"),
    ("save_uploads", "maybe", "setting 'save_uploads' must be a bool"),
    ("password_hash", "sha1:abc:def", "must be a hashed password starting with 'argon2:'"),
])
def test_server_settings_are_validated(monkeypatch, tmp_path, name, value, message):
    from attendance_core.config import ConfigError, load_settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(f"ATTENDANCE_{name.upper()}", value)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings()


def test_server_settings_from_the_file(monkeypatch, tmp_path):
    from attendance_core.config import load_settings, write_setting

    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("ATTENDANCE_")]:
        monkeypatch.delenv(key)
    path = tmp_path / "attendance.toml"
    path.write_text("max_files_per_upload = 4\nidle_kernel_minutes = 15\n")
    write_setting("save_uploads", True, path)
    assert "save_uploads = true" in path.read_text()
    s = load_settings()
    assert (s.max_files_per_upload, s.idle_kernel_minutes, s.save_uploads) == (4, 15.0, True)
    assert load_settings(save_uploads="no").save_uploads is False
