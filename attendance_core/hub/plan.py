"""``attendance hub``: the dashboard for a whole school, on JupyterHub, one login per teacher.

JupyterHub does the logins (its authenticators: NativeAuthenticator by default, LDAP, Google,
Microsoft), starts one dashboard-only server per signed-in teacher (:mod:`.teacher_server`), stops idle
ones (``jupyterhub-idle-culler``), and puts them all behind one address through its proxy
(configurable-http-proxy, from npm). Identity comes from the hub: each teacher's server and its kernel
know the signed-in name (``JUPYTERHUB_USER``), and the records are read and written as that user
(:class:`attendance_core.school.access.UserStore`).

The configuration is written here, into a private temporary folder, and is the only one the hub and
the teachers' servers read; the hub's state (its database of logins, the cookie secret) lives in
``data_dir/hub`` (owner only).
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import sqlalchemy as sa

from ..school import access
from ..config import ENV_PREFIX, ConfigError, Settings
from ..files import write_new_private
from ..records import Store
from ..server import DASHBOARD_NOTEBOOK, SECRET_ENVS, is_loopback
from ..server.foreground import wait_passing_stop_signals
from . import AUTHENTICATORS, DASHBOARD_SERVICE, DEFAULT_IP, DEFAULT_PORT
from .hub_config import CULLER_SCOPES, SERVICE_MODULES, common_config, dashboard_environment, idle_culling
from .teacher_server import DASHBOARD_PATH, server_config

#: Environment variables a teacher's server inherits from the hub (besides the ones set for it).
ENV_KEEP = ["PATH", "PYTHONPATH", "LANG", "LC_ALL", "VIRTUAL_ENV", "TZ"]


class HubError(ConfigError):
    """The hub cannot start or be changed as asked; the message says why and what to do."""


def state_dir(settings: Settings) -> Path:
    """The hub's own state (its login database, cookie secret, teachers' working folders), owner only."""
    folder = settings.data_dir / "hub"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def hub_database_url(settings: Settings) -> str:
    """JupyterHub's own database (logins, tokens, NativeAuthenticator's accounts): a file in :func:`state_dir`."""
    return f"sqlite:///{(state_dir(settings) / 'jupyterhub.sqlite').resolve()}"


def is_sqlite(settings: Settings) -> bool:
    """Whether the records database is an SQLite file."""
    return sa.make_url(settings.resolved_database_url()).get_backend_name() == "sqlite"


#: Users (admins included) a trial hub (setting ``hub_trial``) may have with its records in an SQLite file.
TRIAL_MAX_USERS = 10


def check_shared_records(settings: Settings, users: list[str]) -> None:
    """Refuse SQLite records once several users share the hub (raises :class:`HubError` saying why), unless
    the hub is a trial (``hub_trial``) of at most :data:`TRIAL_MAX_USERS` users on one machine."""
    if len(users) <= 1 or not is_sqlite(settings):
        return
    if settings.hub_trial and len(users) <= TRIAL_MAX_USERS:
        return
    trial = (f"A trial hub of at most {TRIAL_MAX_USERS} users on this one machine may keep the SQLite file "
             "(hub_trial = true)" + (f"; this one has {len(users)}" if settings.hub_trial else "") + ". ")
    raise HubError(
        f"the records are in an SQLite file ({settings.resolved_database_url()}) and {len(users)} users share "
        f"this hub ({', '.join(users[:5])}{', ...' if len(users) > 5 else ''}). Every teacher has their own "
        "server process writing to the records: an SQLite file lets only one write at a time (a school's "
        "8 o'clock rush queues behind it), cannot be shared by servers on several machines (Kubernetes), "
        "and is unsafe on network storage. " + trial + "For a school, set database_url to a PostgreSQL database "
        "(e.g. postgresql+psycopg://attendance@dbhost/attendance) in attendance.toml or ATTENDANCE_DATABASE_URL.")


def open_directory(settings: Settings) -> tuple[Store, access.Directory]:
    """The records store and its users/classes directory, opened from ``settings``."""
    store = Store.from_settings(settings)
    return store, access.Directory.of(store)


@dataclass(frozen=True)
class HubPlan:
    """What ``attendance hub`` will run: the address, the authenticator, and the configurations it writes."""

    ip: str
    port: int
    authenticator: str
    hub_config: dict[str, dict[str, Any]]
    teacher_config: dict[str, Any]
    teacher_env: dict[str, str]
    extra_config: Path | None = None
    admins: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        host = self.ip if self.ip not in ("", "0.0.0.0", "::") else "localhost"
        return f"http://{'[' + host + ']' if ':' in host else host}:{self.port}/"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proxy_command() -> str:
    """The configurable-http-proxy program: next to this Python (``scripts/setup.sh`` puts it there), else on PATH."""
    beside = Path(sys.executable).with_name("configurable-http-proxy")
    found = str(beside) if beside.exists() else shutil.which("configurable-http-proxy")
    if not found:
        raise HubError("configurable-http-proxy is not installed: run `npm install --global --prefix .venv "
                       "configurable-http-proxy@^5` (`make setup-test` does it for you)")
    return found


def plan_hub(settings: Settings, ip: str = DEFAULT_IP, port: int = DEFAULT_PORT, authenticator: str = "native",
             extra_config: Path | None = None, hub_port: int = 0, proxy_api_port: int = 0) -> HubPlan:
    """Check the settings and build JupyterHub's and the teachers' servers' configuration.

    ip, port: the address teachers open. authenticator: a key of :data:`AUTHENTICATORS`. extra_config:
    a ``jupyterhub_config.py`` read after ours (the LDAP server, OAuth client ids...). hub_port,
    proxy_api_port: the hub's internal ports on 127.0.0.1 (0: free ports chosen now, so that another
    hub or service on the machine cannot collide with them).
    Raises :class:`HubError`.
    """
    if authenticator not in AUTHENTICATORS:
        raise HubError(f"--authenticator must be one of {', '.join(AUTHENTICATORS)}, not {authenticator!r}")
    if not 1 <= port <= 65535:
        raise HubError(f"--port must be between 1 and 65535, not {port}")
    if extra_config is not None and not Path(extra_config).is_file():
        raise HubError(f"{extra_config}: hub configuration file not found")
    if not DASHBOARD_NOTEBOOK.is_file():
        raise HubError(f"the dashboard notebook {DASHBOARD_NOTEBOOK} is missing (run from the project folder)")
    authenticator_users = records_users(settings, authenticator)
    state = state_dir(settings)
    common = common_config(settings, authenticator)
    hub: dict[str, dict[str, Any]] = {
        "JupyterHub": {
            **common["JupyterHub"],
            "bind_url": f"http://{ip}:{port}",
            "hub_bind_url": f"http://127.0.0.1:{hub_port or _free_port()}",
            "db_url": hub_database_url(settings),
            "cookie_secret_file": str(state / "jupyterhub_cookie_secret"),
            "pid_file": str(state / "jupyterhub.pid"),
            "spawner_class": "jupyterhub.spawner.SimpleLocalProcessSpawner",
            "cleanup_servers": True,
            # Each service on a free port of 127.0.0.1, started by the hub (python -m MODULE).
            "services": [{**service, "url": f"http://127.0.0.1:{_free_port()}",
                          "command": [sys.executable, "-m", SERVICE_MODULES[service["name"]]]}
                         for service in common["JupyterHub"]["services"]],
        },
        "ConfigurableHTTPProxy": {
            "command": [proxy_command()],
            "api_url": f"http://127.0.0.1:{proxy_api_port or _free_port()}",
        },
        "Authenticator": authenticator_users,
        "NativeAuthenticator": common["NativeAuthenticator"],
        "Spawner": {
            "cmd": [sys.executable, "-m", "jupyterhub.singleuser"],
            "default_url": DASHBOARD_PATH,
            "env_keep": ENV_KEEP,
            # A first start loads the roster; the shared 2-core test machine can take a minute.
            "start_timeout": 180,
            "http_timeout": 180,
        },
        "SimpleLocalProcessSpawner": {"home_dir_template": str(state / "home" / "{username}")},
    }
    culling = idle_culling(settings)
    if culling is not None:
        hub["JupyterHub"]["services"].insert(0, {
            "name": "idle-culler",
            "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={culling[0]}",
                        f"--cull-every={culling[1]}"],
        })
        hub["JupyterHub"]["load_roles"].insert(0, {"name": "idle-culler", "services": ["idle-culler"],
                                                "scopes": list(CULLER_SCOPES)})
    teacher_env = {
        # The settings `attendance hub` was given in its environment (ATTENDANCE_DETECTOR...), as the
        # dashboards must see them too; not serve's login secrets.
        **{k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX) and k not in SECRET_ENVS},
        **dashboard_environment(settings),
    }
    return HubPlan(ip, port, authenticator, hub, server_config(settings, root_dir=""), teacher_env,
                   Path(extra_config).resolve() if extra_config else None, authenticator_users["admin_users"])


def records_users(settings: Settings, authenticator: str) -> dict[str, Any]:
    """The hub's ``Authenticator`` users from the records: its admins, and who may sign in (NativeAuthenticator:
    anyone an admin approves; the others: the users the records know, unless a hub configuration allows more,
    ``allowed_groups``...). Raises :class:`HubError` when there is no admin yet, or SQLite records are shared
    (:func:`check_shared_records`)."""
    store, directory = open_directory(settings)
    try:
        users = [u.name for u in directory.users()]
        admins = directory.admins()
    finally:
        store.close()
    check_shared_records(settings, users)
    if not admins:
        raise HubError("no admin yet: add one first with `attendance users add NAME --role admin` "
                       "(the admin approves teachers who sign up, and assigns classes)")
    return {"admin_users": sorted(admins),
            **({"allow_all": True} if authenticator == "native" else {"allowed_users": sorted(users)})}


def warnings(plan: HubPlan) -> list[str]:
    """What an administrator should know before opening the hub to a network."""
    notes = []
    if os.geteuid() == 0:
        notes.append("running as root: run the hub under an account of its own (the teachers' servers run as it)")
    if not is_loopback(plan.ip):
        notes.append("this is plain HTTP: on a network, put the hub behind an HTTPS reverse proxy "
                     "(see docs/hub.md), or set JupyterHub.ssl_cert/ssl_key in --config")
    return notes


def write_config(plan: HubPlan, folder: Path) -> Path:
    """Write ``jupyterhub_config.py`` and the teachers' server configuration into ``folder``; returns the former.

    The teachers' servers get a folder of their own: their Jupyter configuration (the only one they
    read) and a copy of the dashboard notebook (the only notebook they can open).
    """
    teacher = folder / "teacher"
    (teacher / "config").mkdir(parents=True, mode=0o700)
    (teacher / "app").mkdir(mode=0o700)
    shutil.copy2(DASHBOARD_NOTEBOOK, teacher / "app" / DASHBOARD_NOTEBOOK.name)
    server = json.loads(json.dumps(plan.teacher_config))
    server["ServerApp"]["root_dir"] = str(teacher / "app")
    write_new_private(teacher / "config" / "jupyter_server_config.json", json.dumps(server, indent=1))
    hub = json.loads(json.dumps(plan.hub_config))
    hub["Spawner"]["environment"] = plan.teacher_env
    for service in hub["JupyterHub"]["services"]:
        if service["name"] == "attendance-api":  # the records' settings, as the teachers' servers get them
            service["environment"] = {k: v for k, v in plan.teacher_env.items() if k.startswith("ATTENDANCE_")}
        elif service["name"] == DASHBOARD_SERVICE:  # the shared dashboard: a teacher's server's settings, its notebook
            run = folder / "run" / "dashboard"
            run.mkdir(parents=True, mode=0o700)
            service["environment"] = {**plan.teacher_env, "JUPYTER_RUNTIME_DIR": str(run)}
            service["command"] = [*service["command"], str(teacher / "app" / DASHBOARD_NOTEBOOK.name)]
    # JUPYTER_NO_CONFIG (in teacher_env) hides every Jupyter configuration of the machine, and with it every
    # extension enabled there: this file is the only configuration a teacher's server reads.
    hub["Spawner"]["args"] = [f"--config={teacher / 'config' / 'jupyter_server_config.json'}"]
    hub["Spawner"]["notebook_dir"] = str(teacher / "app")
    lines = ["# Written by `attendance hub`; deleted when it stops.", "c = get_config()  # noqa: F821"]
    for section, values in hub.items():
        for name, value in values.items():
            lines.append(f"c.{section}.{name} = {value!r}")
    lines += [*hooks_lines(),
              f"c.Spawner.environment['JUPYTER_RUNTIME_DIR'] = _hooks.runtime_dir({str(folder / 'run')!r})"]
    if is_loopback(plan.ip):
        lines.append("_hooks.refuse_foreign_hosts()")
    if plan.extra_config is not None:
        lines.append(f"load_subconfig({str(plan.extra_config)!r})  # noqa: F821")
    return write_new_private(folder / "jupyterhub_config.py", "\n".join(lines) + "\n")


def hooks_lines(users_for: str | None = None) -> list[str]:
    """The lines of a ``jupyterhub_config.py`` that install the project's code into the hub (:func:`.hooks.install`;
    ``users_for``: an authenticator whose users are read from the records when the hub starts)."""
    return ["from attendance_core.hub import hooks as _hooks",
            f"_hooks.install(c{'' if users_for is None else f', users_for={users_for!r}'})"]


def hub_environment(settings: Settings) -> dict[str, str]:
    """The hub's environment: ours, without the machine's Jupyter configuration, with our settings' folders."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_", "JUPYTERHUB_"))}
    env.update(ATTENDANCE_ROSTER_DIR=str(settings.roster_dir.resolve()),
               ATTENDANCE_DATA_DIR=str(settings.data_dir.resolve()),
               ATTENDANCE_DATABASE_URL=settings.resolved_database_url())
    if settings.classes_dir:
        env["ATTENDANCE_CLASSES_DIR"] = str(Path(settings.classes_dir).resolve())
    if settings.source != "defaults":
        env["ATTENDANCE_CONFIG"] = str(Path(settings.source).resolve())
    return env


def run_hub(settings: Settings, plan: HubPlan, log: Callable[[str], None] = print) -> int:
    """Run JupyterHub as planned until it stops (Ctrl+C or SIGTERM); returns its exit code."""
    from ..pool import shared_pool  # here: distributed loads only in the command that starts a pool

    folder = Path(tempfile.mkdtemp(prefix="attendance-hub-"))  # mode 0700
    try:
        with shared_pool(settings, folder, log) as pool_env:
            # Every teacher's kernel sends its photos to this one pool (the models loaded once per machine).
            plan = dataclasses.replace(plan, teacher_env={**plan.teacher_env, **pool_env})
            return _run_jupyterhub(settings, plan, folder, log)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run_jupyterhub(settings: Settings, plan: HubPlan, folder: Path, log: Callable[[str], None]) -> int:
    """Write the configuration into ``folder`` and run JupyterHub until it stops."""
    config = write_config(plan, folder)
    log(f"Smart Attendance hub: {plan.url}  (login: {plan.authenticator}; admins: {', '.join(plan.admins)}; "
        "Ctrl+C stops it)")
    for note in warnings(plan):
        log("note: " + note)
    proc = subprocess.Popen([sys.executable, "-m", "attendance_core.hub.hub_app", "-f", str(config)],
                            env=hub_environment(settings), cwd=state_dir(settings))
    return wait_passing_stop_signals(proc)
