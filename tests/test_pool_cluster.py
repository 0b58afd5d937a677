"""The pool on a cluster of its own, as a district runs it (issue 30): one `dask scheduler` and `dask worker` processes
started by Dask's own command-line tools (tests/standalone_pool.py), TLS, each worker with its own scratch folder
and out of sight of the dashboards' data_dir and roster folder. `attendance serve` is given the cluster's address
and certificate (pool_address, pool_certificate) and starts no pool of its own; a real browser marks the demo
class's real photos through it while workers join, retire and die.
"""
from __future__ import annotations

import io
import os
import re
import secrets
import shutil
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

from attendance_core.pool import PHOTO_TASK, REFERENCE_TASK
from conftest import KNOWN_FACES, SAMPLE_IMAGES
from standalone_pool import START_SECONDS, client_of, standalone_pool
from test_serve import clean_env, start_server, stop_server
from test_serve_browser import TIMEOUT_MS, choose_photo, log_in, wait_for_status

EXPECTED = {"Alex_Lacamoire": "absent", "Barack_Obama": "present", "Joe_Biden": "present",
            "Kit_Harington": "present", "Rose_Leslie": "present"}
#: What the page says of a photo marked right (two_people.jpg and its copies: Barack Obama and Joe Biden).
RIGHT = re.compile(r"(\S+): 2 face\(s\), 2 student\(s\) recognised")
RETRY = "try this photo again"


@pytest.fixture(scope="module")
def district(demo_class, tmp_path_factory):
    """`attendance serve` over a copy of the demo class with a cold encoding cache, its pool a standalone cluster
    of two workers that cannot see the class's folder."""
    import cloudpickle

    # The functions this module runs on the scheduler travel by value: the cluster cannot import the tests.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    root = tmp_path_factory.mktemp("district")
    shutil.copytree(KNOWN_FACES, root / "known_faces", ignore=shutil.ignore_patterns("README.md"))
    (root / "attendance_data").mkdir(mode=0o700)
    (root / "secrets").mkdir(mode=0o700)
    certificate = root / "secrets" / "pool.pem"  # the dashboards' copy of the pool's key and certificate
    # The workers yield the two cores to the server and the browser (nice 10), as a pool on the dashboards' machine.
    with standalone_pool(2, niceness=10, certificate=certificate, hide=(root,)) as cluster:
        token = secrets.token_urlsafe(24)
        env = clean_env(root, ATTENDANCE_POOL_ADDRESS=cluster.address, ATTENDANCE_POOL_CERTIFICATE=str(certificate),
                        ATTENDANCE_MAX_FILES_PER_UPLOAD="12", ATTENDANCE_TOKEN=token)
        server = start_server(root, env)
        server.token = token
        observer = client_of(cluster)  # an operator's view of the cluster: which worker ran what
        observer.get_task_stream()  # the scheduler records every task from now on
        try:
            yield SimpleNamespace(server=server, cluster=cluster, root=root, observer=observer)
        finally:
            observer.close()
            stop_server(server.proc)


def _workers(observer) -> dict[str, str]:
    """Worker name -> address, of the workers the scheduler has now."""
    return {info["name"]: address for address, info in observer.scheduler_info()["workers"].items()}


def _ran(observer, prefix: str) -> dict[str, int]:
    """How many tasks of ``prefix`` each worker (by name) finished since the module began."""
    names = {address: name for name, address in _workers(observer).items()}
    counted: dict[str, int] = {}
    for task in observer.get_task_stream():
        if str(task["key"]).startswith(prefix + "-") and task.get("status") == "OK":
            who = names.get(task["worker"], task["worker"])
            counted[who] = counted.get(who, 0) + 1
    return counted


def _photos_on(dask_scheduler=None) -> dict[str, list[str]]:
    """On the scheduler: the photos (by file name) each worker is processing or holds ready to run, and (under
    ``None``) every photo the scheduler knows."""
    out: dict[str | None, list[str]] = {None: []}
    for ts in dask_scheduler.tasks.values():
        if ts.prefix.name == "analyse_photo":
            out[None].append(ts.run_spec.args[1])
            if ts.state == "processing" and ts.processing_on is not None:
                out.setdefault(ts.processing_on.name, []).append(ts.run_spec.args[1])
    return out


def _unfinished_photos(dask_scheduler=None) -> int:
    return sum(1 for ts in dask_scheduler.tasks.values()
               if ts.prefix.name == "analyse_photo" and ts.state in ("queued", "processing", "no-worker", "waiting"))


def _wait(condition, what: str, timeout: float = TIMEOUT_MS / 1000, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:.0f} s for {what}")
        time.sleep(every)
    return found


def _copies(folder: Path, prefix: str, count: int, size: tuple[int, int] | None = None) -> list[Path]:
    """``count`` copies of two_people.jpg (Barack Obama, Joe Biden) with different bytes (no photo is a duplicate of
    another), at ``size`` (default: as it is); made now, never committed."""
    folder.mkdir(exist_ok=True)
    made = []
    with Image.open(SAMPLE_IMAGES / "two_people.jpg") as img:
        picture = img.convert("RGB").resize(size, Image.BICUBIC) if size else img.convert("RGB")
    for k in range(count):
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=80 + k)
        path = folder / f"{prefix}-{k + 1}.jpg"
        path.write_bytes(out.getvalue())
        made.append(path)
    return made


def _upload(page, paths: list[Path]) -> None:
    with page.expect_file_chooser(timeout=TIMEOUT_MS) as chooser:
        page.click(".sa-upload-photos")
    chooser.value.set_files([str(p) for p in paths])


def _outcome(page) -> dict[str, str]:
    """Each photo's fate as the page tells it: ``right``, or its error line."""
    told = {}
    for line in page.inner_text(".sa-photos").splitlines():
        if (found := RIGHT.match(line.strip())):
            told[found.group(1)] = "right"
    for error in page.locator(".sa-message .sa-error").all_inner_texts():
        told[error.split(":", 1)[0].strip()] = error.strip()
    return told


def _wait_for_outcome(page, paths: list[Path]) -> dict[str, str]:
    names = [p.name for p in paths]
    page.wait_for_selector(".sa-progress-text:has-text('Done')", timeout=TIMEOUT_MS)
    return _wait(lambda: (told := _outcome(page)) and all(n in told for n in names) and told, f"the page on {names}")


def _save(page, subject: str) -> int:
    page.fill(".widget-text input[placeholder='e.g. Mathematics']", subject)
    page.keyboard.press("Tab")
    page.locator(".sa-save").click(no_wait_after=True)
    page.wait_for_selector(".sa-message .sa-success:has-text('Session saved')", timeout=TIMEOUT_MS)
    return int(re.search(r"Session saved \(number (\d+)\)", page.inner_text(".sa-message")).group(1))


def _marks(district, session_id: int) -> dict[str, str]:
    from attendance_core.config import load_settings
    from attendance_core.records import Store

    settings = load_settings(roster_dir=district.root / "known_faces", data_dir=district.root / "attendance_data")
    with Store.from_settings(settings) as store:
        df = store.session_marks(session_id)
    return dict(zip(df["student_id"], df["status"]))


def _signed_in_page(browser, district):
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    log_in(page, district.server)
    page.wait_for_selector(".sa-upload-photos", timeout=TIMEOUT_MS)
    return context, page


def test_serve_marks_the_demo_class_on_a_cluster_that_sees_none_of_its_folders(browser, district):
    observer = district.observer
    assert "recognition pool: tls://127.0.0.1:" in district.server.log.read_text() and "(from the settings)" in \
        district.server.log.read_text()  # serve started no pool of its own
    if district.cluster.isolated:  # the workers see an empty folder where the dashboards' files are
        assert set(map(tuple, observer.run(os.listdir, str(district.root)).values())) == {()}
        assert set(observer.run(os.path.exists, str(district.root / "known_faces" / "Alex_Lacamoire.jpg")).values()) \
            == {False}
    context, page = _signed_in_page(browser, district)
    try:
        choose_photo(page, SAMPLE_IMAGES / "two_people.jpg")
        wait_for_status(page, "Barack_Obama", "present")
        choose_photo(page, SAMPLE_IMAGES / "kit_with_rose.jpg")
        for student, status in EXPECTED.items():
            wait_for_status(page, student, status)
        session = _save(page, "Biology")
    finally:
        context.close()
    assert _marks(district, session) == EXPECTED
    # The roster was enrolled on the cluster (the cache started empty): the reference photos' bytes went with
    # the tasks, the encodings came back and were written to the cache on the dashboards' side only.
    references = [f for f in (district.root / "known_faces").rglob("*") if f.suffix.lower() in (".jpg", ".jpeg", ".png")]
    assert list((district.root / "attendance_data" / "cache").glob("*.json"))
    assert sum(_ran(observer, REFERENCE_TASK).values()) == len(references)
    assert sum(_ran(observer, PHOTO_TASK).values()) >= 2
    # Nothing of the class was written on the workers' side: no photo, no encoding.
    assert not [f for scratch in district.cluster.scratch.values() for f in scratch.rglob("*")
                if f.suffix.lower() in (".jpg", ".jpeg", ".png", ".json")]


def test_a_worker_that_joins_takes_photos_and_workers_that_leave_lose_none(browser, district, tmp_path):
    from distributed import Event

    observer, cluster = district.observer, district.cluster
    context, page = _signed_in_page(browser, district)
    try:
        # The rush: other teachers' work holds both workers, and this teacher's eight photos wait for one.
        hold = Event("attendance-test-rush", client=observer)

        def another_teachers_photo(event_name):
            from distributed import Event

            Event(event_name).wait()
            return "done"

        busy = [observer.submit(another_teachers_photo, hold.name, key=f"another-teacher-{name}", workers=[address],
                                pure=False) for name, address in _workers(observer).items()]
        _wait(lambda: len(observer.processing()) == 2 and all(observer.processing().values()), "both workers busy")
        first = _copies(tmp_path / "first", "first", 8)
        _upload(page, first)
        _wait(lambda: observer.run_on_scheduler(_unfinished_photos) == len(first), "the photos at the scheduler")
        joined = cluster.start_worker()  # the autoscaler adds a worker
        observer.wait_for_workers(3, timeout=START_SECONDS)
        _wait(lambda: _ran(observer, PHOTO_TASK).get(joined, 0) >= 1, f"{joined} to mark a photo")
        hold.set()
        assert [f.result(timeout=TIMEOUT_MS / 1000) for f in busy] == ["done", "done"]
        told = _wait_for_outcome(page, first)
        assert {p.name: told[p.name] for p in first} == {p.name: "right" for p in first}
        first_session = _save(page, "Rush")
        saved = _marks(district, first_session)
        assert saved["Barack_Obama"] == "present" and saved["Joe_Biden"] == "present"

        # The rush is over: one worker retired by the autoscaler while it marks a photo, one lost with its node.
        page.click("button:has-text('New session')")
        second = _copies(tmp_path / "second", "second", 6, (4000, 3000))  # 12 MP: about a second each
        _upload(page, second)
        on = _wait(lambda: (on := observer.run_on_scheduler(_photos_on)).get("worker-1") and on.get("worker-2")
                   and len(on[None]) == len(second) and on, "every photo sent, some on worker-1 and worker-2")
        cluster.kill_worker("worker-2")  # a node lost: the worker and its nanny at once
        observer.retire_workers(workers=[_workers(observer)["worker-1"]], close_workers=True)  # a scale-down
        cluster.stop_worker("worker-1")
        told = _wait_for_outcome(page, second)
        retry = {name for name, fate in told.items() if name.startswith("second-") and fate != "right"}
        for name in retry:
            assert told[name].startswith(f"{name}: not marked: the recognition worker stopped") and RETRY in told[name]
        assert retry and retry <= set(on["worker-2"]), (on, told)  # only what the lost worker held
        assert not retry & set(on["worker-1"])  # the retiring worker's photos were handed back and marked
        assert set(_workers(observer)) == {joined}
        # The teacher tries the named photos again, and they are marked; the session saves whole.
        _upload(page, [p for p in second if p.name in retry])
        told = _wait_for_outcome(page, [p for p in second if p.name in retry])
        assert all(told[name] == "right" for name in retry), told
        assert all(_outcome(page).get(p.name) == "right" for p in second)
        second_session = _save(page, "After the rush")
    finally:
        context.close()
    assert _marks(district, second_session)["Barack_Obama"] == "present"
    assert _marks(district, first_session) == saved  # the session saved before the workers left is as it was
