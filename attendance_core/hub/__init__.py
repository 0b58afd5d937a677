"""``attendance hub``: the dashboard for a whole school on JupyterHub, one login per teacher.

:mod:`.plan` configures and runs the hub; :mod:`.teacher_server` (and its :mod:`.authorizer`) is each
teacher's dashboard-only server; :mod:`.accounts` makes NativeAuthenticator accounts; :mod:`.hooks` is
what the running hub calls.
"""
from .plan import AUTHENTICATORS, DEFAULT_PORT, HubError, HubPlan, check_shared_records, plan_hub, run_hub

__all__ = ["AUTHENTICATORS", "DEFAULT_PORT", "HubError", "HubPlan", "check_shared_records", "plan_hub", "run_hub"]
