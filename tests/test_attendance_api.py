"""The read-only attendance API for the SIS (issue 22): a scoped token reads exactly the marks a saved session
holds; without the scope 403; another teacher's class 403; every call logged; the OpenAPI file validates.

The hub's token check is replaced by a stand-in answering ``user_for_token`` as JupyterHub's HubAuth does
(the token owner's model with its scopes); the records are real (SQLite and PostgreSQL).
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import datetime
from urllib.parse import quote

import pytest
import requests

from attendance_core.api import SCOPE
from attendance_core.api.app import make_app
from attendance_core.records import Store
from attendance_core.school.access import Directory

from conftest import REPO, free_port

try:
    from test_records import attendance, store_url  # noqa: F401  (store_url: a fixture)
except ImportError:  # tests/ imported as a package
    from tests.test_records import attendance, store_url  # noqa: F401

TOKENS = {
    "ana-read": {"kind": "user", "name": "ana", "scopes": ["read:users:name!user=ana", SCOPE]},
    "ana-plain": {"kind": "user", "name": "ana", "scopes": ["read:users:name!user=ana"]},
    "boss-read": {"kind": "user", "name": "boss", "scopes": [SCOPE]},
}


class StandInHubAuth:
    """Answers like :meth:`jupyterhub.services.auth.HubAuth.user_for_token`: the model, or None for an unknown token."""

    async def user_for_token(self, token, use_cache=True, session_id="", *, sync=True):
        return TOKENS.get(token)


@pytest.fixture
def api(store_url):
    """The API over records holding 7A (ana's) and 7B (ben's), one saved 7A session with a correction."""
    store = Store(store_url)
    directory = Directory.of(store)
    for name, role in (("ana", "teacher"), ("ben", "teacher"), ("boss", "admin")):
        directory.add_user(name, role)
    directory.assign("7A", "ana")
    directory.assign("7B", "ben")
    statuses = {"s-001": "present", "s-002": "absent", "s-003": "present"}
    session_id = store.save_session(attendance(statuses, photos=("a1",)), class_name="7A", subject="Maths",
                                    taken_at=datetime(2026, 3, 2, 9, 0), marked_by="ana")
    store.correct(session_id, "s-002", "excused", note="doctor", by="boss")
    store.save_session(attendance({"s-010": "present"}, photos=("b1",)), class_name="7B", subject="Art",
                       taken_at=datetime(2026, 3, 2, 10, 0), marked_by="ben")
    store.save_session(attendance(statuses, photos=("a0",)), class_name="7A", subject="Maths",
                       taken_at=datetime(2026, 2, 1, 9, 0), marked_by="ana")  # before "since"
    port = free_port()
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def run():
        asyncio.set_event_loop(loop)
        make_app(store, StandInHubAuth()).listen(port, "127.0.0.1")
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(10)
    yield f"http://127.0.0.1:{port}/services/attendance-api/v1", store, session_id
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    store.close()


def _get(url: str, token: str | None):
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.get(url, headers=headers, timeout=30)


def test_a_scoped_token_gets_exactly_the_marks_the_saved_session_holds(api):
    base, store, session_id = api
    answer = _get(f"{base}/classes/7A/attendance?since=2026-03-01", "ana-read")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [s["id"] for s in body["sessions"]] == [session_id]  # the February session is before "since"
    session = body["sessions"][0]
    assert (session["class"], session["subject"], session["marked_by"]) == ("7A", "Maths", "ana")
    saved = store.session_marks(session_id).set_index("student_id")
    got = {m["student_id"]: m for m in session["marks"]}
    assert set(got) == set(saved.index)
    for sid, row in saved.iterrows():
        assert (got[sid]["status"], got[sid]["source"], got[sid]["automatic_status"]) == (
            row["status"], row["source"], row["automatic_status"])
    assert (got["s-002"]["status"], got["s-002"]["corrected_by"]) == ("excused", "boss")
    assert got["s-001"]["corrected_by"] is None
    taken = store.sessions("7A").set_index("id").loc[session_id, "taken_at_utc"]
    assert session["taken_at"] == taken.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_token_without_the_scope_gets_403_and_no_token_401(api):
    base, _, _ = api
    refused = _get(f"{base}/classes/7A/attendance", "ana-plain")
    assert refused.status_code == 403 and SCOPE in refused.json()["error"]
    assert "sessions" not in refused.json()
    assert _get(f"{base}/classes/7A/attendance", None).status_code == 401
    assert _get(f"{base}/classes/7A/attendance", "forged").status_code == 401


def test_a_teacher_token_sees_only_that_teachers_classes(api):
    base, _, _ = api
    other = _get(f"{base}/classes/7B/attendance", "ana-read")
    assert other.status_code == 403 and "7B" in other.json()["error"]
    assert _get(f"{base}/classes", "ana-read").json() == {"classes": ["7A"]}
    assert _get(f"{base}/classes", "boss-read").json() == {"classes": ["7A", "7B"]}
    assert _get(f"{base}/classes/{quote('7B')}/attendance", "boss-read").status_code == 200
    assert _get(f"{base}/classes/8Z/attendance", "boss-read").status_code == 404


EXTREME_SINCE = ["9999-12-31T23:59:59-12:00", "0001-01-01", "0001-01-01T00:00:00%2B14:00", "1899-12-31",
                 "2026-03-01&since=2026-03-02", "%00", "%FF", "2026-13-01", "yesterday"]


@pytest.mark.parametrize("since", EXTREME_SINCE)
def test_a_since_out_of_range_repeated_or_unreadable_is_a_400_naming_since(api, since):
    base, _, _ = api
    answer = _get(f"{base}/classes/7A/attendance?since={since}", "ana-read")
    assert answer.status_code == 400, (since, answer.status_code, answer.text)
    assert "since" in answer.json()["error"] and "sessions" not in answer.json()


def test_a_404_names_no_other_class_and_an_assigned_class_without_sessions_has_none(api):
    base, store, _ = api
    Directory.of(store).assign("7Z", "ana")  # assigned, nothing saved yet
    answer = _get(f"{base}/classes/7Z/attendance", "ana-read")
    assert answer.status_code == 200 and answer.json()["sessions"] == [], answer.text
    missing = _get(f"{base}/classes/8Q/attendance", "boss-read")
    assert missing.status_code == 404 and missing.json() == {"error": "no class '8Q'"}
    assert _get(f"{base}/classes/8Q/attendance", "ana-read").status_code == 403  # not hers: 403, known or not


def test_every_call_is_logged_with_its_caller_and_answer(api, caplog):
    base, _, _ = api
    with caplog.at_level(logging.INFO, logger="attendance.api"):
        _get(f"{base}/classes/7A/attendance", "ana-read")
        _get(f"{base}/classes/7B/attendance", "ana-read")
        _get(f"{base}/classes", "ana-plain")
        deadline = time.monotonic() + 10  # the server logs a call once it has answered it
        while len([r for r in caplog.records if r.name == "attendance.api"]) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    lines = [r.getMessage() for r in caplog.records if r.name == "attendance.api"]
    assert lines == ["api: ana GET /services/attendance-api/v1/classes/7A/attendance -> 200",
                     "api: ana GET /services/attendance-api/v1/classes/7B/attendance -> 403",
                     "api: ana GET /services/attendance-api/v1/classes -> 403"]


def test_the_openapi_description_validates_and_names_every_route():
    import yaml
    from openapi_spec_validator import validate

    spec = yaml.safe_load((REPO / "docs" / "attendance-api.yaml").read_text())
    validate(spec)
    assert set(spec["paths"]) == {"/v1/classes", "/v1/classes/{class}/attendance"}
    assert SCOPE in spec["info"]["description"]


def test_the_hub_runs_the_api_as_a_service_with_its_custom_scope(tmp_path, monkeypatch):
    from attendance_core.config import load_settings
    from attendance_core.hub import plan

    monkeypatch.setattr(plan, "proxy_command", lambda: "configurable-http-proxy")
    monkeypatch.setenv("ATTENDANCE_DATABASE_URL", f"sqlite:///{tmp_path / 'records.db'}")
    settings = load_settings(roster_dir=tmp_path / "roster", data_dir=tmp_path / "data")
    with Store.from_settings(settings) as store:
        Directory.of(store).add_user("boss", "admin")
    planned = plan.plan_hub(settings)
    hub = planned.hub_config["JupyterHub"]
    assert list(hub["custom_scopes"]) == [SCOPE] and hub["custom_scopes"][SCOPE]["description"]
    service = next(s for s in hub["services"] if s["name"] == "attendance-api")
    assert service["command"][-2:] == ["-m", "attendance_core.api"]
    assert "environment" not in service  # `attendance hub --print-config` shows no database URL
    written = plan.write_config(planned, tmp_path / "hub-config").read_text()
    assert repr(settings.resolved_database_url()) in written.split("c.JupyterHub.services = ", 1)[1].splitlines()[0]
    user_role = next(r for r in hub["load_roles"] if r["name"] == "user")
    assert user_role["scopes"][:2] == ["self", SCOPE]  # (then access to the shared dashboard)


def test_through_a_real_hub_a_scoped_token_reads_and_an_unscoped_one_is_refused(tmp_path, demo_encoding_cache):
    """`attendance hub` runs the API as its service; tokens are made by the hub with and without the scope."""
    from hub_helpers import add_school_users, lay_out_school, postgres_schema, school_env, start_hub, stop_hub
    from hub_helpers import attendance as attendance_command

    root = lay_out_school(tmp_path / "school", demo_encoding_cache)
    secret = "sis-test-" + "0" * 24
    extra = tmp_path / "extra.py"
    extra.write_text(  # a service that may issue tokens for users, as an admin's script would
        "c.JupyterHub.services.append({'name': 'issuer', 'api_token': %r})\n"
        "c.JupyterHub.load_roles.append({'name': 'issuer', 'services': ['issuer'],\n"
        "    'scopes': ['tokens', 'admin:users', 'custom:attendance:read']})\n" % secret)
    with postgres_schema() as url:
        env = school_env(root, url)
        add_school_users(env, with_passwords=False)
        with Store(url) as store:
            session_id = store.save_session(attendance({"Kit_Harington": "present", "Rose_Leslie": "absent"}),
                                            class_name="7B", subject="Art", marked_by="ben")
        hub = start_hub(root, env, "--authenticator", "ldap", "--hub-config", str(extra))
        try:
            def token_for(user: str, scopes: list[str]) -> str:
                made = requests.post(f"{hub.url}/hub/api/users/{user}/tokens", json={"scopes": scopes},
                                     headers={"Authorization": f"token {secret}"}, timeout=60)
                assert made.status_code in (200, 201), made.text
                return made.json()["token"]

            api = f"{hub.url}/services/attendance-api/v1/classes/7B/attendance"
            deadline = time.monotonic() + 60
            while True:  # the service starts beside the hub
                answer = _get(api, token_for("ben", [SCOPE]))
                if answer.status_code != 503 and answer.status_code != 404 or time.monotonic() > deadline:
                    break
                time.sleep(1)
            assert answer.status_code == 200, answer.text
            assert [(m["student_id"], m["status"]) for m in answer.json()["sessions"][0]["marks"]] == [
                ("Kit_Harington", "present"), ("Rose_Leslie", "absent")]
            assert answer.json()["sessions"][0]["id"] == session_id
            assert _get(api, token_for("ben", ["read:users:name!user=ben"])).status_code == 403
            assert _get(api, token_for("ana", [SCOPE])).status_code == 403
            # issue 28: extreme or repeated dates are a 400 (were 500), a 404 names no other class (it listed
            # them all), and a teacher's class with nothing saved yet has no sessions
            boss = token_for("boss", [SCOPE])
            for since in ("9999-12-31T23:59:59-12:00", "0001-01-01", "2026-03-01&since=2026-03-02"):
                answer = _get(f"{api}?since={since}", boss)
                assert answer.status_code == 400 and "since" in answer.json()["error"], (since, answer.text)
            assert attendance_command(env, "classes", "assign", "7Z", "--teacher", "ben").returncode == 0
            own = _get(api.replace("/7B/", "/7Z/"), token_for("ben", [SCOPE]))
            assert own.status_code == 200 and own.json()["sessions"] == [], own.text
            missing = _get(api.replace("/7B/", "/8Q/"), boss)
            assert missing.status_code == 404 and missing.json() == {"error": "no class '8Q'"}, missing.text
        finally:
            stop_hub(hub)
        assert "api: ben GET /services/attendance-api/v1/classes/7B/attendance -> 200" in hub.log.read_text()
