"""Connections: one SQLAlchemy engine per database, SQLite tuned for several writers or opened read-only."""
from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import event

from .errors import BUSY_TIMEOUT, RecordsError, sqlite_path


def create_engine(url: str, *, read_only: bool = False) -> sa.Engine:
    """An engine for ``url``; SQLite gets WAL mode, a busy timeout, foreign keys and write-locking BEGINs.

    read_only: open an SQLite file without writing anything, not even its WAL index, so that records in
    a read-only folder can still be read (the file must exist). Ignored for other databases.
    """
    u = sa.make_url(url)
    if u.get_backend_name() != "sqlite":
        return sa.create_engine(u, pool_pre_ping=True)
    path = sqlite_path(url)
    if read_only and path is not None:
        return _read_only_sqlite(path)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                # Names and attendance are personal data: owner only (SQLite gives its -wal file the same mode).
                with contextlib.suppress(FileExistsError):
                    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except OSError as err:
            raise RecordsError(f"cannot create the records database {path}: {err.strerror} "
                               "(the data folder must be writable to save)") from None
    engine = sa.create_engine(u, connect_args={"timeout": BUSY_TIMEOUT})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event issue BEGIN itself (the driver's own is deferred and too late).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT * 1000}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A writer takes the lock up front: a deferred transaction that reads, then writes, fails with
        # SQLITE_BUSY at once when another process wrote meanwhile (the busy timeout cannot help it).
        immediate = conn.get_execution_options().get("attendance_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _read_only_sqlite(path: Path) -> sa.Engine:
    """An engine that only reads ``path``.

    A WAL database needs its shared-memory index (``-shm``) even to read. In a folder we may not write,
    and with no index left by a writer, SQLite cannot make one: the file is then opened as immutable,
    which is only right when no writer's log (``-wal``) holds changes that the file does not.
    """
    if not path.is_file():
        raise RecordsError(f"no records database at {path} (attendance mark PHOTO... --class NAME --save makes one)")
    wal = Path(f"{path}-wal")
    writable_folder = os.access(path.parent, os.W_OK)
    immutable = not writable_folder and not Path(f"{path}-shm").exists() and not (wal.exists() and wal.stat().st_size)
    uri = f"file:{quote(str(path.resolve()))}?mode=ro" + ("&immutable=1" if immutable else "")

    def connect():
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT, check_same_thread=False)
        conn.isolation_level = None
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT * 1000}")
        return conn

    engine = sa.create_engine("sqlite://", creator=connect)

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN")

    return engine


@contextlib.contextmanager
def writing(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One write transaction: committed when the block ends, rolled back entirely if it raises."""
    with engine.connect() as conn:
        conn.execution_options(attendance_write=True)
        with conn.begin():
            yield conn
