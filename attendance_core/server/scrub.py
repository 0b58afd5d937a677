"""Secrets kept out of the logs of every process of ``serve`` and ``hub``: query values that are credentials.

A token can reach a log in a request's address (``?token=...``), and again, URL-encoded, in the address a
request is redirected to: JupyterHub logs ``302 GET /hub/home?token=[secret] -> /hub/login?next=%2Fhub%2Fhome
%3Ftoken%3D...`` with the redirect's ``next`` unscrubbed. :func:`scrub` hides a credential's value whether its
``?``/``&``/``=`` are plain or percent-encoded (once or twice); :func:`scrub_logs` applies it to every log
record of the process (Tornado's, Jupyter's, JupyterHub's, Voilà's, ours). Light: no Jupyter import.
"""
from __future__ import annotations

import logging
import re

_SEPARATOR = r"(?:[?&;]|%(?:25)?(?:3[fF]|26|3[bB]))"
_EQUALS = r"(?:=|%(?:25)?3[dD])"
#: Parameter names that carry credentials (JupyterHub's list, and ours): any name holding one of these.
_SECRET_NAMES = r"token|password|passwd|secret|xsrf|auth|code|state|key"
#: A secret query value: up to the next separator (plain or encoded), space or quote.
_SECRET_PARAMETER = re.compile(
    rf"({_SEPARATOR}(?:(?!{_EQUALS})[^=&\s%])*(?:{_SECRET_NAMES})(?:(?!{_EQUALS})[^=&\s%])*{_EQUALS})"
    rf"(?:(?!%(?:25)?26)[^&;\s\"'<>])*", re.IGNORECASE)


def scrub(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with secret query values (plain or URL-encoded) and the given secret strings replaced by ``[secret]``."""
    text = _SECRET_PARAMETER.sub(r"\1[secret]", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[secret]")
    return text


def scrub_logs(secrets: tuple[str, ...] = ()) -> None:
    """Make every log record of this process pass through :func:`scrub` (once per process)."""
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "attendance_scrub", False):
        return

    def factory(*args, **kwargs):
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's to report, not ours
            return record
        clean = scrub(message, secrets)
        if clean != message:
            record.msg, record.args = clean, ()
        return record

    factory.attendance_scrub = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
