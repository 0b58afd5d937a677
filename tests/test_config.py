"""Settings: defaults, attendance.toml, ATTENDANCE_* variables, flags; clear errors for bad values."""
import pytest

from attendance_core.config import ConfigError, load_settings, write_setting
from attendance_core.matching import DEFAULT_TOLERANCE


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for key in list(__import__("os").environ):
        if key.startswith("ATTENDANCE_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_defaults_without_a_file(tmp_path):
    s = load_settings()
    assert s.tolerance == DEFAULT_TOLERANCE and s.detector == "hog" and s.source == "defaults"
    assert s.roster_dir == tmp_path / "known_faces"
    assert s.resolved_database_url() == f"sqlite:///{tmp_path / 'attendance_data' / 'attendance.db'}"


def test_file_is_found_from_a_subfolder_and_paths_are_relative_to_it(tmp_path):
    (tmp_path / "attendance.toml").write_text('tolerance = 0.5\nroster_dir = "class_a"\n')
    sub = tmp_path / "notebooks"
    sub.mkdir()
    __import__("os").chdir(sub)
    s = load_settings()
    assert s.tolerance == 0.5 and s.roster_dir == tmp_path / "class_a"


def test_precedence_file_then_environment_then_flags(tmp_path, monkeypatch):
    (tmp_path / "attendance.toml").write_text("tolerance = 0.5\nmin_face_size = 40\n")
    monkeypatch.setenv("ATTENDANCE_TOLERANCE", "0.45")
    s = load_settings(min_face_size=None)
    assert s.tolerance == 0.45 and s.min_face_size == 40
    assert load_settings(tolerance=0.55).tolerance == 0.55


@pytest.mark.parametrize("text, message", [
    ("tolerance = 3\n", "tolerance must be between 0 and 2"),
    ('detector = "fast"\n', "detector must be 'hog' or 'cnn'"),
    ("tolerence = 0.5\n", "unknown setting 'tolerence'"),
    ('tolerance = "low"\n', "setting 'tolerance' must be a float"),
    ("tolerance = \n", "not valid TOML"),
])
def test_bad_settings_name_the_problem(tmp_path, text, message):
    (tmp_path / "attendance.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_write_setting_keeps_other_lines(tmp_path):
    path = tmp_path / "attendance.toml"
    path.write_text("# my class\ntolerance = 0.6\ndetector = \"hog\"\n")
    write_setting("tolerance", 0.52, path)
    assert path.read_text() == "# my class\ntolerance = 0.52\ndetector = \"hog\"\n"
    write_setting("min_face_size", 48, path)
    assert load_settings(path).min_face_size == 48 and load_settings(path).tolerance == 0.52
