"""The shared recognition pool (pool.py): a real Dask LocalCluster analysing the demo class's real photos.

One pool of one worker process for the module (2 cores are shared); it speaks TLS, as `serve` and `hub` start it.
"""
from __future__ import annotations

import gc
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest
from PIL import Image

from attendance_core.recognition import AnalysisOptions, Recognizer, analyse_photo
from attendance_core.roster import load_roster
from attendance_core.session import Session

from conftest import KNOWN_FACES, SAMPLE_IMAGES

EXPECTED = {"Alex_Lacamoire": "absent", "Barack_Obama": "present", "Joe_Biden": "present",
            "Kit_Harington": "present", "Rose_Leslie": "present"}


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    """A one-worker pool; yields (cluster, certificate)."""
    from attendance_core.pool import start_pool

    certificate = tmp_path_factory.mktemp("pool") / "pool.pem"
    cluster = start_pool(1, certificate=certificate)
    try:
        yield cluster, certificate
    finally:
        cluster.close()


@pytest.fixture
def recognizer(pool):
    from attendance_core.pool import PoolRecognizer

    cluster, certificate = pool
    made = PoolRecognizer(cluster.scheduler_address, certificate)
    try:
        yield made
    finally:
        made.close()


def twelve_megapixel_jpeg(quality: int = 90) -> bytes:
    """two_people.jpg enlarged to 4000x3000 (12 MP), as JPEG bytes: never written to disk."""
    with Image.open(SAMPLE_IMAGES / "two_people.jpg") as img:
        big = img.convert("RGB").resize((4000, 3000), Image.BICUBIC)
    out = io.BytesIO()
    big.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _worker_pid(recognizer) -> int:
    return next(iter(recognizer.client().run(os.getpid).values()))


def test_a_photo_marked_on_the_pool_gets_the_same_faces_as_in_process(recognizer, demo_class, demo_encoding_cache):
    roster = load_roster(KNOWN_FACES, cache_dir=demo_encoding_cache)
    photos = [SAMPLE_IMAGES / "two_people.jpg", SAMPLE_IMAGES / "kit_with_rose.jpg"]
    pooled = Session(roster, keep_images=True, recognizer=recognizer)
    pooled.add_photos(photos)
    here = Session(roster, keep_images=True)
    here.add_photos(photos)
    assert {s.id: s.status for s in pooled.result().students} == EXPECTED
    for a, b in zip(pooled.photos, here.photos):
        assert a.error is None and a.name == b.name and a.sha256 == b.sha256 and a.size == b.size
        np.testing.assert_array_equal(a.faces.boxes, b.faces.boxes)
        np.testing.assert_allclose(a.faces.encodings, b.faces.encodings, atol=1e-6)
        assert a.image.shape == b.image.shape and a.image_scale == b.image_scale


def test_a_12_megapixel_photo_keeps_a_display_copy_made_by_the_caller_not_sent_back(recognizer, demo_class,
                                                                                      demo_encoding_cache):
    roster = load_roster(KNOWN_FACES, cache_dir=demo_encoding_cache)
    data = twelve_megapixel_jpeg()
    pooled = Session(roster, keep_images=True, recognizer=recognizer)
    pooled.add_photo(data, "class-12mp.jpg")
    here = Session(roster, keep_images=True)
    here.add_photo(data, "class-12mp.jpg")
    a, b = pooled.photos[0], here.photos[0]
    np.testing.assert_array_equal(a.faces.boxes, b.faces.boxes)
    assert a.size == b.size == (4000, 3000)
    # Read at half size (JPEG's DCT scaling) here, while the worker analysed: 2000 px, not the worker's 2048.
    assert a.image.shape == (1500, 2000, 3) and a.image_scale == 0.5 and b.image.shape == (1536, 2048, 3)
    for box in a.faces.boxes:  # each face in the same place of both copies
        top, right, bottom, left = (round(v * a.image_scale) for v in box)
        top_b, right_b, bottom_b, left_b = (round(v * b.image_scale) for v in box)
        face_a = np.asarray(Image.fromarray(a.image[top:bottom, left:right]).resize((64, 64)), dtype=float)
        face_b = np.asarray(Image.fromarray(b.image[top_b:bottom_b, left_b:right_b]).resize((64, 64)), dtype=float)
        assert np.abs(face_a - face_b).mean() < 8
    assert {s.id: s.status for s in pooled.result().students} == {s.id: s.status for s in here.result().students}


def test_analyse_photo_reports_an_unusable_photo_by_name_without_raising():
    result = analyse_photo(b"not a photo at all", "notes.txt")
    assert result.error.startswith("notes.txt: ") and len(result.boxes) == 0


def test_a_bad_photo_on_the_pool_comes_back_with_its_error_and_the_others_are_marked(recognizer, demo_class,
                                                                                      demo_encoding_cache):
    roster = load_roster(KNOWN_FACES, cache_dir=demo_encoding_cache)
    session = Session(roster, recognizer=recognizer)
    added = session.add_photos([("broken.jpg", b"\xff\xd8\xff garbage"),
                                ("two_people.jpg", (SAMPLE_IMAGES / "two_people.jpg").read_bytes())])
    assert added[0].error.startswith("broken.jpg: ") and added[1].error is None and len(added[1].faces) == 2


def test_a_roster_enrolled_through_the_pool_fills_the_encoding_cache(recognizer, demo_class, tmp_path):
    cache = tmp_path / "cache"
    pooled = load_roster(KNOWN_FACES, cache_dir=cache, encode=recognizer.reference_faces)
    assert not pooled.problems and list(cache.glob("*.json"))
    counted = []
    again = load_roster(KNOWN_FACES, cache_dir=cache, encode=lambda path: counted.append(path))
    assert counted == []  # every reference photo came from the cache the pool's encodings were written to
    np.testing.assert_allclose(again.reference_encodings, pooled.reference_encodings, atol=1e-7)


def test_the_pool_refuses_a_client_without_its_certificate(pool, demo_class):
    from attendance_core.pool import PoolRecognizer

    cluster, _ = pool
    stranger = PoolRecognizer(cluster.scheduler_address)
    result = stranger.analyse([_photo_file("two_people.jpg")], AnalysisOptions())[0]
    assert result.error.startswith("two_people.jpg: not marked: ") and "pool_certificate" in result.error


def test_a_refused_client_leaves_no_half_made_client_for_the_garbage_collector(pool, demo_class, tmp_path):
    """The cause of test_photos_waiting_for_a_worker_hear_their_place_in_the_queue failing on a busy machine
    (issue 30): the client refused just before it was left half-made, its IO loop running, in reference cycles.
    The garbage collector closed it when it next ran, and closing takes the lock of Dask's LoopRunner (one for
    the process): when that was in the IO loop thread of the next client starting, which holds the lock while
    it waits for the thread, that start failed after 10 s (``assert loop is not None``)."""
    from distributed import Client

    from attendance_core.pool import PoolRecognizer, write_certificate

    cluster, _ = pool
    gc.collect()
    gc.disable()  # what is left is seen before any collection can close it
    try:
        for certificate in (None, write_certificate(tmp_path / "another-pool.pem")):
            refused = PoolRecognizer(cluster.scheduler_address, certificate)
            error = refused.analyse([_photo_file("two_people.jpg")], AnalysisOptions())[0].error
            assert error.startswith("two_people.jpg: not marked: the recognition pool at "), error
            del refused
        left = [repr(c) for c in gc.get_objects() if isinstance(c, Client) and c.status != "closed"]
    finally:
        gc.enable()
    assert left == []


def _photo_file(name: str):
    from attendance_core.images import read_photo

    return read_photo(SAMPLE_IMAGES / name)


def test_photos_waiting_for_a_worker_hear_their_place_in_the_queue(recognizer, demo_class):
    from attendance_core.images import PhotoFile

    files = [PhotoFile(f"class-{k}.jpg", twelve_megapixel_jpeg(88 + k)) for k in range(3)]
    heard: list[tuple[str, str]] = []
    results = recognizer.analyse(files, AnalysisOptions(), lambda name, stage, f: heard.append((name, stage)))
    assert all(r.error is None and len(r.boxes) == 2 for r in results)
    waiting = [stage for name, stage in heard if name == "class-2.jpg" and stage.startswith("waiting")]
    # Two photos are ahead of the last one when it is sent; one photo of 12 MP takes about a second here.
    assert waiting and re.fullmatch(r"waiting for a free worker: (2 photos|1 photo) ahead of it, about \d+ s",
                                    waiting[0]), heard
    assert ("class-2.jpg", "detecting") in heard  # then its turn came


def test_queue_message_counts_rounds_of_the_workers():
    from attendance_core.pool import queue_message

    assert queue_message(0, 1, 3.0) is None and queue_message(3, 4, 3.0) is None
    assert queue_message(4, 4, 3.0) == "waiting for a free worker: 4 photos ahead of it, about 6 s"
    assert queue_message(1, 1, 2.5) == "waiting for a free worker: 1 photo ahead of it, about 5 s"


def test_a_worker_killed_mid_photo_names_the_photo_keeps_the_session_and_is_restarted(recognizer, demo_class,
                                                                                      demo_encoding_cache):
    from attendance_core.faces import DetectorSettings

    roster = load_roster(KNOWN_FACES, cache_dir=demo_encoding_cache)
    session = Session(roster, keep_images=True, recognizer=recognizer)
    session.add_photo(SAMPLE_IMAGES / "kit_with_rose.jpg")
    # The CNN detector takes tens of seconds over a 12 MP photo on this machine: the worker is surely busy.
    session.detector = DetectorSettings("cnn")
    victim = _worker_pid(recognizer)
    started = threading.Event()

    def kill_when_busy(name, stage, fraction):
        if stage == "detecting" and not started.is_set():
            started.set()
            os.kill(victim, signal.SIGKILL)

    photo = session.add_photo(twelve_megapixel_jpeg(), "class-12mp.jpg", progress=kill_when_busy)
    assert started.is_set()
    assert photo.error.startswith("class-12mp.jpg: not marked: the recognition worker stopped")
    assert "try this photo again" in photo.error
    assert [p.name for p in session.photos if not p.error] == ["kit_with_rose.jpg"]  # nothing marked was lost
    recognizer.client().wait_for_workers(1, timeout=120)  # the nanny starts a new worker
    assert _worker_pid(recognizer) != victim
    session.detector = DetectorSettings()
    again = session.add_photo(SAMPLE_IMAGES / "two_people.jpg")
    assert again.error is None and len(again.faces) == 2
    assert {s.id: s.status for s in session.result().students} == EXPECTED


KERNEL = r"""
import json, sys
from attendance_core.app import AttendanceApp
app = AttendanceApp.from_settings()
state = app.state
problems = state.add_photos([("two_people.jpg", open(sys.argv[1], "rb").read())])
print(json.dumps({"problems": problems, "roster_problems": [str(p) for p in state.roster.problems],
                  "status": {s.id: s.status for s in state.attendance.students},
                  "photo": len(state.annotated_photo(0)) > 0,
                  "loaded": sorted(m for m in ("dlib", "cv2", "face_recognition", "scipy", "matplotlib")
                                   if m in sys.modules)}))
"""


def test_a_dashboard_using_the_pool_never_loads_dlib_even_to_enroll_its_roster(pool, demo_class, tmp_path):
    from attendance_core.pool import ADDRESS_ENV, CERTIFICATE_ENV

    cluster, certificate = pool
    import shutil

    shutil.copytree(KNOWN_FACES, tmp_path / "known_faces", ignore=shutil.ignore_patterns("README.md"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTENDANCE_")}
    env.update({ADDRESS_ENV: cluster.scheduler_address, CERTIFICATE_ENV: str(certificate),
                "ATTENDANCE_ROSTER_DIR": str(tmp_path / "known_faces"),
                "ATTENDANCE_DATA_DIR": str(tmp_path / "attendance_data")})  # a cold cache: enrolled on the pool
    done = subprocess.run([sys.executable, "-c", KERNEL, str(SAMPLE_IMAGES / "two_people.jpg")], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["problems"] == [] and seen["roster_problems"] == [] and seen["photo"]
    assert seen["status"]["Barack_Obama"] == "present" and seen["status"]["Joe_Biden"] == "present"
    assert "dlib" not in seen["loaded"] and "cv2" not in seen["loaded"], seen["loaded"]
    assert list((tmp_path / "attendance_data" / "cache").glob("*.json"))


def test_without_a_pool_the_recognizer_runs_in_process(app_settings):
    from attendance_core.recognizers import recognizer_for

    assert type(recognizer_for(app_settings)) is Recognizer
    assert type(recognizer_for(app_settings.replace(pool_address="tls://127.0.0.1:1"))).__name__ == "PoolRecognizer"


# --- A camera's frames (issue 31): dropped, never queued behind photos, never starving them. ----------------

def _frame(name: str = "frame.jpg"):
    """A 640x480 camera frame of Barack Obama, as JPEG bytes."""
    from attendance_core.images import PhotoFile

    with Image.open(KNOWN_FACES / "Barack_Obama" / "obama.jpg") as img:
        small = img.convert("RGB").resize((640, 480))
    out = io.BytesIO()
    small.save(out, "JPEG", quality=85)
    return PhotoFile(name, out.getvalue())


def test_a_frame_goes_before_the_photos_waiting_for_the_pool(recognizer):
    from attendance_core.images import PhotoFile
    from attendance_core.pool import PHOTO_TASK

    def finished(dask_scheduler=None):
        return {str(ts.key) for ts in dask_scheduler.tasks.values() if ts.prefix.name == PHOTO_TASK
                and ts.state in ("memory", "erred", "forgotten")}

    with Image.open(SAMPLE_IMAGES / "two_people.jpg") as img:
        bigger = img.convert("RGB").resize((2400, 1800))
    photos = []
    for k in range(6):
        out = io.BytesIO()
        bigger.save(out, "JPEG", quality=80 + k)
        photos.append(PhotoFile(f"class-{k}.jpg", out.getvalue()))
    started = threading.Event()
    results: list = []
    thread = threading.Thread(target=lambda: results.extend(
        recognizer.analyse(photos, AnalysisOptions(), lambda *_: started.set())))
    thread.start()
    try:
        assert started.wait(120)
        before = recognizer.client().run_on_scheduler(finished)
        frame = recognizer.analyse_if_free(_frame(), AnalysisOptions())
        after = recognizer.client().run_on_scheduler(finished)
    finally:
        thread.join(600)
    assert frame is not None and frame.error is None and len(frame.boxes) == 1
    # It waited for the photo being analysed when it came, at most, not for the photos queued behind it.
    assert len(after - before) <= 1, f"{len(after - before)} photos were analysed while the frame waited"
    assert all(r.error is None and len(r.boxes) == 2 for r in results)


def test_a_second_frame_is_dropped_while_the_pools_room_for_frames_is_taken(recognizer):
    from attendance_core.images import PhotoFile
    from attendance_core.pool import FRAME_TASK, PHOTO_TASK

    def in_flight(prefix):
        def count(dask_scheduler=None):
            return sum(1 for ts in dask_scheduler.tasks.values() if ts.prefix.name == prefix)
        return count

    client = recognizer.client()

    def wait_for(prefix) -> bool:
        for _ in range(2000):
            if client.run_on_scheduler(in_flight(prefix)):
                return True
            threading.Event().wait(0.005)
        return False

    big = PhotoFile("class-12mp.jpg", twelve_megapixel_jpeg())
    busy = threading.Thread(target=recognizer.analyse, args=([big], AnalysisOptions()))
    first: list = []
    waiting = threading.Thread(target=lambda: first.append(recognizer.analyse_if_free(_frame("a.jpg"),
                                                                                      AnalysisOptions())))
    busy.start()
    try:
        # The one worker is busy with the 12 MP photo: the first frame waits for it, holding the room for frames.
        assert wait_for(PHOTO_TASK)
        waiting.start()
        assert wait_for(FRAME_TASK)
        assert recognizer.analyse_if_free(_frame("b.jpg"), AnalysisOptions()) is None
    finally:
        if waiting.is_alive() or first:
            waiting.join(120)
        busy.join(600)
    assert first and (first[0] is None or len(first[0].boxes) == 1)


def test_in_process_a_frame_is_dropped_while_a_photo_is_analysed(demo_class):
    from attendance_core.images import PhotoFile

    recognizer = Recognizer()
    big = PhotoFile("class-12mp.jpg", twelve_megapixel_jpeg())
    busy = threading.Thread(target=recognizer.analyse, args=([big], AnalysisOptions()))
    busy.start()
    try:
        for _ in range(1000):
            if Recognizer._working.locked():
                break
            threading.Event().wait(0.005)
        assert Recognizer._working.locked()
        assert recognizer.analyse_if_free(_frame(), AnalysisOptions()) is None
    finally:
        busy.join(600)
    frame = recognizer.analyse_if_free(_frame(), AnalysisOptions())
    assert frame is not None and len(frame.boxes) == 1
