"""Settings: match tolerance, detector, folders and database, from a file and the environment.

Precedence, lowest first: built-in defaults, the ``attendance.toml`` file (``$ATTENDANCE_CONFIG``, or
the first ``attendance.toml`` found from the current folder upwards), environment variables
``ATTENDANCE_<NAME>`` (e.g. ``ATTENDANCE_TOLERANCE=0.45``), then explicit overrides (command-line
flags). Relative folders in the file are relative to the file's folder.
"""
from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .decisions import DEFAULT_CHECK_BAND
from .errors import AttendanceError
from .faces import DEFAULT_DETECTOR, DETECTORS
from .files import write_atomic
from .matching import DEFAULT_AMBIGUITY_MARGIN, DEFAULT_TOLERANCE

CONFIG_FILE = "attendance.toml"
HUB_DASHBOARDS = ("shared", "per-teacher")
ENV_PREFIX = "ATTENDANCE_"


class ConfigError(AttendanceError, ValueError):
    """A setting with a wrong name or value; the message names the setting and the source."""


@dataclass(frozen=True)
class Settings:
    """All settings. Distances are 128-d encoding distances; sizes are in pixels of the original photo."""

    tolerance: float = DEFAULT_TOLERANCE
    ambiguity_margin: float = DEFAULT_AMBIGUITY_MARGIN
    check_band: float = DEFAULT_CHECK_BAND  # matches this close to the tolerance are flagged for a check
    detector: str = DEFAULT_DETECTOR  # a name from faces.DETECTORS
    min_face_size: int = 32  # smallest face width to find; smaller is slower
    jitters: int = 1  # re-sampled encodings per face; more is slower and slightly more accurate
    workers: int = 0  # threads for detection; 0 = all cores
    roster_dir: Path = Path("known_faces")
    classes_dir: str = ""  # a folder with one roster folder per class (a school); empty: roster_dir is the one class
    data_dir: Path = Path("attendance_data")
    database_url: str = ""  # empty: SQLite file in data_dir
    max_pixels: int = 60_000_000
    max_upload_mb: int = 50  # per photo
    max_files_per_upload: int = 10  # photos in one upload; the extra ones are refused with a message
    save_uploads: bool = False  # keep uploaded classroom photos in data_dir/uploads (owner-only files)
    late_after_minutes: float = 10.0  # a student first seen this long after the session's start is late
    # The dashboard server (`attendance serve`):
    password_hash: str = ""  # argon2 hash of the dashboard password (`attendance serve --set-password`)
    idle_kernel_minutes: float = 60.0  # a dashboard page left idle this long is closed (0 = never)
    max_kernels: int = 10  # dashboard pages (kernels, ~200-600 MB each) open at once, all users together
    max_kernels_per_user: int = 3  # dashboard pages open at once for one login (one browser)
    # `attendance hub`: "shared" (one dashboard server for every teacher, with preheated kernels) or
    # "per-teacher" (a Jupyter server per signed-in teacher: a pod each on Kubernetes).
    hub_dashboards: str = "shared"
    hub_max_kernels: int = 60  # the shared dashboard's pages open at once, all teachers together (~165 MB each)
    dashboard_warm_kernels: int = 4  # kernels the shared dashboard keeps ready for the next sign-ins (~117 MB each)
    hub_trial: bool = False  # a trial `attendance hub` on one machine: SQLite records for up to 10 users
    # The shared recognition pool (pool.py): set by `attendance serve` / `attendance hub` for their dashboards.
    pool_address: str = ""  # empty: photos are analysed in the dashboard's own process; tcp://HOST:PORT: that pool's
    pool_certificate: str = ""  # the pool's key and certificate (PEM, owner-only) for a tls:// pool_address
    recognition_pool: bool = True  # false: `serve` / `hub` start no pool, each dashboard analyses its own photos
    pool_workers: int = 0  # worker processes `serve` / `hub` start; 0 = one per core, within the memory
    source: str = field(default="defaults", compare=False)

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'attendance.db').resolve()}"

    def replace(self, **changes: Any) -> "Settings":
        """A copy with some settings changed (``None`` values are ignored), validated."""
        changes = {k: v for k, v in changes.items() if v is not None}
        return _validated(dataclasses.replace(self, **_coerce_all(changes, "override")))


_FIELDS = {f.name: f for f in dataclasses.fields(Settings) if f.name != "source"}


def _coerce(name: str, value: Any, origin: str) -> Any:
    if name not in _FIELDS:
        known = ", ".join(sorted(_FIELDS))
        raise ConfigError(f"{origin}: unknown setting '{name}' (known: {known})")
    kind = _FIELDS[name].type
    try:
        if kind == "float":
            return float(value)
        if kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if kind == "bool":
            return _boolean(value)
        if kind == "Path":
            return Path(os.path.expanduser(str(value)))
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{origin}: setting '{name}' must be a {kind}, not {value!r}") from None


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "on", "1", "false", "no", "off", "0", ""):
        return value.strip().lower() in ("true", "yes", "on", "1")
    raise ValueError(value)


def _coerce_all(values: dict[str, Any], origin: str) -> dict[str, Any]:
    return {k: _coerce(k, v, origin) for k, v in values.items()}


def _validated(s: Settings) -> Settings:
    if not 0.0 < s.tolerance < 2.0:
        raise ConfigError(f"tolerance must be between 0 and 2 (typical 0.4-0.6), not {s.tolerance}")
    if s.detector not in DETECTORS:
        raise ConfigError(f"detector must be {' or '.join(map(repr, DETECTORS))}, not {s.detector!r}")
    if not 8 <= s.min_face_size <= 2000:
        raise ConfigError(f"min_face_size must be between 8 and 2000 pixels, not {s.min_face_size}")
    if not 0 <= s.jitters <= 100:
        raise ConfigError(f"jitters must be between 0 and 100, not {s.jitters}")
    if s.ambiguity_margin < 0:
        raise ConfigError(f"ambiguity_margin must be 0 or more, not {s.ambiguity_margin}")
    if not 0 <= s.check_band <= 0.3:
        raise ConfigError(f"check_band must be between 0 (no check) and 0.3 (typical 0.04), not {s.check_band}")
    if not 1 <= s.max_upload_mb <= 1000:
        raise ConfigError(f"max_upload_mb must be between 1 and 1000 (MB per photo), not {s.max_upload_mb}")
    if s.max_pixels < 1:
        raise ConfigError(f"max_pixels must be 1 or more, not {s.max_pixels}")
    if not 1 <= s.max_files_per_upload <= 500:
        raise ConfigError(f"max_files_per_upload must be between 1 and 500, not {s.max_files_per_upload}")
    if not 0 <= s.idle_kernel_minutes <= 7 * 24 * 60:
        raise ConfigError(f"idle_kernel_minutes must be between 0 (never) and 10080 (a week), "
                          f"not {s.idle_kernel_minutes}")
    if not 1 <= s.max_kernels <= 1000:
        raise ConfigError(f"max_kernels must be between 1 and 1000, not {s.max_kernels}")
    if not 1 <= s.max_kernels_per_user <= s.max_kernels:
        raise ConfigError(f"max_kernels_per_user must be between 1 and max_kernels ({s.max_kernels}), "
                          f"not {s.max_kernels_per_user}")
    if s.hub_dashboards not in HUB_DASHBOARDS:
        raise ConfigError(f"hub_dashboards must be {' or '.join(map(repr, HUB_DASHBOARDS))}, not {s.hub_dashboards!r}")
    if not 1 <= s.hub_max_kernels <= 10_000:
        raise ConfigError(f"hub_max_kernels must be between 1 and 10000, not {s.hub_max_kernels}")
    if not 0 <= s.dashboard_warm_kernels <= 100:
        raise ConfigError(f"dashboard_warm_kernels must be between 0 (none) and 100, not {s.dashboard_warm_kernels}")
    if not 0 <= s.late_after_minutes <= 24 * 60:
        raise ConfigError(f"late_after_minutes must be between 0 and 1440 (a day), not {s.late_after_minutes}")
    if s.pool_address and not re.match(r"^(tcp|tls)://[^\s/]+:\d+/?$", s.pool_address):
        raise ConfigError(f"pool_address must look like tcp://127.0.0.1:8786 (or tls://...), not {s.pool_address!r}")
    if not 0 <= s.pool_workers <= 256:
        raise ConfigError(f"pool_workers must be between 0 (one per core) and 256, not {s.pool_workers}")
    if s.password_hash and not s.password_hash.startswith("argon2:"):
        # A plain password here would be readable by anyone who can read the file or the environment.
        raise ConfigError("password_hash must be a hashed password starting with 'argon2:' "
                          "(make one with `attendance serve --set-password`), not a plain password")
    return s


def find_config_file(start: Path | None = None) -> Path | None:
    """The config file in force: ``$ATTENDANCE_CONFIG``, or ``attendance.toml`` from ``start`` upwards."""
    env = os.environ.get(ENV_PREFIX + "CONFIG")
    if env:
        return Path(env)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
    return None


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from defaults, the config file, ``ATTENDANCE_*`` variables and ``overrides``."""
    values: dict[str, Any] = {}
    source = "defaults"
    path = config_file or find_config_file()
    base = Path.cwd()
    if path is not None:
        path = Path(path)
        try:
            with open(path, "rb") as fh:
                raw = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{path}: not valid TOML ({err})") from None
        values.update(_coerce_all(raw, str(path)))
        base = path.resolve().parent
        source = str(path)
    for key, value in os.environ.items():
        if key.startswith(ENV_PREFIX) and key != ENV_PREFIX + "CONFIG":
            name = key[len(ENV_PREFIX):].lower()
            if name in _FIELDS:
                values[name] = _coerce(name, value, f"environment variable {key}")
    values.update(_coerce_all({k: v for k, v in overrides.items() if v is not None}, "override"))
    settings = Settings(**values, source=source)
    # Relative folders are relative to the config file's folder (or the current folder without one).
    settings = dataclasses.replace(settings, roster_dir=base / settings.roster_dir, data_dir=base / settings.data_dir,
                                   classes_dir=str(base / settings.classes_dir) if settings.classes_dir else "")
    return _validated(settings)


def write_setting(name: str, value: Any, config_file: Path | None = None) -> Path:
    """Write one setting into the config file (created if needed), keeping its other lines; returns the file."""
    value = _coerce(name, value, "write_setting")
    path = Path(config_file or find_config_file() or Path.cwd() / CONFIG_FILE)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if isinstance(value, bool):
        rendered = "true" if value else "false"
    elif isinstance(value, (int, float)):
        rendered = repr(value)
    else:
        rendered = '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
    line = f"{name} = {rendered}"
    pattern = re.compile(rf"^\s*{re.escape(name)}\s*=.*$", re.MULTILINE)
    if pattern.search(text):
        text = pattern.sub(line, text, count=1)
    else:
        text = text + ("" if text.endswith("\n") or not text else "\n") + line + "\n"
    return write_atomic(path, text)
