"""Hostile and odd uploads, made at test time: each gets a clear message, the rest of the batch is marked.

The image loader is also fuzzed: whatever the bytes, it returns an RGB photo or raises ImageError.
"""
import io
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from attendance_core.images import ImageError, load_image
from attendance_core.roster import load_roster
from attendance_core.session import Session


def _jpeg(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def portrait(demo_class):
    return Image.open(demo_class / "sample_images" / "obama-480p.jpg").convert("RGB")


def hostile_corpus(portrait: Image.Image) -> list[tuple[str, bytes, str | None]]:
    """(file name, content, expected message fragment or None when the photo must be marked)."""
    good = _jpeg(portrait)
    bomb = io.BytesIO()
    Image.new("1", (30000, 30000)).save(bomb, "PNG")
    sixteen = io.BytesIO()
    Image.fromarray(np.asarray(portrait.convert("L"), dtype=np.uint16) * 257).save(sixteen, "PNG")
    gif = io.BytesIO()
    frames = [portrait.convert("P"), portrait.rotate(10).convert("P")]
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    heic = io.BytesIO()
    import pillow_heif

    pillow_heif.from_pillow(portrait).save(heic, quality=90)
    return [
        ("notes.jpg", b"Please find my homework attached.", "not an image"),
        ("cut.jpg", good[: len(good) // 3], "truncated"),
        ("zero.jpg", b"", "empty file"),
        ("bomb.png", bomb.getvalue(), "too large"),
        ("sixteen-bit.png", sixteen.getvalue(), None),
        ("cmyk.jpg", _jpeg(portrait.convert("CMYK")), None),
        ("animated.gif", gif.getvalue(), None),
        ("iphone.heic", heic.getvalue(), None),
        ("../../etc/passwd.jpg", good, None),
        ("Zoë_in_Ελληνικά_日本.jpg", good, None),
    ]


def test_hostile_batch_gives_clear_messages_and_marks_the_rest(portrait, demo_class, tmp_path):
    roster = load_roster(demo_class / "known_faces", cache_dir=tmp_path / "cache")
    session = Session(roster)
    corpus = hostile_corpus(portrait)
    before = set(p for p in tmp_path.rglob("*"))
    session.add_photos([(name, data) for name, data, _ in corpus])
    result = session.result()
    for (name, _, expected), photo in zip(corpus, result.photos):
        if expected is None:
            assert photo.error is None, f"{name}: {photo.error}"
            assert len(result.faces_in(result.photos.index(photo))) == 1, f"{name}: the face should be found"
        else:
            assert photo.error is not None and expected in photo.error, f"{name}: {photo.error}"
            assert photo.error.startswith(photo.name + ": ")
    assert result.present == ["Barack_Obama"]
    # A file name is only a label: "../../etc/passwd.jpg" is shown as its last part and nothing is written.
    assert result.photos[8].name == "passwd.jpg"
    assert set(p for p in tmp_path.rglob("*")) == before


def test_heic_photo_loads_upright(portrait):
    import pillow_heif

    buf = io.BytesIO()
    pillow_heif.from_pillow(portrait).save(buf, quality=90)
    arr = load_image(buf.getvalue(), "IMG_0001.HEIC")
    assert arr.shape == (portrait.height, portrait.width, 3)


_SEEDS = {}


def _seed_files():
    if not _SEEDS:
        img = Image.new("RGB", (64, 48), (200, 30, 90))
        for fmt in ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF"):
            buf = io.BytesIO()
            img.save(buf, fmt)
            _SEEDS[fmt] = buf.getvalue()
    return list(_SEEDS.values())


@st.composite
def mutated_images(draw):
    data = bytearray(draw(st.sampled_from(_seed_files())))
    for _ in range(draw(st.integers(0, 8))):
        pos = draw(st.integers(0, len(data) - 1))
        data[pos] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[: cut if draw(st.booleans()) else len(data)])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=2048), mutated_images()))
def test_loader_raises_only_image_error(data):
    try:
        arr = load_image(data, "fuzz.bin")
    except ImageError as err:
        assert str(err).startswith("fuzz.bin: ")
    else:
        assert arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3


# --- The same corpus uploaded through the dashboard (its state model, as the upload widget feeds it) ---

def phone_photo(path, min_mb: float = 15.0) -> bytes:
    """A phone-sized JPEG (4000x3000, sensor-like noise) of two_people.jpg, at least ``min_mb`` MB."""
    base = Image.open(path).convert("RGB").resize((4000, 3000), Image.BICUBIC)
    pixels = np.asarray(base, dtype=np.int16)
    noise = np.random.default_rng(7).normal(0, 22, pixels.shape).astype(np.int16)
    data = _jpeg(Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8)), quality=95, subsampling=0)
    assert len(data) >= min_mb * 2**20, len(data) / 2**20
    return data


def dashboard_corpus(portrait: Image.Image, sample_images) -> list[tuple[str, bytes, str | None]]:
    """The hostile corpus as one dashboard upload, plus a 15 MB phone photo and a file over the size limit.

    Every photo that must be marked has different bytes (the dashboard skips a photo uploaded twice).
    """
    corpus = [(name, data, expected) for name, data, expected in hostile_corpus(portrait)]
    corpus[8] = ("../../etc/passwd.jpg", _jpeg(portrait, quality=90), None)
    corpus[9] = ("Zoë_in_Ελληνικά_日本.jpg", _jpeg(portrait, quality=80), None)
    corpus.append(("IMG_4032.JPG", phone_photo(sample_images / "two_people.jpg"), None))
    corpus.append(("huge.jpg", b"\xff\xd8\xff\xe0" + bytes(51 * 2**20), "file too large"))
    return corpus


@pytest.fixture
def no_file_writes():
    """Records every file opened for writing (Python's audit hook) while the fixture's flag is on."""
    import sys

    writes: list[str] = []
    state = {"on": False}

    def hook(event, args):
        if state["on"] and event == "open" and args and isinstance(args[0], (str, bytes)):
            mode, flags = (args[1] or ""), (args[2] if len(args) > 2 and isinstance(args[2], int) else 0)
            import os as _os

            if any(m in str(mode) for m in "wax+") or flags & (_os.O_WRONLY | _os.O_RDWR | _os.O_CREAT):
                writes.append(str(args[0]))

    sys.addaudithook(hook)  # cannot be removed: it does nothing once the flag is off
    yield SimpleNamespace(writes=writes, start=lambda: state.update(on=True), stop=lambda: state.update(on=False))
    state["on"] = False


def test_dashboard_upload_of_the_hostile_corpus(app_settings, portrait, demo_class, tmp_path, monkeypatch,
                                                no_file_writes):
    from attendance_core.app.state import DashboardState

    monkeypatch.chdir(tmp_path)
    settings = app_settings.replace(max_files_per_upload=20)
    state = DashboardState(settings, demo_photo=demo_class / "sample_images" / "two_people.jpg")
    corpus = dashboard_corpus(portrait, demo_class / "sample_images")
    before = sorted(p for p in tmp_path.rglob("*"))
    no_file_writes.start()
    try:
        messages = state.add_photos([(name, data) for name, data, _ in corpus])
    finally:
        no_file_writes.stop()
    # Every refused file has one message naming it (by its last path part) and saying why; nothing else does.
    refused = [(name, expected) for name, _, expected in corpus if expected]
    assert len(messages) == len(refused), messages
    for (name, expected), message in zip(refused, messages):
        assert message.startswith(name + ":") and expected in message, (name, message)
        assert "Traceback" not in message
    # The other photos are all marked: each shows the face it holds, matched.
    marked = [name.rsplit("/", 1)[-1] for name, _, expected in corpus if expected is None]
    assert [p.name for p in state.photos] == marked
    att = state.attendance
    assert {"Barack_Obama", "Joe_Biden"} <= set(att.present)
    # Uploaded photos stay in memory: no file was opened for writing, nothing new in the folders.
    assert no_file_writes.writes == []
    assert sorted(p for p in tmp_path.rglob("*")) == before


def test_dashboard_upload_over_the_file_count_limit_marks_the_first_ones(app_settings, portrait, demo_class):
    from attendance_core.app.state import DashboardState

    state = DashboardState(app_settings.replace(max_files_per_upload=2),
                           demo_photo=demo_class / "sample_images" / "two_people.jpg")
    files = [(f"photo-{q}.jpg", _jpeg(portrait, quality=q)) for q in (95, 90, 85, 80)]
    messages = state.add_photos(files)
    assert len(messages) == 1, messages
    assert "at most 2 photos" in messages[0] and "photo-85.jpg" in messages[0] and "photo-80.jpg" in messages[0]
    assert [p.name for p in state.photos] == ["photo-95.jpg", "photo-90.jpg"]
    assert state.attendance.present == ["Barack_Obama"]


def test_dashboard_keeps_uploads_only_when_configured_and_only_in_the_data_folder(app_settings, portrait,
                                                                                   demo_class):
    import stat

    from attendance_core.app.state import DashboardState

    state = DashboardState(app_settings.replace(save_uploads=True),
                           demo_photo=demo_class / "sample_images" / "two_people.jpg")
    good = _jpeg(portrait)
    assert state.add_photos([("../../../escape.jpg", good), ("notes.jpg", b"not a photo")])
    uploads = app_settings.data_dir / "uploads"
    saved = [p for p in uploads.rglob("*") if p.is_file()]
    assert len(saved) == 1 and saved[0].read_bytes() == good  # the refused file is not kept
    assert saved[0].name.endswith("escape.jpg") and uploads in saved[0].parents
    assert stat.S_IMODE(saved[0].stat().st_mode) == 0o600
    for folder in [uploads, *[p for p in uploads.rglob("*") if p.is_dir()]]:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert not (app_settings.data_dir.parent / "escape.jpg").exists()


def test_dashboard_applies_the_pixel_limit_setting(app_settings, portrait, demo_class):
    from attendance_core.app.state import DashboardState

    state = DashboardState(app_settings.replace(max_pixels=200_000),
                           demo_photo=demo_class / "sample_images" / "two_people.jpg")
    small = _jpeg(portrait.resize((400, 300)))
    messages = state.add_photos([("big.jpg", _jpeg(portrait)), ("small.jpg", small)])
    w, h = portrait.size
    assert len(messages) == 1, messages
    assert messages[0].startswith(f"big.jpg: image too large ({w}x{h} = ") and "the limit is 0.2)" in messages[0]
    assert [p.name for p in state.photos] == ["small.jpg"]
