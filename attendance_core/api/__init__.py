"""The attendance API: read-only JSON of a class's sessions and marks for the school's information system.

A front end like ``serve`` and ``hub``: a small Tornado app (:mod:`.app`) that ``attendance hub`` runs
as a JupyterHub service, ``/services/attendance-api/``. Callers send a JupyterHub API token
(``Authorization: token T``); the hub says whose it is and which scopes it carries. Without the custom
scope :data:`SCOPE` the answer is 403; with it, the records are read as the token's owner
(:class:`attendance_core.school.access.UserStore`): a teacher sees their classes, an admin every class.
Every call is logged. The description is ``docs/attendance-api.yaml`` (OpenAPI 3).
"""
SERVICE_NAME = "attendance-api"
#: The JupyterHub custom scope a token needs (JupyterHub 5: ``c.JupyterHub.custom_scopes``).
SCOPE = "custom:attendance:read"
SCOPE_DESCRIPTION = "Read attendance (sessions and marks) of the classes the user may see"
