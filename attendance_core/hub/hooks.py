"""Code the running hub calls (named in the ``jupyterhub_config.py`` that :mod:`.plan` writes)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable

from ..config import load_settings
from .plan import check_shared_records, open_directory


def pre_spawn(spawner) -> None:
    """Before a teacher's server starts: record a first sign-in as a teacher with no class, and refuse
    to start a second user's server while the records are an SQLite file (:func:`check_shared_records`)."""
    settings = load_settings()
    store, directory = open_directory(settings)
    try:
        directory.ensure_user(spawner.user.name)
        check_shared_records(settings, [u.name for u in directory.users()])
    finally:
        store.close()


def runtime_dir(base: str) -> Callable[[object], str]:
    """``JUPYTER_RUNTIME_DIR`` of each teacher's server: a short private folder under ``base`` per user.

    The kernels' Unix sockets live there, and a socket path has at most 107 bytes: a folder named by a
    hash of the user name keeps it short whatever the name.
    """
    def for_spawner(spawner) -> str:
        folder = Path(base) / hashlib.sha256(spawner.user.name.encode()).hexdigest()[:10]
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        return str(folder)

    return for_spawner
