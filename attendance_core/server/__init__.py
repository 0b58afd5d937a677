"""Serve the dashboard on a shared (school) server: Voilà behind Jupyter's own login, with limits.

``attendance serve`` runs Voilà (:mod:`.hooks`) on ``notebooks/attendance_dashboard.ipynb`` with a
configuration built here, and a private, empty Jupyter configuration folder, so that nothing on the
machine can loosen it:

- a login: a hashed password (``password_hash``, or the file written by ``--set-password``) and/or
  a token (``$ATTENDANCE_TOKEN``), checked by jupyter_server's ``PasswordIdentityProvider``; every
  page, kernel and websocket needs it. Without either, only a loopback address (127.0.0.1) is served;
- a websocket message limit matched to the upload limits (a whole upload travels in one message);
- idle dashboard pages (kernels) closed after ``idle_kernel_minutes``, closed pages' kernels within
  seconds, at most ``max_kernels_per_user`` and ``max_kernels`` at once; failed logins limited
  (:mod:`.limits`);
- without a login, only requests naming this machine (``Host``) are answered (DNS rebinding);
- no tracebacks, no notebook source, no files from the notebook folder, no asset from another site.

Secrets never go on the command line (other users could read them with ``ps``) nor into a file: the
configuration reaches Voilà through a pipe. Voilà dies with ``attendance serve``, even by ``kill -9``.
"""
from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..config import ConfigError, Settings
from ..files import write_atomic
from .foreground import wait_passing_stop_signals

#: The dashboard notebook, next to the package in the project folder.
DASHBOARD_NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "attendance_dashboard.ipynb"
#: Jupyter data folder holding the dashboard's Voilà template ("attendance": lab, with no CDN asset).
TEMPLATES = Path(__file__).resolve().parent / "jupyter"
TEMPLATE = "attendance"
#: How a page's notebook is run. nbclient waits 4 s (its default) for a cell's output after the kernel's
#: reply, then drops what has not come and goes on: with many pages starting at once on a loaded machine
#: ("Timeout waiting for IOPub output") the dashboard's widget was dropped and the page stayed blank.
#: The output now has two minutes; past them the page says that a cell failed instead of showing nothing.
EXECUTOR = {"iopub_timeout": 120, "raise_on_iopub_timeout": True}
#: The private Jupyter configuration folder of a running server: the pid of `attendance serve` in its name.
CONFIG_DIR_PREFIX = "attendance-serve-"
#: The pid of `attendance serve`, in Voilà's environment: Voilà stops when that process is gone.
PARENT_ENV = "ATTENDANCE_SERVE_PARENT"
DEFAULT_IP = "127.0.0.1"
DEFAULT_PORT = 8866
TOKEN_ENV = "ATTENDANCE_TOKEN"
#: The login's secrets as environment variables: never passed on to Voilà, its kernels or the hub's dashboards.
SECRET_ENVS = (TOKEN_ENV, "ATTENDANCE_PASSWORD_HASH")
#: Where ``attendance serve --set-password`` keeps the password hash, inside the data folder.
PASSWORD_FILE = "dashboard-password"
MIN_PASSWORD_LENGTH = 12
MIN_TOKEN_LENGTH = 16
#: What every cookie of ``serve`` and ``hub`` carries: not sent with another site's requests (Firefox and Safari
#: do not assume it as Chromium does).
SAME_SITE = {"samesite": "Lax"}
#: Room for the widget protocol around the photos of one upload (names, headers, offsets).
MESSAGE_OVERHEAD = 2**20


class ServeError(ConfigError):
    """The server cannot start as asked (no login on a public address, bad port...); the message says why."""


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, ``localhost``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name or "": may be reachable from the network


def password_file(settings: Settings) -> Path:
    """The file holding the dashboard password's hash (written by :func:`set_password`)."""
    return settings.data_dir / PASSWORD_FILE


def hash_password(password: str) -> str:
    """An argon2 hash of ``password``, as Jupyter stores them (``argon2:$argon2id$...``)."""
    from jupyter_server.auth import passwd

    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServeError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    return passwd(password, algorithm="argon2")


def set_password(settings: Settings, password: str) -> Path:
    """Store the hash of ``password`` in the data folder, readable by its owner only; returns the file."""
    hashed = hash_password(password)
    return write_atomic(password_file(settings), hashed + "\n", private=True)


def configured_password_hash(settings: Settings) -> str:
    """The password hash in force: the ``password_hash`` setting, else the ``--set-password`` file, else ''."""
    if settings.password_hash:
        return settings.password_hash
    path = password_file(settings)
    if not path.is_file():
        return ""
    hashed = path.read_text(encoding="utf-8").strip()
    if not hashed.startswith("argon2:"):
        raise ServeError(f"{path}: not a password hash (write it again with `attendance serve --set-password`)")
    return hashed


@dataclass(frozen=True)
class ServerPlan:
    """What ``attendance serve`` will run: the address, the login in force and Voilà's configuration."""

    ip: str
    port: int
    notebook: Path
    token: str
    password_hash: str
    voila_config: dict[str, Any]

    @property
    def url(self) -> str:
        host = self.ip if self.ip not in ("", "0.0.0.0", "::") else socket.gethostname()
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"

    @property
    def login(self) -> str:
        kinds = [k for k, v in (("password", self.password_hash), ("token", self.token)) if v]
        return " and ".join(kinds) or "none"

    def redacted_config(self) -> dict[str, Any]:
        """The Voilà configuration with the token and the password hash hidden (for display and tests)."""
        config = json.loads(json.dumps(self.voila_config))
        if config["Voila"].get("token"):
            config["Voila"]["token"] = "<hidden>"
        if config.get("PasswordIdentityProvider", {}).get("hashed_password"):
            config["PasswordIdentityProvider"]["hashed_password"] = "<hidden>"
        return config


def websocket_limit(settings: Settings) -> int:
    """Largest websocket message, in bytes: a full upload (every photo at the size limit) plus overhead."""
    return settings.max_upload_mb * 2**20 * settings.max_files_per_upload + MESSAGE_OVERHEAD


def plan_server(settings: Settings, ip: str = DEFAULT_IP, port: int = DEFAULT_PORT,
                token: str | None = None, notebook: Path | None = None) -> ServerPlan:
    """Check the address and login, and build Voilà's configuration; raises :class:`ServeError`.

    token: defaults to ``$ATTENDANCE_TOKEN``. A non-loopback ``ip`` needs a password or a token.
    """
    token = (os.environ.get(TOKEN_ENV, "") if token is None else token).strip()
    notebook = Path(notebook or DASHBOARD_NOTEBOOK)
    if not notebook.is_file():
        raise ServeError(f"the dashboard notebook {notebook} is missing (run from the project folder)")
    if not 1 <= port <= 65535:
        raise ServeError(f"--port must be between 1 and 65535, not {port}")
    hashed = configured_password_hash(settings)
    if token and len(token) < MIN_TOKEN_LENGTH:
        raise ServeError(f"{TOKEN_ENV} is too short to be safe: use at least {MIN_TOKEN_LENGTH} random characters, "
                         "e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(24))'")
    if not is_loopback(ip) and not (hashed or token):
        raise ServeError(
            f"refusing to serve the dashboard on {ip or 'every address'} without a login: anyone on the network "
            f"could see the students' faces and records. Set a password with `attendance serve --set-password` "
            f"(or the password_hash setting), or a token in the {TOKEN_ENV} environment variable; "
            f"or serve on 127.0.0.1 only.")
    idle_seconds = round(settings.idle_kernel_minutes * 60)
    voila: dict[str, Any] = {
        "ip": ip,
        "port": port,
        "port_retries": 0,  # a busy port is an error, not a silent move to another one
        "open_browser": False,
        "token": token or None,
        "tornado_settings": {
            # Without a login, a request must name this machine: a page of another site whose name is
            # rebound to 127.0.0.1 (DNS rebinding) gets 403. With a login it cannot pass the login, and
            # a reverse proxy may forward its own name.
            "allow_remote_access": bool(hashed or token),
            "local_hostnames": ["localhost"],
            "websocket_max_message_size": websocket_limit(settings),
            "xsrf_cookies": True,
            # Every cookie not sent with another site's requests: _xsrf's here, the login's below.
            "xsrf_cookie_kwargs": dict(SAME_SITE),
            "headers": {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"},
        },
    }
    config: dict[str, Any] = {
        "Voila": voila,
        "VoilaConfiguration": {
            "show_tracebacks": False,
            "strip_sources": True,
            # /voila/files/ is served without a login; nothing from the project folder goes out through it.
            "file_allowlist": [],
            "preheat_kernel": False,
            "template": TEMPLATE,
            # ?template= and ?theme= are refused (hooks); not even the notebook may switch them.
            "allow_template_override": "NO",
            "allow_theme_override": "NO",
        },
        "VoilaExecutor": dict(EXECUTOR),
        "AttendanceVoila": {
            "max_kernels": settings.max_kernels,
            "max_kernels_per_user": settings.max_kernels_per_user,
        },
        "PasswordIdentityProvider": {
            "hashed_password": hashed,
            "allow_password_change": False,
            # The login cookie (jupyter_server reads these here, not from the tornado settings' cookie_options).
            "cookie_options": {"httponly": True, **SAME_SITE},
        },
        # Kernels talk to the server over Unix sockets in Voila's private (0700) folder, not over TCP
        # ports that any user of the machine could connect to and listen on.
        "KernelManager": {"transport": "ipc"},
        "MappingKernelManager": {
            "cull_idle_timeout": max(idle_seconds, 1) if settings.idle_kernel_minutes > 0 else 0,
            "cull_interval": max(1, min(300, idle_seconds // 2)),
            # An open but untouched page holds classroom photos in memory: it is closed too.
            "cull_connected": True,
            "cull_busy": False,
        },
    }
    return ServerPlan(ip, port, notebook, token, hashed, config)


def server_environment(settings: Settings, config_dir: Path) -> dict[str, str]:
    """The environment of Voilà and its kernels: a private, empty Jupyter config, no secrets, our folders."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("JUPYTER_") and k not in SECRET_ENVS}
    env.update(JUPYTER_CONFIG_DIR=str(config_dir), JUPYTER_NO_CONFIG="1",
               # The kernel starts in the notebook's folder: give it the same settings as this command.
               ATTENDANCE_ROSTER_DIR=str(settings.roster_dir.resolve()),
               ATTENDANCE_DATA_DIR=str(settings.data_dir.resolve()),
               JUPYTER_PATH=str(TEMPLATES))
    if settings.source != "defaults":
        env["ATTENDANCE_CONFIG"] = str(Path(settings.source).resolve())
    return env


def voila_command(plan: ServerPlan, config_dir: Path) -> list[str]:
    """The Voilà command line: the notebook and the private config folder (no secrets: they go on stdin)."""
    return [sys.executable, "-m", "attendance_core.server.hooks", str(plan.notebook),
            f"--Voila.config_file_paths={config_dir}"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _named_by_a_process(folder: Path) -> bool:
    """True if a running process has ``folder`` on its command line (or if that cannot be known)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    needle = str(folder).encode()
    for cmdline in proc.glob("[0-9]*/cmdline"):
        try:
            if needle in cmdline.read_bytes():
                return True
        except OSError:
            continue
    return False


def remove_stale_config_dirs(temp_dir: Path | None = None) -> list[Path]:
    """Delete this user's private config folders left by servers that died (``kill -9``); returns them.

    Earlier versions kept the password hash or token there, in a ``voila.json``.
    """
    removed = []
    for folder in Path(temp_dir or tempfile.gettempdir()).glob(CONFIG_DIR_PREFIX + "*"):
        try:
            info = folder.lstat()
        except OSError:
            continue
        if not folder.is_dir() or folder.is_symlink() or info.st_uid != os.getuid():
            continue
        owner = re.match(rf"{CONFIG_DIR_PREFIX}(\d+)-", folder.name)
        if (_alive(int(owner.group(1))) if owner else _named_by_a_process(folder)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def serve(settings: Settings, plan: ServerPlan, log: Callable[[str], None] = print) -> int:
    """Run Voilà as planned until it stops (Ctrl+C or SIGTERM); returns its exit code."""
    for stale in remove_stale_config_dirs():
        log(f"removed {stale}, left by a server that did not stop cleanly")
    from ..pool import shared_pool  # here: distributed loads only in the command that starts a pool

    config_dir = Path(tempfile.mkdtemp(prefix=f"{CONFIG_DIR_PREFIX}{os.getpid()}-"))  # mode 0700, empty
    try:
        with shared_pool(settings, config_dir, log) as pool_env:
            return _serve_voila(settings, plan, config_dir, pool_env, log)
    finally:
        shutil.rmtree(config_dir, ignore_errors=True)


def _serve_voila(settings: Settings, plan: ServerPlan, config_dir: Path, pool_env: dict[str, str],
                 log: Callable[[str], None]) -> int:
    """Run Voilà, its kernels told where the recognition pool is (``pool_env``), until it stops."""
    env = server_environment(settings, config_dir)
    env.update(pool_env)
    env[PARENT_ENV] = str(os.getpid())
    log(f"Smart Attendance dashboard: {plan.url}  (login: {plan.login}; Ctrl+C stops it)")
    if plan.login == "none":
        log("warning: no login is configured; anyone who can use this computer can open the dashboard.")
    elif not is_loopback(plan.ip):
        log("note: this is plain HTTP; on a network, put it behind an HTTPS reverse proxy (see README).")
    proc = subprocess.Popen(voila_command(plan, config_dir), env=env, cwd=plan.notebook.parent,
                            stdin=subprocess.PIPE)
    try:
        proc.stdin.write(json.dumps(plan.voila_config).encode())
        proc.stdin.close()
    except BrokenPipeError:
        pass  # Voilà exited at once; its exit code says so below
    return wait_passing_stop_signals(proc)
