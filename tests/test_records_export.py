"""Reports and session lists written as CSV or XLSX hold text only: no cell runs as a formula (issue 10, item 2)."""
from __future__ import annotations

import csv
import io
from datetime import datetime

import openpyxl
import pandas as pd

from attendance_core.records import Store, csv_safe, spreadsheet_text

try:
    from test_records import all_present, attendance, store, store_url  # noqa: F401  (fixtures)
    from test_records_cli import records_env, run  # noqa: F401
except ImportError:  # tests/ imported as a package
    from tests.test_records import all_present, attendance, store, store_url  # noqa: F401
    from tests.test_records_cli import records_env, run  # noqa: F401

EVIL_SUBJECT = '=HYPERLINK("http://evil.example","x")'
EVIL_STUDENT = '=HYPERLINK("http://evil.example","x")_A'
OTHER_FORMULAS = ["+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\r=1"]


def evil_report(store):
    """A class whose subject and one student id are formulas, and whose other names start with + - @ tab CR."""
    statuses = {**all_present(), EVIL_STUDENT: "present", **{f"{f}_B": "absent" for f in OTHER_FORMULAS}}
    store.save_session(attendance(statuses), class_name="demo", subject=EVIL_SUBJECT,
                       taken_at=datetime(2026, 3, 2, 9, 0))
    return store.report("demo")


def all_cells(path):
    book = openpyxl.load_workbook(path)
    return {name: [cell for row in book[name].iter_rows() for cell in row] for name in book.sheetnames}


def test_xlsx_report_holds_the_formula_like_text_as_text_in_every_sheet(store, tmp_path):
    evil_report(store).to_excel(tmp_path / "r.xlsx")
    sheets = all_cells(tmp_path / "r.xlsx")
    assert set(sheets) == {"attendance", "summary", "matrix", "sessions"}
    for name, cells in sheets.items():
        assert [c.coordinate for c in cells if c.data_type == "f"] == [], name
    values = {name: {c.value for c in cells} for name, cells in sheets.items()}
    # The exact text is kept, readable, as a string cell marked so that editing it keeps it text.
    for name in ("attendance", "summary", "matrix"):
        assert EVIL_STUDENT in values[name]
        # (XML reads a carriage return back as a line feed: that one is compared by its other cells)
        assert {f"{f}_B" for f in OTHER_FORMULAS if "\r" not in f} <= values[name]
    assert EVIL_SUBJECT in values["sessions"]
    evil = [c for c in sheets["summary"] if c.value == EVIL_STUDENT]
    assert evil and all(c.data_type == "s" and c.quotePrefix for c in evil)


def test_csv_report_cells_never_start_with_a_formula_character(store, tmp_path):
    evil_report(store).to_csv(tmp_path / "r.csv")
    with open(tmp_path / "r.csv", newline="") as f:
        cells = [cell for row in csv.reader(f) for cell in row]
    assert [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))] == []
    assert "'" + EVIL_STUDENT in cells and "'+1+1_B" in cells
    # Ordinary text and numbers are left alone.
    assert "Ada_Lovelace" in cells and "Ada Lovelace" in cells and "1.0" in cells


def test_spreadsheet_text_prefixes_only_formula_like_text():
    assert [spreadsheet_text(v) for v in ["=1", "+1", "-x", "@x", "\tx", "\rx", "a=1", "", 5, -5.0, None]] == [
        "'=1", "'+1", "'-x", "'@x", "'\tx", "'\rx", "a=1", "", 5, -5.0, None]
    frame = pd.DataFrame({"=col": ["=a", "b"], "n": [-1, 2]})
    safe = csv_safe(frame)
    assert list(safe.columns) == ["'=col", "n"] and safe["'=col"].tolist() == ["'=a", "b"]
    assert safe["n"].tolist() == [-1, 2] and frame["=col"].tolist() == ["=a", "b"]  # the original is untouched


def test_report_and_sessions_commands_write_no_formula(records_env, tmp_path):
    with Store(f"sqlite:///{records_env / 'attendance.db'}") as store:
        evil_report(store)
    code, out, err = run("report", "--class", "demo", "--format", "xlsx", "--output", str(tmp_path / "cli.xlsx"))
    assert code == 0, err
    cells = [c for sheet in all_cells(tmp_path / "cli.xlsx").values() for c in sheet]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    assert EVIL_STUDENT in {c.value for c in cells}
    for argv in (["report", "--class", "demo", "--format", "csv"], ["sessions", "--format", "csv"]):
        code, out, err = run(*argv)
        assert code == 0, err
        cells = [cell for row in csv.reader(io.StringIO(out)) for cell in row]
        assert [c for c in cells if c.startswith(("=", "+", "-", "@"))] == [], argv
    assert "'" + EVIL_SUBJECT in cells  # the sessions list names the subject, neutralised


def test_mark_csv_output_writes_a_formula_like_student_id_as_text(demo_class, tmp_path, data_dir):
    """`attendance mark --format csv` over a roster whose file name is a formula."""
    import shutil

    from attendance_core.cli import main

    evil = "=SUM(1+2)_A"  # a file name cannot hold the slashes of EVIL_STUDENT
    roster = tmp_path / "known_faces"
    roster.mkdir()
    shutil.copy(demo_class / "known_faces" / "Barack_Obama" / "obama.jpg", roster / f"{evil}.jpg")
    out, err = io.StringIO(), io.StringIO()
    code = main(["mark", str(demo_class / "sample_images" / "two_people.jpg"), "--roster", str(roster),
                 "--format", "csv"], out, err)
    assert code == 0, err.getvalue()
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["id"] for r in rows] == ["'" + evil]
    assert rows[0]["status"] == "present"


def test_dashboard_csv_download_writes_a_formula_like_subject_as_text(app_settings, demo_class):
    from attendance_core.app.state import DashboardState

    state = DashboardState(app_settings)
    state.subject = EVIL_SUBJECT
    state.add_photos([("two_people.jpg", (demo_class / "sample_images" / "two_people.jpg").read_bytes())])
    rows = list(csv.DictReader(io.StringIO(state.csv_text())))
    assert {r["subject"] for r in rows} == {"'" + EVIL_SUBJECT}
    assert all(not v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values())
