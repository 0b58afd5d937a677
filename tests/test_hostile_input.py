"""Hostile and odd uploads, made at test time: each gets a clear message, the rest of the batch is marked.

The image loader is also fuzzed: whatever the bytes, it returns an RGB photo or raises ImageError.
"""
import io

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
