"""`attendance serve` brakes password guessing: failed logins are limited per address and in total.

The limiter's arithmetic is checked with a fake clock; a real server then refuses an address after
its tenth failed login, even the right password, and says so in its log.
"""
from __future__ import annotations

import secrets
import time

import pytest

from test_serve import PASSWORD, Client, served_class


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_is_refused_after_its_failures_until_the_oldest_is_a_window_old():
    from attendance_core.server.limits import LoginLimiter

    clock = Clock()
    limiter = LoginLimiter(per_address=3, total=100, window=60, clock=clock)
    for _ in range(3):
        assert limiter.refusal("10.0.0.1") is None
        limiter.failed("10.0.0.1")
        clock.now += 10
    assert limiter.refusal("10.0.0.1") == ("address", pytest.approx(30))
    assert limiter.refusal("10.0.0.2") is None  # another address is not affected
    clock.now += 30  # the first failure is now 60 s old
    assert limiter.refusal("10.0.0.1") is None


def test_all_logins_are_refused_after_too_many_failures_in_total():
    from attendance_core.server.limits import LoginLimiter

    clock = Clock()
    limiter = LoginLimiter(per_address=5, total=12, window=60, clock=clock)
    for n in range(12):
        limiter.failed(f"10.0.0.{n}")  # one failure each: no single address is over its limit
    assert limiter.refusal("10.9.9.9") == ("total", pytest.approx(60))
    clock.now += 61
    assert limiter.refusal("10.9.9.9") is None


def test_a_right_login_clears_its_address_failures():
    from attendance_core.server.limits import LoginLimiter

    limiter = LoginLimiter(per_address=2, total=100, window=60, clock=Clock())
    limiter.failed("10.0.0.1")
    limiter.succeeded("10.0.0.1")
    limiter.failed("10.0.0.1")
    assert limiter.refusal("10.0.0.1") is None


def test_a_password_shorter_than_12_characters_is_refused():
    from attendance_core.server import ServeError, hash_password

    with pytest.raises(ServeError, match="at least 12 characters"):
        hash_password("x" * 11)
    assert hash_password("x" * 12).startswith("argon2:")


@pytest.fixture(scope="module")
def guarded(demo_class, demo_encoding_cache, tmp_path_factory):
    """A password server of its own: this module locks 127.0.0.1 out of it."""
    with served_class(tmp_path_factory, demo_encoding_cache, "serve-logins", password=PASSWORD) as server:
        yield server


def test_password_guessing_is_stopped_and_logged(guarded):
    from attendance_core.server.limits import LOGIN_FAILURES_PER_ADDRESS

    client = Client(guarded.url)
    for n in range(LOGIN_FAILURES_PER_ADDRESS):
        status, _, _ = client.log_in(f"guess number {n:04d}")
        assert status == 401, n
    started = time.monotonic()
    status, headers, body = client.log_in("one guess too many")
    assert status == 429 and "Too many failed logins from your address" in body
    assert int(headers["Retry-After"]) > 60
    assert time.monotonic() - started < 10
    # Even the right password is refused now, from this address.
    status, _, body = client.log_in(PASSWORD)
    assert status == 429 and client.request("")[0] == 302
    log = guarded.log.read_text()
    assert log.count("Failed login from 127.0.0.1") == LOGIN_FAILURES_PER_ADDRESS
    assert "Logins from 127.0.0.1 are refused for a while" in log
    assert "Login from 127.0.0.1 refused: too many failed logins" in log


@pytest.fixture(scope="module")
def guarded_token(demo_class, demo_encoding_cache, tmp_path_factory):
    """A token server of its own (ATTENDANCE_TOKEN, no password): this module locks 127.0.0.1 out of it."""
    with served_class(tmp_path_factory, demo_encoding_cache, "serve-token-logins",
                      token=secrets.token_urlsafe(24)) as server:
        yield server


def test_token_guessing_in_the_address_is_stopped_and_logged(guarded_token):
    from attendance_core.server.limits import LOGIN_FAILURES_PER_ADDRESS

    client = Client(guarded_token.url)
    for n in range(LOGIN_FAILURES_PER_ADDRESS):
        status, headers, _ = client.request(f"?token=guess-{n:04d}-{'x' * 20}")
        assert status == 302 and "login" in headers["Location"], n  # no page, no kernel
    # Now even the right token gets no page from this address, and no kernel starts.
    status, headers, body = client.request(f"?token={guarded_token.token}")
    assert status == 302 and "login" in headers["Location"] and "kernelId" not in body
    log = guarded_token.log.read_text()
    assert log.count("Failed token login from 127.0.0.1") == LOGIN_FAILURES_PER_ADDRESS
    assert "Token login from 127.0.0.1 refused: too many failed logins" in log
    assert guarded_token.token not in log and "Kernel started" not in log
