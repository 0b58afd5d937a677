"""Load classroom and reference photos into RGB arrays, refusing bad files with a clear message.

Every photo that enters the system is read by :func:`read_photo`, from a path (roster, CLI), bytes
(dashboard uploads) or a file object: its name, its bytes (size checked before reading) and its
SHA-256. :func:`load_image` decodes it. It applies the EXIF orientation, because phones store portrait
photos sideways with a tag and a sideways face is not found, and it normalises every pixel format
(grayscale, RGBA, CMYK, palette, 16-bit) to 8-bit RGB.
"""
from __future__ import annotations

import hashlib
import io
import math
import os
import threading
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from .errors import AttendanceError

try:  # iPhone photos (HEIC) when pillow-heif is installed
    from pillow_heif import register_heif_opener

    register_heif_opener()
    _HEIF = True
except ImportError:  # pragma: no cover - optional dependency
    _HEIF = False



@dataclass(frozen=True)
class PhotoFile:
    """A photo's content as read, before decoding: ``name`` (safe to show, see :func:`safe_file_name`) and
    ``data`` (the file's bytes); ``sha256`` is the hex SHA-256 of ``data``, computed once when first asked."""

    name: str
    data: bytes = field(repr=False)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


#: What a photo can be given as: a path, its bytes (an upload), a binary file object, or a PhotoFile already read.
ImageSource = Union[str, os.PathLike, bytes, bytearray, memoryview, BinaryIO, PhotoFile]

#: Formats accepted, as Pillow names them.
ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "BMP", "TIFF", "GIF", "HEIF"})
#: File extensions the roster and CLI look at.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic", ".heif"})
#: Default pixel limit: a 50-megapixel phone photo passes, a decompression bomb does not.
DEFAULT_MAX_PIXELS = 60_000_000
#: Default file-size limit in bytes.
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


class ImageError(AttendanceError, ValueError):
    """A photo that cannot be used; ``str(err)`` names the file and the problem."""

    def __init__(self, file: str, reason: str):
        self.file = file
        self.reason = reason
        super().__init__(f"{file}: {reason}")


def safe_file_name(name: str, limit: int = 120) -> str:
    """A file name safe to show and log: its last path part (``/`` or ``\\``), no control characters,
    at most ``limit`` characters ("photo" when nothing is left)."""
    base = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    if len(base) > limit:
        base = base[: limit - 3] + "..."
    return base or "photo"




def is_image_file(path: Union[str, os.PathLike]) -> bool:
    """True when the file name has a photo extension and is not hidden."""
    p = Path(path)
    return p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")


def _megapixels(pixels: float) -> str:
    """``60`` for 60 000 000, ``0.2`` for 200 000: as many digits as a limit needs."""
    return f"{pixels / 1e6:.0f}" if pixels >= 10_000_000 else f"{pixels / 1e6:.1f}".rstrip("0").rstrip(".")


def _too_large(size: int, max_bytes: int) -> str:
    return f"file too large ({size / 2**20:.1f} MB, the limit is {max_bytes / 2**20:.0f} MB)"


def read_photo(source: ImageSource, name: str | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES) -> PhotoFile:
    """Read a photo's bytes, the one place a photo source is read: returns its name, bytes and SHA-256.

    source: a path, raw bytes (an upload), a binary file object or a :class:`PhotoFile`; name: what
    messages call the file (default: the path's file name, the file object's name, or "upload"),
    made safe to show. No more than ``max_bytes`` + 1 bytes are ever read: a path's size is checked
    before reading it. Raises :class:`ImageError` when the file is missing, a folder, unreadable,
    empty or over ``max_bytes``; whether it is an image is :func:`load_image`'s to say.
    """
    if isinstance(source, PhotoFile):
        default = source.name
    elif isinstance(source, (str, os.PathLike)):
        default = Path(source).name
    else:
        default = getattr(source, "name", "upload")
    name = safe_file_name(default if name is None else name)
    if isinstance(source, PhotoFile):
        data = source.data
    elif isinstance(source, (bytes, bytearray, memoryview)):
        size = memoryview(source).nbytes
        if size > max_bytes:
            raise ImageError(name, _too_large(size, max_bytes))
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        data = _read_path(Path(source), name, max_bytes)
    else:
        try:
            data = source.read(max_bytes + 1)
        except OSError as err:
            raise _unreadable(name, err) from None
    if len(data) == 0:
        raise ImageError(name, "empty file (0 bytes)")
    if len(data) > max_bytes:
        raise ImageError(name, f"file too large (over {max_bytes / 2**20:.0f} MB)")
    return source if isinstance(source, PhotoFile) and source.name == name else PhotoFile(name, data)


def _read_path(path: Path, name: str, max_bytes: int) -> bytes:
    try:
        if path.is_dir():
            raise ImageError(name, "is a folder, not a photo")
        size = path.stat().st_size
        if size > max_bytes:
            raise ImageError(name, _too_large(size, max_bytes))
        with open(path, "rb") as fh:
            # Bounded, in case the file grew since stat() or is not a regular file (a device, a pipe).
            return fh.read(max_bytes + 1)
    except OSError as err:
        raise _unreadable(name, err) from None


def _unreadable(name: str, err: OSError) -> ImageError:
    if isinstance(err, FileNotFoundError):
        return ImageError(name, "file not found")
    return ImageError(name, f"cannot be read ({err.strerror or err})")


def _to_rgb(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16/32-bit grayscale: stretch to the full 8-bit range rather than clip to black.
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        arr8 = ((arr - lo) * scale).clip(0, 255).astype(np.uint8)
        return Image.fromarray(arr8, "L").convert("RGB")
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode == "CMYK":
        # Pillow's CMYK->RGB is naive; JPEG CMYK from Photoshop is often inverted (Adobe APP14).
        return img.convert("RGB")
    return img.convert("RGB")


_strict_lock = threading.Lock()


def _load_strictly(img: Image.Image) -> None:
    """Decode all pixels, refusing a truncated file even if another library told Pillow to accept them.

    (face_recognition sets ``ImageFile.LOAD_TRUNCATED_IMAGES = True`` on import: a cut-off photo would
    then load with a grey bottom half and silently lose the faces there.)
    """
    with _strict_lock:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            img.load()
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous


def load_image(
    source: ImageSource,
    name: str | None = None,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    at_least: int = 0,
) -> np.ndarray:
    """Load a photo as an ``(height, width, 3)`` uint8 RGB array, upright per its EXIF orientation.

    at_least: when given (pixels), a JPEG is decoded at the smallest of its reduced sizes (1/2, 1/4, 1/8) whose
    longer side is still ``at_least``: a fraction of the full decode's time and memory (a display copy).

    source: a path, raw bytes (an upload), a binary file object, or a :class:`PhotoFile` from
    :func:`read_photo` (not read again); name: what error messages call the file (see read_photo).
    Raises :class:`ImageError` for anything that is not a usable photo: missing, empty, over
    ``max_bytes``, not an image, truncated or corrupt, an unsupported format, or more than
    ``max_pixels`` pixels.
    """
    photo = read_photo(source, name, max_bytes=max_bytes)
    name, data = photo.name, photo.data
    try:
        with warnings.catch_warnings():
            # Pillow warns about odd EXIF and the like: noise for a user. Its own bomb check raises.
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            fmt = img.format or "unknown"
            width, height = img.size
            if width <= 0 or height <= 0:
                raise ImageError(name, "image has no pixels")
            if width * height > max_pixels:
                raise ImageError(
                    name,
                    f"image too large ({width}x{height} = {_megapixels(width * height)} megapixels, "
                    f"the limit is {_megapixels(max_pixels)})",
                )
            if fmt not in ACCEPTED_FORMATS:
                raise ImageError(name, f"unsupported image format {fmt} (use JPEG, PNG, WebP or HEIC)")
            if getattr(img, "n_frames", 1) > 1 and fmt == "GIF":
                img.seek(0)  # animated GIF: the first frame is the photo
            if at_least and max(width, height) > at_least:
                ratio = at_least / max(width, height)
                img.draft(img.mode, (math.ceil(width * ratio), math.ceil(height * ratio)))  # JPEG only
            _load_strictly(img)
            img = ImageOps.exif_transpose(img)
            rgb = _to_rgb(img)
            arr = np.asarray(rgb, dtype=np.uint8)
    except ImageError:
        raise
    except UnidentifiedImageError:
        hint = "" if _HEIF or not data[4:12].startswith(b"ftyp") else " (HEIC photo: install pillow-heif)"
        raise ImageError(name, f"not an image, or a format that cannot be read{hint}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow will not even open an image over twice its own limit: far over ours too.
        raise ImageError(name, f"image too large (over {_megapixels(2 * Image.MAX_IMAGE_PIXELS)} megapixels, "
                               f"the limit is {_megapixels(max_pixels)})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        text = str(err)
        if "truncated" in text or "broken data stream" in text or isinstance(err, EOFError):
            raise ImageError(name, "truncated or corrupt image (the file ends early)") from None
        raise ImageError(name, f"corrupt image ({text or type(err).__name__})") from None
    except MemoryError:
        raise ImageError(name, "image too large to load in memory") from None
    except Exception as err:  # a decoder bug on hostile bytes must still be a clear refusal
        raise ImageError(name, f"corrupt image ({type(err).__name__})") from None
    if arr.ndim != 3 or arr.shape[2] != 3:  # pragma: no cover - _to_rgb guarantees RGB
        raise ImageError(name, f"unexpected pixel layout {arr.shape}")
    return np.ascontiguousarray(arr)



_EXIF_IFD, _DATETIME_ORIGINAL, _OFFSET_TIME_ORIGINAL = 0x8769, 36867, 36881


def photo_time(data: bytes) -> datetime | None:
    """When a photo was taken, from its EXIF ``DateTimeOriginal`` (timezone-aware), or None when it has none.

    The EXIF time is the camera's wall clock; with ``OffsetTimeOriginal`` (phones write it) it is
    exact, otherwise it is taken as this computer's local time. A malformed tag gives None.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exif = Image.open(io.BytesIO(data)).getexif().get_ifd(_EXIF_IFD)
        text = str(exif.get(_DATETIME_ORIGINAL, "")).strip("\x00 ")
        if not text:
            return None
        moment = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
        offset = str(exif.get(_OFFSET_TIME_ORIGINAL, "")).strip("\x00 ")
        if offset:
            return datetime.fromisoformat(moment.isoformat() + offset)
        return moment.astimezone()
    except Exception:  # any odd EXIF (wrong types, impossible dates, unreadable bytes): no time
        return None
