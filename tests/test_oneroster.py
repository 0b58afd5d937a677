"""OneRoster bundles (issue 22): a bundle written from the specification imports, a re-import changes nothing,
a delta bundle applies only its changes, and bad input is refused whole with its file and line (SQLite and
PostgreSQL)."""
from __future__ import annotations

import io
import shutil
from contextlib import redirect_stderr, redirect_stdout
from datetime import date

import pytest
import sqlalchemy as sa

from attendance_core.config import load_settings
from attendance_core.records import Store
from attendance_core.results import CONSENT_NOT_ASKED
from attendance_core.school import oneroster, oneroster_read
from attendance_core.school.access import Directory
from attendance_core.school.oneroster import OneRosterError, enrollment_history, import_oneroster

from oneroster_bundle import SAME_NAME, school, student_classes, student_ids, student_name, write_bundle

try:
    from test_records import attendance, store_url  # noqa: F401  (store_url: a fixture)
except ImportError:  # tests/ imported as a package
    from tests.test_records import attendance, store_url  # noqa: F401


@pytest.fixture
def settings(tmp_path, data_dir, store_url, monkeypatch):
    monkeypatch.setenv("ATTENDANCE_DATABASE_URL", store_url)
    return load_settings(roster_dir=tmp_path / "roster", data_dir=data_dir)


def _expected_list(cls: str) -> list[str]:
    return sorted(sid for sid in student_ids() if cls in student_classes(sid))


def _all_rows(url: str) -> dict[str, list]:
    """Every row of every table of the records, OneRoster's and the users' included (to compare whole states)."""
    engine = sa.create_engine(url)
    try:
        tables = sa.MetaData()
        tables.reflect(engine)
        with engine.connect() as conn:
            return {name: sorted(map(tuple, conn.execute(sa.select(t)).all()), key=repr)
                    for name, t in tables.tables.items()}
    finally:
        engine.dispose()


def test_a_oneroster_1_1_bundle_of_3_classes_2_teachers_and_40_students_imports(tmp_path, settings):
    bundle = write_bundle(tmp_path / "bundle", school())
    report = import_oneroster(bundle, settings, by="office")
    assert (report.version, report.students, report.teachers) == ("1.1", 40, 2)
    assert report.classes == {"7A Maths": 15, "7B Maths": 15, "8A Science": 15}
    assert sorted(report.added) == student_ids()
    assert report.teachers_added == ["ana", "ben"]
    assert report.assigned == [("7A Maths", "ana"), ("7B Maths", "ben"), ("8A Science", "ana")]
    with Store.from_settings(settings) as store:
        for cls, name in (("cls-7a", "7A Maths"), ("cls-7b", "7B Maths"), ("cls-8a", "8A Science")):
            listed = store.class_list(name)
            assert sorted(sid for sid, _, _ in listed) == _expected_list(cls)
        register = {sid: (name, consent) for sid, name, consent in store.register()}
        directory = Directory.of(store)
        assert {u.name: (u.role, u.classes) for u in directory.users()} == {
            "ana": ("teacher", ("7A Maths", "8A Science")), "ben": ("teacher", ("7B Maths",))}
    assert register["s-012"] == (" ".join(student_name("s-012")), CONSENT_NOT_ASKED)
    assert len(register) == 40


def test_the_report_keeps_the_two_students_of_the_same_name_apart_by_sourced_id(tmp_path, settings):
    report = import_oneroster(write_bundle(tmp_path / "bundle", school()), settings)
    assert report.duplicate_names == {"Kit Harington": list(SAME_NAME)}
    text = "\n".join(report.lines())
    assert "Kit Harington: s-007, s-031" in text
    assert "Kit Harington (s-007)" in text and "Kit Harington (s-031)" in text
    with Store.from_settings(settings) as store:
        kits = sorted(sid for sid, name, _ in store.register() if name == "Kit Harington")
        assert kits == list(SAME_NAME)
        assert "s-007" in [s for s, _, _ in store.class_list("7A Maths")]
        assert "s-031" in [s for s, _, _ in store.class_list("8A Science")]
        assert "s-031" not in [s for s, _, _ in store.class_list("7A Maths")]


def test_a_1_2_bundle_with_roles_csv_imports_the_same_school(tmp_path, settings):
    report = import_oneroster(write_bundle(tmp_path / "bundle", school("1.2"), version="1.2", as_zip=True), settings)
    assert (report.version, report.students, report.teachers) == ("1.2", 40, 2)
    assert report.classes == {"7A Maths": 15, "7B Maths": 15, "8A Science": 15}


def test_importing_the_same_bundle_twice_changes_nothing(tmp_path, settings):
    bundle = write_bundle(tmp_path / "bundle", school())
    import_oneroster(bundle, settings, today=date(2026, 2, 1))
    before = _all_rows(settings.resolved_database_url())
    again = import_oneroster(bundle, settings, today=date(2026, 2, 2))
    assert not again.changed
    assert again.lines()[1] == "Nothing changed: the records already hold this bundle."
    assert _all_rows(settings.resolved_database_url()) == before


def test_a_delta_bundle_withdrawing_a_student_removes_them_from_that_date_and_keeps_their_marks(tmp_path, settings):
    import_oneroster(write_bundle(tmp_path / "bulk", school()), settings)
    class_7a = _expected_list("cls-7a")
    statuses = {sid: ("absent" if sid == "s-003" else "present") for sid in class_7a}
    with Store.from_settings(settings) as store:
        session_id = store.save_session(attendance(statuses), class_name="7A Maths", subject="Maths")
    untouched = {name: store_list for name, store_list in _lists(settings).items() if name != "7A Maths"}
    withdrawal = {"enrollments.csv": [{"sourcedId": "e-cls-7a-s-003", "status": "tobedeleted",
                                       "dateLastModified": "2026-03-02T10:00:00.000Z", "classSourcedId": "cls-7a",
                                       "schoolSourcedId": "org-1", "userSourcedId": "s-003", "role": "student"}]}
    report = import_oneroster(write_bundle(tmp_path / "delta", withdrawal, mode="delta", as_zip=True), settings)
    assert report.modes == {"enrollments.csv": "delta"}
    assert report.left == [("7A Maths", "s-003")] and not report.joined and not report.added
    lists = _lists(settings)
    assert lists["7A Maths"] == [sid for sid in class_7a if sid != "s-003"]
    assert {name: ids for name, ids in lists.items() if name != "7A Maths"} == untouched  # only its change
    history = {r["user_sourced_id"]: r for r in enrollment_history(Store.from_settings(settings), "7A Maths")}
    assert (history["s-003"]["status"], history["s-003"]["end_date"]) == ("tobedeleted", date(2026, 3, 2))
    assert history["s-004"]["end_date"] is None
    with Store.from_settings(settings) as store:
        marks = store.session_marks(session_id).set_index("student_id")["status"].to_dict()
        assert marks == statuses  # the past marks stay, the withdrawn student's too
        assert "s-003" in [s for s, _, _ in store.register()]


def test_a_teacher_whose_enrollment_ends_is_no_longer_assigned_to_the_class(tmp_path, settings):
    import_oneroster(write_bundle(tmp_path / "bulk", school()), settings)
    ended = {"enrollments.csv": [{"sourcedId": "e-cls-8a-t-ana", "status": "tobedeleted",
                                  "dateLastModified": "2026-03-02", "classSourcedId": "cls-8a",
                                  "userSourcedId": "t-ana", "role": "teacher"}]}
    report = import_oneroster(write_bundle(tmp_path / "delta", ended, mode="delta"), settings)
    assert report.unassigned == [("8A Science", "ana")]
    with Store.from_settings(settings) as store:
        assert Directory.of(store).user("ana").classes == ("7A Maths",)


def _lists(settings) -> dict[str, list[str]]:
    with Store.from_settings(settings) as store:
        return {name: [sid for sid, _, _ in sorted(store.class_list(name))] for name in store.listed_classes()}


def _mutate(files: dict, name: str, index: int, **cells) -> dict:
    files[name][index].update(cells)
    return files


BAD = {
    "missing column": (lambda tmp: _drop_column(write_bundle(tmp, school()), "users.csv", "familyName"),
                       "users.csv line 1: missing column familyName"),
    "unknown class": (lambda tmp: write_bundle(tmp, _mutate(school(), "enrollments.csv", 5, classSourcedId="cls-9z")),
                      "enrollments.csv line 7: classSourcedId 'cls-9z' is in no classes.csv"),
    "unknown user": (lambda tmp: write_bundle(tmp, _mutate(school(), "enrollments.csv", 9, userSourcedId="s-999")),
                     "enrollments.csv line 11: userSourcedId 's-999' is in no users.csv"),
    "duplicate sourcedId": (lambda tmp: write_bundle(tmp, _mutate(school(), "users.csv", 41, sourcedId="s-001")),
                            "users.csv line 43: sourcedId 's-001' again (first on line 4)"),
    "formula": (lambda tmp: write_bundle(tmp, _mutate(school(), "users.csv", 4, givenName='=HYPERLINK("x")')),
                "users.csv line 6: givenName '=HYPERLINK(\"x\")' starts like a spreadsheet formula"),
    "not UTF-8": (lambda tmp: _replace(write_bundle(tmp, school()), "users.csv", "Ada".encode(), "Ad\xe9".encode("latin-1")),
                  "users.csv line 13: not UTF-8 (byte 0xe9)"),
    "more fields": (lambda tmp: _replace(write_bundle(tmp, school()), "classes.csv", b"7B Maths", b"7B, Maths"),
                    "classes.csv line 3: 15 fields, more than the header's 14"),
    "unknown org": (lambda tmp: write_bundle(tmp, _mutate(school(), "classes.csv", 2, schoolSourcedId="org-9")),
                    "classes.csv line 4: schoolSourcedId 'org-9' is not in orgs.csv"),
}


def _drop_column(bundle, name: str, column: str):
    lines = (bundle / name).read_text().splitlines()
    at = lines[0].split(",").index(column)
    (bundle / name).write_text("\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != at)
                                         for line in lines) + "\n")
    return bundle


def _replace(bundle, name: str, old: bytes, new: bytes):
    raw = (bundle / name).read_bytes()
    assert old in raw
    (bundle / name).write_bytes(raw.replace(old, new, 1))
    return bundle


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_refused_whole_naming_the_file_line_and_problem(tmp_path, settings, case):
    make, expected = BAD[case]
    start = dict(school())
    # An earlier import without student s-040: the bad bundle also adds a student.
    start["users.csv"] = [u for u in start["users.csv"] if u["sourcedId"] != "s-040"]
    start["enrollments.csv"] = [e for e in start["enrollments.csv"] if e["userSourcedId"] != "s-040"]
    import_oneroster(write_bundle(tmp_path / "before", start), settings)
    before = _all_rows(settings.resolved_database_url())
    with pytest.raises(OneRosterError) as caught:
        import_oneroster(make(tmp_path / "bad"), settings)
    assert expected in str(caught.value), str(caught.value)
    assert "nothing was changed" in str(caught.value)
    assert _all_rows(settings.resolved_database_url()) == before


def test_a_failure_while_writing_leaves_the_records_as_they_were(tmp_path, settings, monkeypatch):
    import_oneroster(write_bundle(tmp_path / "first", {k: v for k, v in school().items()}), settings)
    before = _all_rows(settings.resolved_database_url())
    files = school()
    files["users.csv"].append({"sourcedId": "s-041", "role": "student", "username": "s-041", "givenName": "New",
                               "familyName": "Student", "enabledUser": "true", "orgSourcedIds": "org-1"})
    files["enrollments.csv"].append({"sourcedId": "e-new", "classSourcedId": "cls-7b", "userSourcedId": "s-041",
                                     "role": "student", "schoolSourcedId": "org-1"})

    def broken(*args, **kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(oneroster, "_apply_teachers", broken)
    with pytest.raises(Exception):
        import_oneroster(write_bundle(tmp_path / "second", files), settings)
    assert _all_rows(settings.resolved_database_url()) == before


def test_a_bundle_over_the_row_limit_is_refused_with_its_file_and_line(tmp_path, settings, monkeypatch):
    monkeypatch.setattr(oneroster_read, "MAX_ROWS", 30)
    with pytest.raises(OneRosterError, match=r"users\.csv line 32: more than 30 rows"):
        import_oneroster(write_bundle(tmp_path / "bundle", school()), settings)
    assert not _all_rows(settings.resolved_database_url()).get("students")


def test_a_bundle_without_a_manifest_or_with_a_listed_file_missing_is_refused(tmp_path, settings):
    bundle = write_bundle(tmp_path / "bundle", school())
    (bundle / "classes.csv").unlink()
    with pytest.raises(OneRosterError, match=r"classes\.csv: missing, but manifest\.csv says file\.classes=bulk"):
        import_oneroster(bundle, settings)
    (bundle / "manifest.csv").unlink()
    with pytest.raises(OneRosterError, match=r"manifest\.csv: missing"):
        import_oneroster(bundle, settings)


def test_attendance_classes_import_oneroster_prints_the_report_or_the_problems(tmp_path, settings):
    from attendance_core.cli import main

    bundle = write_bundle(tmp_path / "bundle", school())
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["classes", "import", "--oneroster", str(bundle), "--roster", str(tmp_path / "roster")])
    assert code == 0, err.getvalue()
    assert "40 students, 2 teachers, 3 classes" in out.getvalue()
    shutil.rmtree(bundle)
    bad = _mutate(school(), "enrollments.csv", 5, classSourcedId="cls-9z")
    write_bundle(bundle, bad)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["classes", "import", "--oneroster", str(bundle)])
    assert code != 0 and "enrollments.csv line 7" in err.getvalue()
