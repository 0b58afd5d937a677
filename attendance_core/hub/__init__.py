"""``attendance hub``: the dashboard for a whole school on JupyterHub, one login per teacher.

:mod:`.plan` configures and runs the hub; :mod:`.teacher_server` (and its :mod:`.authorizer`) is each
teacher's dashboard-only server, :mod:`.dashboard_service` every teacher's shared one; :mod:`.accounts` makes
NativeAuthenticator accounts; :mod:`.login` is the sign-in form's brake; :mod:`.hooks` is what the running hub calls.
"""
# The command line's choices, here so that `attendance --help` and the other commands do not load the hub.
DEFAULT_IP = "127.0.0.1"
DEFAULT_PORT = 8000
#: The hub's service that serves every teacher's dashboard (``hub_dashboards = "shared"``): ``/services/dashboard/``.
DASHBOARD_SERVICE = "dashboard"
#: ``--authenticator`` choices: JupyterHub authenticator classes (configured further by ``--config FILE``); the
#: two with a password form have it braked (:mod:`.login`), configured as NativeAuthenticator / LDAPAuthenticator.
AUTHENTICATORS = {
    "native": "attendance_core.hub.login.NativeLogin",
    "ldap": "attendance_core.hub.login.LDAPLogin",
    "google": "oauthenticator.google.GoogleOAuthenticator",
    "microsoft": "oauthenticator.azuread.AzureAdOAuthenticator",
}
