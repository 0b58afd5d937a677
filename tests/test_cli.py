"""The `attendance` command end to end, as an instructor runs it, on real photos."""
import csv
import io
import json
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image

from attendance_core.cli import main
from attendance_core.synthetic import make_classroom

DEMO = ["Alex_Lacamoire", "Barack_Obama", "Joe_Biden", "Kit_Harington", "Rose_Leslie"]


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_two_people_json(demo_class, data_dir):
    code, out, err = run("mark", demo_class / "sample_images" / "two_people.jpg",
                         "--roster", demo_class / "known_faces", "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["roster"] == 5
    assert sorted(result["present"]) == ["Barack_Obama", "Joe_Biden"]
    assert sorted(result["absent"]) == ["Alex_Lacamoire", "Kit_Harington", "Rose_Leslie"]
    assert result["unknown_faces"] == 0
    (photo,) = result["photos"]
    assert photo["file"] == "two_people.jpg" and photo["error"] is None
    assert len(photo["faces"]) == 2
    for face in photo["faces"]:
        top, right, bottom, left = face["box"]
        assert 0 <= top < bottom and 0 <= left < right
        assert face["student"] in ("Barack_Obama", "Joe_Biden") and 0 <= face["distance"] <= 0.6
        assert face["ambiguous"] is False


def test_console_script_is_installed(demo_class, data_dir):
    exe = shutil.which("attendance", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert exe, "the attendance console script should be installed next to python"
    proc = subprocess.run([exe, "mark", str(demo_class / "sample_images" / "kit_with_rose.jpg"),
                           "--roster", str(demo_class / "known_faces"), "--format", "json"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert sorted(json.loads(proc.stdout)["present"]) == ["Kit_Harington", "Rose_Leslie"]


def test_commands_start_without_loading_the_hubs_server_modules():
    # jupyterhub's server modules took ~2 s of every `attendance mark` (a regression from `attendance hub`).
    code = ("import sys; from attendance_core.cli import build_parser; build_parser(); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'jupyterhub', 'jupyter_server', 'jsonschema'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_broken_file_among_good_photos(demo_class, data_dir, tmp_path):
    broken = tmp_path / "IMG_0042.jpg"
    broken.write_bytes((demo_class / "sample_images" / "obama1.jpg").read_bytes()[:3000])
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    code, out, err = run("mark", demo_class / "sample_images" / "kit_with_rose.jpg", broken, text,
                         demo_class / "sample_images" / "two_people.jpg",
                         "--roster", demo_class / "known_faces", "--format", "json")
    assert code == 1
    result = json.loads(out)
    errors = {p["file"]: p["error"] for p in result["photos"]}
    assert "IMG_0042.jpg: truncated" in errors["IMG_0042.jpg"]
    assert "notes.jpg: not an image" in errors["notes.jpg"]
    assert errors["kit_with_rose.jpg"] is None and errors["two_people.jpg"] is None
    assert sorted(result["present"]) == ["Barack_Obama", "Joe_Biden", "Kit_Harington", "Rose_Leslie"]
    assert "error: IMG_0042.jpg: truncated" in err


def test_stranger_is_an_unknown_face(demo_class, data_dir):
    code, out, _ = run("mark", demo_class / "sample_images" / "lin-manuel-miranda.png",
                       "--roster", demo_class / "known_faces", "--format", "json")
    result = json.loads(out)
    assert code == 0 and result["present"] == [] and result["unknown_faces"] == 1
    assert result["photos"][0]["faces"][0]["student"] is None


def test_table_and_csv_formats(demo_class, data_dir):
    code, out, _ = run("mark", demo_class / "sample_images" / "two_people.jpg", "--roster", demo_class / "known_faces")
    assert code == 0
    assert "2 present, 3 absent, 0 unknown faces" in out and "Barack Obama" in out
    code, out, _ = run("mark", demo_class / "sample_images" / "two_people.jpg", "--roster",
                       demo_class / "known_faces", "--format", "csv")
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(out))}
    assert set(rows) == set(DEMO)
    assert rows["Joe_Biden"]["status"] == "present" and rows["Rose_Leslie"]["status"] == "absent"


def test_stricter_tolerance_flag_turns_matches_unknown(demo_class, data_dir):
    code, out, _ = run("mark", demo_class / "sample_images" / "two_people.jpg", "--roster",
                       demo_class / "known_faces", "--format", "json", "--tolerance", "0.01")
    result = json.loads(out)
    assert result["present"] == [] and result["unknown_faces"] == 2 and result["tolerance"] == 0.01


def test_roster_command_reports_problems(demo_class, data_dir, tmp_path):
    folder = tmp_path / "class"
    shutil.copytree(demo_class / "known_faces", folder, ignore=shutil.ignore_patterns("README.md"))
    Image.new("RGB", (200, 200), "gray").save(folder / "Empty_Chair.jpg")
    code, out, _ = run("roster", folder)
    assert code == 0
    assert "6 students, 5 recognisable" in out
    assert "Empty_Chair.jpg: no face found" in out


def test_usage_errors_are_messages_not_tracebacks(demo_class, data_dir, tmp_path):
    code, _, err = run("mark", demo_class / "sample_images" / "two_people.jpg", "--roster", tmp_path / "nowhere")
    assert code == 2 and "roster folder not found" in err and "Traceback" not in err
    code, _, err = run("mark", demo_class / "sample_images" / "two_people.jpg", "--tolerance", "7")
    assert code == 2 and "tolerance must be between 0 and 2" in err


def test_devdata_class_end_to_end(devdata, data_dir, tmp_path):
    """A roster of 12 people from the dev set; a classroom composite of their other photos plus 3 strangers."""
    rows = list(csv.DictReader(open(devdata / "labels.csv")))
    people: dict[str, list] = {}
    for r in rows:
        people.setdefault(r["identity"], []).append(devdata / r["path"])
    strangers = ["John_Simm", "Tony_Blair", "Hugo_Chavez"]
    folder = tmp_path / "class"
    folder.mkdir()
    for name, paths in people.items():
        if name not in strangers:
            shutil.copy(sorted(paths)[0], folder / f"{name}.jpg")
    rng = np.random.default_rng(0)
    attending = [n for n in sorted(people) if n not in strangers][:9]
    portraits = [(n, sorted(people[n])[1 + rng.integers(0, 9)]) for n in attending + strangers]
    image, placed = make_classroom(portraits, size=(2400, 1600), face_widths=(45, 120), seed=1)
    photo = tmp_path / "classroom.jpg"
    Image.fromarray(image).save(photo, quality=92)
    code, out, err = run("mark", photo, "--roster", folder, "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["roster"] == 12
    assert sorted(result["present"]) == sorted(attending)
    assert result["unknown_faces"] >= 3  # the strangers


def test_size_limits_from_the_configuration_apply_to_marking(demo_class, data_dir, monkeypatch):
    monkeypatch.setenv("ATTENDANCE_MAX_PIXELS", "100000")
    code, out, err = run("mark", demo_class / "sample_images" / "two_people.jpg", "--roster",
                         demo_class / "known_faces", "--format", "json")
    assert code == 1
    assert "two_people.jpg: image too large" in json.loads(out)["photos"][0]["error"]
