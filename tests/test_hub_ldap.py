"""`attendance hub --authenticator ldap` signs teachers in against a real LDAP server (Debian's slapd).

The test starts its own slapd on a free port of 127.0.0.1, with a throw-away configuration and database
in a temporary folder, and fills it with three people (ana, ben, carl). The hub is configured with a
``--hub-config`` file as docs/hub.md shows; only users the records know (`attendance users add NAME
--no-password`) may sign in. Without slapd the test skips, unless CI=true: then it fails.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from conftest import free_port, wait_until_listening
from hub_helpers import add_school_users, hub_login, lay_out_school, postgres_schema, school_env, start_hub, stop_hub

SLAPD = Path("/usr/sbin/slapd")
SUFFIX = "dc=school,dc=test"
LDAP_PASSWORDS = {"ana": "ana-ldap-Secret-1", "ben": "ben-ldap-Secret-2", "boss": "boss-ldap-Secret-3",
                  "carl": "carl-ldap-Secret-4"}


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    """A private slapd on 127.0.0.1 with ou=people holding ana, ben, boss and carl; yields its port."""
    if not (SLAPD.is_file() and shutil.which("ldapadd")):
        message = "slapd or ldap-utils is missing (apt-get install slapd ldap-utils)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    root = tmp_path_factory.mktemp("slapd")
    (root / "db").mkdir()
    schema = Path("/etc/ldap/schema")
    (root / "slapd.conf").write_text(textwrap.dedent(f"""\
        include {schema}/core.schema
        include {schema}/cosine.schema
        include {schema}/inetorgperson.schema
        modulepath /usr/lib/ldap
        moduleload back_mdb
        pidfile {root}/slapd.pid
        database mdb
        maxsize 10485760
        suffix "{SUFFIX}"
        rootdn "cn=admin,{SUFFIX}"
        rootpw admin-secret
        directory {root}/db
        """))
    port = free_port()
    log = root / "slapd.log"
    with open(log, "wb") as out:
        # -d: stay in the foreground (and log), so that the test owns the process and stops it.
        proc = subprocess.Popen([str(SLAPD), "-f", str(root / "slapd.conf"), "-h", f"ldap://127.0.0.1:{port}/",
                                 "-d", "256"], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_listening(proc, port, log, 60, "slapd")
        people = [f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: school\no: School\n",
                  f"dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people\n"]
        for uid, password in LDAP_PASSWORDS.items():
            people.append(f"dn: uid={uid},ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: {uid}\n"
                          f"cn: {uid.title()}\nsn: {uid.title()}\nuserPassword: {password}\n")
        done = subprocess.run(["ldapadd", "-x", "-H", f"ldap://127.0.0.1:{port}", "-D", f"cn=admin,{SUFFIX}",
                               "-w", "admin-secret"], input="\n".join(people), capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def ldap_hub(slapd, demo_class, demo_encoding_cache, tmp_path_factory):
    root = lay_out_school(tmp_path_factory.mktemp("hub-ldap"), demo_encoding_cache)
    config = root / "ldap_config.py"
    config.write_text(textwrap.dedent(f"""\
        c.LDAPAuthenticator.server_address = "127.0.0.1"
        c.LDAPAuthenticator.server_port = {slapd}
        c.LDAPAuthenticator.tls_strategy = "insecure"  # a test server on 127.0.0.1; a school uses TLS
        c.LDAPAuthenticator.bind_dn_template = ["uid={{username}},ou=people,{SUFFIX}"]
        """))
    with postgres_schema() as database_url:
        env = school_env(root, database_url)
        add_school_users(env, with_passwords=False)
        hub = start_hub(root, env, "--authenticator", "ldap", "--hub-config", str(config))
        try:
            yield hub
        finally:
            stop_hub(hub)


def test_teacher_signs_in_with_their_directory_password(ldap_hub):
    session, response = hub_login(ldap_hub, "ana", LDAP_PASSWORDS["ana"])
    assert response.status_code == 302, response.text[:500]
    assert "jupyterhub-hub-login" in session.cookies
    me = session.get(f"{ldap_hub.url}/hub/api/user", headers={"Referer": f"{ldap_hub.url}/hub/"}, timeout=60)
    assert me.status_code == 200 and me.json()["name"] == "ana" and me.json()["admin"] is False


def test_admin_from_the_records_is_a_hub_admin(ldap_hub):
    session, response = hub_login(ldap_hub, "boss", LDAP_PASSWORDS["boss"])
    assert response.status_code == 302
    assert session.get(f"{ldap_hub.url}/hub/admin", timeout=60).status_code == 200


def test_wrong_directory_password_is_refused(ldap_hub):
    session, response = hub_login(ldap_hub, "ana", LDAP_PASSWORDS["ben"])
    assert response.status_code == 403 and "jupyterhub-hub-login" not in session.cookies
    assert "Invalid username or password" in response.text


def test_directory_user_the_records_do_not_know_is_refused(ldap_hub):
    session, response = hub_login(ldap_hub, "carl", LDAP_PASSWORDS["carl"])
    assert response.status_code == 403 and "jupyterhub-hub-login" not in session.cookies
