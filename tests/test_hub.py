"""`attendance hub` without starting it: the configuration it writes, what it refuses, and the user commands.

The running hub (browsers, refusals by URL, LDAP) is tested in test_hub_browser.py and test_hub_ldap.py.
"""
from __future__ import annotations

import json
import stat

import bcrypt
import pytest

from attendance_core.cli import main
from attendance_core.config import load_settings
from attendance_core.hub.plan import HubError, check_shared_records, plan_hub
from attendance_core.hub.accounts import accounts, set_account_password
from attendance_core.hub.plan import hub_database_url, write_config
from attendance_core.server import EXECUTOR
from attendance_core.hub.teacher_server import ALLOWED_MESSAGE_TYPES


def run(*args, stdin=""):
    import io
    import sys

    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        code = main(list(args), out=out, err=err)
    finally:
        sys.stdin = old
    return code, out.getvalue(), err.getvalue()


def test_users_add_makes_an_approved_native_account_with_a_hashed_password(data_dir):
    code, out, err = run("users", "add", "Boss", "--role", "admin", stdin="admin-Pass-4821\n")
    assert code == 0, err
    assert out.strip() == "boss: admin, a password"
    settings = load_settings()
    assert accounts(settings) == {"boss": True}
    from jupyterhub.orm import new_session_factory
    from nativeauthenticator.orm import UserInfo

    db = new_session_factory(hub_database_url(settings))()
    stored = UserInfo.find(db, "boss").password
    db.close()
    assert b"admin-Pass-4821" not in stored and bcrypt.checkpw(b"admin-Pass-4821", stored)


@pytest.mark.parametrize("password, message", [("short", "at least 8 characters"),
                                               ("password123", "most common")])
def test_weak_passwords_are_refused(data_dir, password, message):
    code, _, err = run("users", "add", "ana", "--role", "teacher", stdin=password + "\n")
    assert code == 2 and message in err
    assert accounts(load_settings()) == {}


def test_users_list_and_classes_assign(data_dir):
    assert run("users", "add", "boss", "--role", "admin", stdin="admin-Pass-4821\n")[0] == 0
    assert run("classes", "assign", "7A", "--teacher", "boss") == (0, "boss teaches 7A\n", "")
    code, out, _ = run("users", "list")
    assert code == 0
    assert out.splitlines()[1].split() == ["boss", "admin", "password", "7A"]
    code, _, err = run("classes", "assign", "7B", "--teacher", "nobody")
    assert code == 2 and "no user 'nobody'" in err


def test_sqlite_records_are_refused_once_a_second_user_shares_the_hub(data_dir):
    assert run("users", "add", "boss", "--role", "admin", stdin="admin-Pass-4821\n")[0] == 0
    code, _, err = run("users", "add", "ana", "--role", "teacher", stdin="teacher-A-pass-7733\n")
    assert code == 2
    assert "the records are in an SQLite file" in err and "PostgreSQL" in err and "one write at a time" in err
    assert accounts(load_settings()) == {"boss": True}  # nothing was made for ana
    with pytest.raises(HubError, match="SQLite"):
        check_shared_records(load_settings(), ["boss", "ana"])
    check_shared_records(load_settings(), ["boss"])  # one user: SQLite is fine


def test_a_trial_hub_keeps_sqlite_records_for_up_to_ten_users(data_dir, monkeypatch):
    from attendance_core.hub.plan import TRIAL_MAX_USERS

    monkeypatch.setenv("ATTENDANCE_HUB_TRIAL", "true")
    assert run("users", "add", "boss", "--role", "admin", stdin="admin-Pass-4821\n")[0] == 0
    assert run("users", "add", "ana", "--role", "teacher", stdin="teacher-A-pass-7733\n")[0] == 0
    names = ["boss", "ana"] + [f"t{k}" for k in range(TRIAL_MAX_USERS - 2)]
    check_shared_records(load_settings(), names)  # ten users: the trial's limit
    with pytest.raises(HubError, match=f"A trial hub of at most {TRIAL_MAX_USERS} users.*this one has 11"):
        check_shared_records(load_settings(), names + ["one_more"])
    monkeypatch.delenv("ATTENDANCE_HUB_TRIAL")
    with pytest.raises(HubError, match="hub_trial = true"):  # the refusal says how to run a trial
        check_shared_records(load_settings(), ["boss", "ana"])


def test_hub_needs_an_admin_first(data_dir):
    code, _, err = run("hub", "--print-config")
    assert code == 2 and "no admin yet: add one first with `attendance users add NAME --role admin`" in err


def test_hub_configuration_lands_teachers_in_the_shared_dashboard(data_dir, tmp_path):
    assert run("users", "add", "boss", "--role", "admin", stdin="admin-Pass-4821\n")[0] == 0
    code, out, err = run("hub", "--print-config")
    assert code == 0, err
    config = json.loads(out)
    # NativeAuthenticator with the braked login form (hub/login.py), configured as NativeAuthenticator
    assert config["JupyterHub"]["authenticator_class"] == "attendance_core.hub.login.NativeLogin"
    assert config["Authenticator"]["admin_users"] == ["boss"]
    assert config["NativeAuthenticator"]["open_signup"] is False  # an admin approves each sign-up
    services = {s["name"]: s for s in config["JupyterHub"]["services"]}
    assert list(services) == ["idle-culler", "attendance-api", "dashboard"]  # + the SIS API, the dashboard
    assert services["dashboard"]["oauth_no_confirm"] is True
    assert services["dashboard"]["command"][-1] == "attendance_core.hub.dashboard_service"
    assert config["JupyterHub"]["default_url"] == "/services/dashboard/"  # straight there after login
    user_role = next(r for r in config["JupyterHub"]["load_roles"] if r["name"] == "user")
    assert "access:services!service=dashboard" in user_role["scopes"]


def test_per_teacher_servers_remain_a_choice(data_dir, tmp_path, monkeypatch):
    assert run("users", "add", "boss", "--role", "admin", stdin="admin-Pass-4821\n")[0] == 0
    monkeypatch.setenv("ATTENDANCE_HUB_DASHBOARDS", "per-teacher")
    code, out, err = run("hub", "--print-config")
    assert code == 0, err
    config = json.loads(out)
    assert config["Spawner"]["default_url"] == "/voila/render/attendance_dashboard.ipynb"
    assert config["JupyterHub"]["redirect_to_server"] is True and "default_url" not in config["JupyterHub"]
    assert [s["name"] for s in config["JupyterHub"]["services"]] == ["idle-culler", "attendance-api"]
    assert "--timeout=3600" in config["JupyterHub"]["services"][0]["command"]
    server = config["teacher_server"]
    assert {k for k, on in server["ServerApp"]["jpserver_extensions"].items() if on} == {"attendance_core.hub.teacher_pages"}
    assert server["ServerApp"]["terminals_enabled"] is False
    assert server["VoilaExecutor"] == EXECUTOR  # pages rendered as serve's: output waited for, or an error shown
    assert server["ServerApp"]["authorizer_class"].endswith("DashboardAuthorizer")
    assert "execute_request" not in server["MappingKernelManager"]["allowed_message_types"]
    assert server["MappingKernelManager"]["allowed_message_types"] == ALLOWED_MESSAGE_TYPES

    plan = plan_hub(load_settings())
    written = write_config(plan, tmp_path / "private")
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    text = written.read_text()
    assert "JUPYTER_NO_CONFIG" in text and "_hooks.install(c)" in text  # pre_spawn refuses in the shared layout
    assert sorted(p.name for p in (tmp_path / "private" / "teacher" / "app").iterdir()) == [
        "attendance_dashboard.ipynb"]  # the only notebook a teacher's server can open


def test_other_authenticators_admit_only_the_users_the_records_know(data_dir, tmp_path):
    assert run("users", "add", "boss", "--role", "admin", "--no-password") == (
        0, "boss: admin, no password (the hub's LDAP or OAuth signs them in)\n", "")
    extra = tmp_path / "ldap.py"
    extra.write_text("c.LDAPAuthenticator.server_address = 'ldap.school.example'\n")
    plan = plan_hub(load_settings(), authenticator="ldap", extra_config=extra)
    assert plan.hub_config["JupyterHub"]["authenticator_class"] == "attendance_core.hub.login.LDAPLogin"
    assert plan.hub_config["Authenticator"]["allowed_users"] == ["boss"]
    assert "allow_all" not in plan.hub_config["Authenticator"]
    assert f"load_subconfig({str(extra.resolve())!r})" in write_config(plan, tmp_path / "private").read_text()
    with pytest.raises(HubError, match="--authenticator must be one of native, ldap, google, microsoft"):
        plan_hub(load_settings(), authenticator="kerberos")


def test_account_password_can_be_changed(data_dir):
    settings = load_settings()
    set_account_password(settings, "ana", "first-Pass-1234")
    set_account_password(settings, "ana", "second-Pass-5678")
    assert accounts(settings) == {"ana": True}


def test_settings_given_to_the_hub_in_its_environment_reach_the_dashboards(data_dir, tmp_path, monkeypatch):
    assert run("users", "add", "boss", "--role", "admin", stdin="admin-Pass-4821\n")[0] == 0
    monkeypatch.setenv("ATTENDANCE_DETECTOR", "cnn")
    monkeypatch.setenv("ATTENDANCE_DASHBOARD_WARM_KERNELS", "1")
    monkeypatch.setenv("ATTENDANCE_TOKEN", "serve-token-not-for-the-hub-0123456789")
    monkeypatch.setenv("ATTENDANCE_PASSWORD_HASH", "argon2:not-for-the-hub")
    plan = plan_hub(load_settings())
    assert plan.teacher_env["ATTENDANCE_DETECTOR"] == "cnn" and plan.teacher_env["ATTENDANCE_DASHBOARD_WARM_KERNELS"] == "1"
    assert "ATTENDANCE_TOKEN" not in plan.teacher_env and "ATTENDANCE_PASSWORD_HASH" not in plan.teacher_env
    written = write_config(plan, tmp_path / "private").read_text()
    assert "'ATTENDANCE_DETECTOR': 'cnn'" in written and "serve-token" not in written
