"""Reading and loading photos: one reader, EXIF rotation, every pixel format, a clear message for every bad file."""
import hashlib
import io
import os

import numpy as np
import pytest
from PIL import Image

from attendance_core.faces import detect_faces
from attendance_core.images import ImageError, PhotoFile, load_image, read_photo, safe_file_name


@pytest.fixture(scope="module")
def portrait(demo_class):
    return Image.open(demo_class / "sample_images" / "obama-480p.jpg").convert("RGB")


def _save(img, fmt, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_rotated_phone_photo_finds_faces(portrait):
    # A phone stores a portrait photo sideways and says so in the EXIF orientation tag (6 = rotate 90° CW to view).
    sideways = portrait.rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _save(sideways, "JPEG", exif=exif.tobytes(), quality=92)
    raw = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert len(detect_faces(raw)) == 0, "the sideways pixels alone should hide the face from HOG"
    upright = load_image(data, "phone.jpg")
    assert upright.shape[:2] == (portrait.height, portrait.width)
    assert len(detect_faces(upright)) == 1


def test_a_display_copy_is_read_at_a_reduced_size_upright_and_with_the_same_pixels(portrait):
    # A sideways phone photo enlarged to 3412 x 1920 px: read with at_least=1500, JPEG's DCT scaling gives 1/2
    # (1706 x 960 px, 1/4 would be under 1500), upright, and the pixels of the full decode made smaller.
    big = portrait.resize((portrait.width * 4, portrait.height * 4), Image.BICUBIC).rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _save(big, "JPEG", exif=exif.tobytes(), quality=92)
    full = load_image(data, "phone.jpg")
    small = load_image(data, "phone.jpg", at_least=1500)
    assert small.shape[:2] == (full.shape[0] // 2, full.shape[1] // 2)
    halved = np.asarray(Image.fromarray(full).resize(small.shape[1::-1], Image.BOX), dtype=np.float64)
    assert np.abs(halved - small).mean() < 3
    assert load_image(_save(portrait, "PNG"), "p.png", at_least=100).shape[:2] == (portrait.height, portrait.width)
    with pytest.raises(ImageError, match="image too large"):
        load_image(data, "phone.jpg", max_pixels=1000, at_least=1500)  # the limits hold for the full size


@pytest.mark.parametrize("mode", ["L", "RGBA", "CMYK", "P", "LA", "I;16"])
def test_pixel_formats_load_as_rgb_and_keep_the_face(portrait, mode):
    if mode == "I;16":
        gray = np.asarray(portrait.convert("L"), dtype=np.uint16) * 257
        img = Image.fromarray(gray)
        assert img.mode.startswith("I;16")
        fmt = "PNG"
    else:
        img = portrait.convert(mode)
        fmt = "JPEG" if mode in ("L", "CMYK") else "PNG"
    arr = load_image(_save(img, fmt), f"photo.{fmt.lower()}")
    assert arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3
    assert arr.shape[:2] == (portrait.height, portrait.width)
    assert arr.std() > 20, "pixels should not collapse to one colour"
    assert len(detect_faces(arr)) == 1


def test_webp_and_transparent_png_load(portrait):
    assert load_image(_save(portrait, "WEBP"), "a.webp").shape[2] == 3
    rgba = portrait.convert("RGBA")
    rgba.putalpha(0)  # fully transparent: shown on white
    arr = load_image(_save(rgba, "PNG"), "clear.png")
    assert arr.min() == 255


def test_path_and_bytes_give_the_same_pixels(demo_class):
    path = demo_class / "sample_images" / "two_people.jpg"
    assert np.array_equal(load_image(path), load_image(path.read_bytes()))


@pytest.mark.parametrize("content, reason", [
    (b"", "empty file"),
    (b"Dear students, the exam is on Monday.\n", "not an image"),
    (b"%PDF-1.4\n" + b"0" * 100, "not an image"),
])
def test_bad_files_are_refused_with_the_file_name(content, reason):
    with pytest.raises(ImageError) as info:
        load_image(content, "homework.jpg")
    assert str(info.value).startswith("homework.jpg: ")
    assert reason in str(info.value)
    assert info.value.file == "homework.jpg"


def test_truncated_jpeg_is_refused(portrait):
    data = _save(portrait, "JPEG")
    with pytest.raises(ImageError, match=r"cut\.jpg: truncated"):
        load_image(data[: len(data) // 2], "cut.jpg")


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError, match="nowhere.jpg: file not found"):
        load_image(tmp_path / "nowhere.jpg")
    with pytest.raises(ImageError, match="is a folder"):
        load_image(tmp_path)


def test_decompression_bomb_is_refused_before_decoding():
    # A tiny PNG that declares 30000 x 30000 pixels.
    big = Image.new("1", (30000, 30000))
    data = _save(big, "PNG")
    assert len(data) < 200_000
    with pytest.raises(ImageError, match="too large"):
        load_image(data, "bomb.png")


def test_pixel_and_byte_limits_are_settings(portrait):
    data = _save(portrait, "JPEG")
    with pytest.raises(ImageError, match="image too large"):
        load_image(data, "p.jpg", max_pixels=1000)
    with pytest.raises(ImageError, match="file too large"):
        load_image(data, "p.jpg", max_bytes=100)


def test_truncated_jpeg_is_refused_even_after_face_recognition_is_imported(portrait):
    import face_recognition  # noqa: F401  (it sets ImageFile.LOAD_TRUNCATED_IMAGES = True globally)
    from PIL import ImageFile

    assert ImageFile.LOAD_TRUNCATED_IMAGES is True
    data = _save(portrait, "JPEG")
    with pytest.raises(ImageError, match="truncated"):
        load_image(data[: len(data) // 2], "cut.jpg")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True, "the other library's setting is restored"


def test_read_photo_gives_the_name_bytes_and_sha256_of_a_path_bytes_or_file(demo_class):
    path = demo_class / "sample_images" / "two_people.jpg"
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    with open(path, "rb") as fh:
        files = [read_photo(path), read_photo(data, "two_people.jpg"), read_photo(memoryview(data), "two_people.jpg"),
                 read_photo(fh)]
    assert [(f.name, f.data, f.sha256) for f in files] == [("two_people.jpg", data, digest)] * 4
    assert read_photo(data).name == "upload"
    assert read_photo(data, "C:\\Users\\me\\class\n.jpg").name == "class.jpg"


def test_a_photo_read_once_is_not_read_again(demo_class, opened):
    file = read_photo(demo_class / "sample_images" / "two_people.jpg")
    assert read_photo(file) is file
    assert np.array_equal(load_image(file), load_image(file.data))
    assert opened == ["two_people.jpg"]
    assert read_photo(file, "renamed.jpg") == PhotoFile("renamed.jpg", file.data)


def test_oversized_photo_file_is_refused_before_it_is_read(tmp_path, opened):
    big = tmp_path / "big.jpg"
    big.touch()
    os.truncate(big, 3 * 2**20)  # sparse: 3 MB that take no room, and not opened by open()
    with pytest.raises(ImageError, match=r"^big\.jpg: file too large \(3\.0 MB, the limit is 2 MB\)$"):
        read_photo(big, max_bytes=2 * 2**20)
    assert opened == []


def test_a_file_object_is_read_no_further_than_the_limit():
    stream = io.BytesIO(b"x" * 3 * 2**20)
    with pytest.raises(ImageError, match=r"^upload: file too large \(over 1 MB\)$"):
        read_photo(stream, max_bytes=2**20)
    assert stream.tell() == 2**20 + 1


@pytest.mark.parametrize("name, shown", [
    ("../../etc/passwd", "passwd"),
    ("C:\\photos\\class.jpg", "class.jpg"),
    ("bell\x07\nring.jpg", "bellring.jpg"),
    ("", "photo"),
    ("a" * 200 + ".jpg", "a" * 117 + "..."),
])
def test_safe_file_name_keeps_the_last_part_and_no_control_characters(name, shown):
    assert safe_file_name(name) == shown
