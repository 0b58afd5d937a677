"""Sign-in accounts of the hub's default authenticator (NativeAuthenticator), made from the command line.

Teachers can sign up on the hub's page and wait for an admin's approval; ``attendance users add``
makes an approved account directly (the first admin's, for one). Passwords are stored as NativeAuthenticator
stores them: a bcrypt hash in JupyterHub's own database (:func:`.plan.hub_database_url`).
"""
from __future__ import annotations

import bcrypt

from ..school import access
from ..config import Settings
from .hub_config import MIN_PASSWORD_LENGTH
from .plan import HubError, hub_database_url


def _common(password: str) -> bool:
    from nativeauthenticator import NativeAuthenticator

    return NativeAuthenticator(add_new_table=False).is_password_common(password)


def set_account_password(settings: Settings, name: str, password: str) -> None:
    """Create (or change the password of) ``name``'s NativeAuthenticator account, approved.

    Raises :class:`HubError` for a password shorter than 8 characters or among the common ones.
    """
    from jupyterhub.orm import new_session_factory
    from nativeauthenticator.orm import UserInfo

    name = access.normalize_user(name)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise HubError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if _common(password):
        raise HubError("this password is one of the most common ones: choose another")
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt())
    db = new_session_factory(hub_database_url(settings))()
    try:
        info = UserInfo.find(db, name)
        if info is None:
            db.add(UserInfo(username=name, password=hashed, is_authorized=True))
        else:
            info.password, info.is_authorized = hashed, True
        db.commit()
    finally:
        db.close()
        db.get_bind().dispose()


def accounts(settings: Settings) -> dict[str, bool]:
    """NativeAuthenticator's accounts: name -> approved (an admin approves sign-ups at /hub/authorize)."""
    from jupyterhub.orm import new_session_factory
    from nativeauthenticator.orm import UserInfo

    db = new_session_factory(hub_database_url(settings))()
    try:
        return {info.username: bool(info.is_authorized) for info in UserInfo.all_users(db)}
    finally:
        db.close()
        db.get_bind().dispose()
