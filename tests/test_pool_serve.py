"""`attendance serve` starts the shared recognition pool and its dashboards use it: a real server, a real
browser (Debian's chromium, Playwright), the demo class's real photos. The dashboard's kernel never maps
dlib; the pool's workers do, once each."""
from __future__ import annotations

import os
import secrets

import pytest

from conftest import SAMPLE_IMAGES
from procs import children, cmdline, environ, maps
from test_serve import served_class
from test_serve_browser import TIMEOUT_MS, choose_photo, log_in, wait_for_status


@pytest.fixture(scope="module")
def served(demo_class, demo_encoding_cache, tmp_path_factory):
    with served_class(tmp_path_factory, demo_encoding_cache, "serve-pool", token=secrets.token_urlsafe(24),
                      ATTENDANCE_POOL_WORKERS="1") as server:
        yield server


def test_served_dashboard_marks_through_the_pool_and_its_kernel_never_loads_dlib(browser, served):
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        log_in(page, served)
        page.wait_for_selector(".sa-upload-photos", timeout=TIMEOUT_MS)
        choose_photo(page, SAMPLE_IMAGES / "two_people.jpg")
        wait_for_status(page, "Barack_Obama", "present")
        wait_for_status(page, "Joe_Biden", "present")
        wait_for_status(page, "Alex_Lacamoire", "absent")
        processes = children(served.proc.pid)
        kernels = [p for p in processes if "ipykernel" in cmdline(p)]
        workers = [p for p in processes if "_dlib_pybind11" in maps(p)]
        assert len(kernels) == 1, [cmdline(p) for p in processes]
        kernel = kernels[0]
        assert environ(kernel)["ATTENDANCE_POOL_ADDRESS"].startswith("tls://127.0.0.1:")
        assert os.stat(environ(kernel)["ATTENDANCE_POOL_CERTIFICATE"]).st_mode & 0o077 == 0
        assert "_dlib_pybind11" not in maps(kernel) and "cv2" not in maps(kernel)
        assert len(workers) == 1 and kernel not in workers  # the one pool worker did the work
    finally:
        context.close()


def test_a_pool_named_in_the_settings_is_used_and_not_started(tmp_path, app_settings):
    from attendance_core.pool import ADDRESS_ENV, CERTIFICATE_ENV, shared_pool

    pem = tmp_path / "district.pem"
    settings = app_settings.replace(pool_address="tls://10.0.0.5:8786", pool_certificate=str(pem))
    told = []
    with shared_pool(settings, tmp_path, told.append) as env:
        assert env == {ADDRESS_ENV: "tls://10.0.0.5:8786", CERTIFICATE_ENV: str(pem)}
    assert told == ["recognition pool: tls://10.0.0.5:8786 (from the settings)"]
    assert not (tmp_path / "pool.pem").exists()
