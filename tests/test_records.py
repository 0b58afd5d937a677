"""The records store on SQLite and on a real PostgreSQL server, with synthetic sessions.

PostgreSQL tests use the server named by ``ATTENDANCE_TEST_POSTGRES_URL`` (``.ci/run`` starts one with
``scripts/start-postgres.sh``), each test in a schema of its own. Without it they skip, unless
``ATTENDANCE_REQUIRE_POSTGRES=1``, which turns the skip into a failure.
"""
from __future__ import annotations

import math
import multiprocessing
import os
import time
from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from attendance_core import records
from attendance_core.config import Settings
from attendance_core.faces import DetectedFaces
from attendance_core.records import (DuplicateSessionError, RecordsError, SCHEMA_VERSION, Store,
                                     UnknownStudentError)
from attendance_core.session import Attendance, Photo, StudentResult

try:
    from conftest import postgres_schema_at
except ImportError:  # tests/ imported as a package
    from tests.conftest import postgres_schema_at

PG_ENV = "ATTENDANCE_TEST_POSTGRES_URL"
CLASS = ["Ada_Lovelace", "Alan_Turing", "Grace_Hopper", "Edsger_Dijkstra"]


# --- fixtures -------------------------------------------------------------------------------------

def _postgres_url_or_skip() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        message = (f"PostgreSQL tests need a server: set {PG_ENV} (e.g. "
                   f"`export {PG_ENV}=$(bash scripts/start-postgres.sh)`)")
        if os.environ.get("ATTENDANCE_REQUIRE_POSTGRES") == "1":
            pytest.fail(message + "; ATTENDANCE_REQUIRE_POSTGRES=1 says they must run")
        pytest.skip(message)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A fresh, empty database: an SQLite file, or a private schema on the PostgreSQL test server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'records.db'}"
        return
    with postgres_schema_at(_postgres_url_or_skip(), "test_") as url:
        yield url


@pytest.fixture
def store(store_url):
    s = Store(store_url)
    yield s
    s.close()


def attendance(statuses: dict[str, str], photos=("photo-1",), tolerance=0.6, unknown=0,
               automatic: dict[str, str] | None = None) -> Attendance:
    """A synthetic marked session: ``statuses`` by student id; ``photos`` are the photos' content hashes."""
    automatic = automatic or {}
    students = []
    for k, (sid, status) in enumerate(statuses.items()):
        auto = automatic.get(sid, status)
        found = auto == "present"
        students.append(StudentResult(sid, sid.replace("_", " "), status, "manual" if auto != status else "automatic",
                                      0.3 + k / 100 if found else None, f"{photos[0]}.jpg" if found and photos else None,
                                      False, auto))
    shots = [Photo(f"{h}.jpg", DetectedFaces.empty(), (640, 480), h) for h in photos]
    from attendance_core.session import FaceResult
    faces = [FaceResult(0, i, (0, 10, 10, 0), None, None, False, None, None) for i in range(unknown)]
    return Attendance(students, faces, shots, tolerance)


def all_present(**overrides) -> dict[str, str]:
    return {sid: overrides.get(sid, "present") for sid in CLASS}


def count_rows(url: str) -> dict[str, int]:
    engine = records.create_engine(url)
    try:
        with engine.connect() as conn:
            return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                    for t in records.metadata.sorted_tables if t.name != "schema_version"}
    finally:
        engine.dispose()


# --- opening --------------------------------------------------------------------------------------

def test_new_database_is_created_at_latest_schema(store):
    assert store.schema_version == SCHEMA_VERSION == records.MIGRATIONS[-1][0]
    assert store.classes() == []
    assert store.sessions().empty and list(store.sessions().columns) == records.SESSION_COLUMNS


def test_from_settings_creates_data_folder_and_sqlite_file_in_wal_mode(tmp_path):
    settings = Settings(data_dir=tmp_path / "new" / "data")
    with Store.from_settings(settings) as store:
        store.save_session(attendance(all_present()), class_name="demo")
    db = tmp_path / "new" / "data" / "attendance.db"
    assert db.is_file()
    assert db.stat().st_mode & 0o077 == 0  # names and attendance: owner only
    engine = records.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    engine.dispose()


def test_database_from_a_newer_release_is_refused(store_url):
    Store(store_url).close()
    engine = records.create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(records.schema_version.insert().values(
            version=SCHEMA_VERSION + 1, description="future", applied_at=datetime(2030, 1, 1)))
    engine.dispose()
    with pytest.raises(RecordsError, match="newer"):
        Store(store_url)


# --- saving ---------------------------------------------------------------------------------------

def test_saved_session_is_listed_with_its_counts(store):
    att = attendance(all_present(Grace_Hopper="absent", Edsger_Dijkstra="absent"), photos=("a", "b"), unknown=2)
    sid = store.save_session(att, class_name="demo", subject="Maths", marked_by="ms.k",
                             settings=Settings(detector="hog", min_face_size=40))
    df = store.sessions()
    assert list(df["id"]) == [sid]
    row = df.iloc[0]
    assert (row["class"], row["subject"], row["marked_by"]) == ("demo", "Maths", "ms.k")
    assert (row["present"], row["absent"], row["excused"], row["unknown_faces"], row["photos"]) == (2, 2, 0, 2, 2)
    assert row["tolerance"] == pytest.approx(0.6)
    assert store.classes() == ["demo"]
    assert set(store.students("demo")["student_id"]) == set(CLASS)


def test_session_records_photo_hashes_and_settings_used(store_url):
    with Store(store_url) as store:
        sid = store.save_session(attendance(all_present(), photos=("h1", "h2")), class_name="demo",
                                 settings=Settings(detector="cnn", min_face_size=48, jitters=2))
    engine = records.create_engine(store_url)
    with engine.connect() as conn:
        hashes = conn.execute(sa.select(records.session_photos.c.sha256).where(
            records.session_photos.c.session_id == sid).order_by(records.session_photos.c.position)).scalars().all()
        used = conn.execute(sa.select(records.sessions.c.settings)).scalar_one()
    engine.dispose()
    assert hashes == ["h1", "h2"]
    assert '"detector": "cnn"' in used and '"min_face_size": 48' in used and '"jitters": 2' in used


def test_session_marks_keep_distance_photo_and_source(store):
    att = attendance(all_present(Alan_Turing="absent"))
    sid = store.save_session(att, class_name="demo")
    df = store.session_marks(sid).set_index("student_id")
    assert set(df.index) == set(CLASS)
    assert df.loc["Alan_Turing", "status"] == "absent" and math.isnan(df.loc["Alan_Turing", "distance"])
    expected = {s.id: s for s in att.students}
    assert df.loc["Ada_Lovelace", "distance"] == pytest.approx(expected["Ada_Lovelace"].distance)
    assert df.loc["Ada_Lovelace", "photo"] == "photo-1.jpg"
    assert set(df["source"]) == {"automatic"}


def test_saving_the_same_session_twice_is_detected(store):
    first = store.save_session(attendance(all_present(), photos=("x", "y")), class_name="demo")
    # Same photos, whatever order, time or subject: the same session.
    with pytest.raises(DuplicateSessionError) as caught:
        store.save_session(attendance(all_present(), photos=("y", "x")), class_name="demo", subject="other",
                           taken_at=datetime(2020, 1, 1, 9, 0))
    assert caught.value.session_id == first
    assert isinstance(caught.value, RecordsError)
    assert len(store.sessions()) == 1
    assert count_rows(store.url)["marks"] == len(CLASS)
    # The same photos for another class, or other photos for this class, are other sessions.
    store.save_session(attendance(all_present(), photos=("x", "y")), class_name="other class")
    store.save_session(attendance(all_present(), photos=("z",)), class_name="demo")
    assert len(store.sessions()) == 3


def test_sessions_without_photo_hashes_are_the_same_when_their_time_is(store):
    when = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    store.save_session(attendance(all_present(), photos=()), class_name="demo", subject="Art", taken_at=when)
    with pytest.raises(DuplicateSessionError):
        store.save_session(attendance(all_present(), photos=()), class_name="demo", subject="Art", taken_at=when)
    store.save_session(attendance(all_present(), photos=()), class_name="demo", subject="Art",
                       taken_at=when + timedelta(days=1))
    assert len(store.sessions("demo")) == 2


def test_a_failure_in_the_middle_of_a_save_leaves_the_records_as_they_were(store, monkeypatch):
    store.save_session(attendance(all_present(), photos=("before",)), class_name="demo")
    before = count_rows(store.url)

    def broken(*args, **kwargs):
        raise RuntimeError("disk unplugged")

    monkeypatch.setattr(records.saving, "insert_marks", broken)
    newcomers = {**all_present(), "New_Student": "present"}
    with pytest.raises(RuntimeError, match="disk unplugged"):
        store.save_session(attendance(newcomers, photos=("after",)), class_name="new class")
    # No half session, no class, student or membership created by the failed save.
    assert count_rows(store.url) == before
    assert store.classes() == ["demo"]
    monkeypatch.undo()
    sid = store.save_session(attendance(newcomers, photos=("after",)), class_name="new class")
    assert len(store.session_marks(sid)) == len(newcomers)


def test_bad_input_is_refused_before_anything_is_written(store):
    with pytest.raises(RecordsError, match="class name"):
        store.save_session(attendance(all_present()), class_name="  ")
    with pytest.raises(RecordsError, match="status"):
        store.save_session(attendance({"Ada_Lovelace": "asleep"}), class_name="demo")
    assert store.classes() == []


# --- corrections ----------------------------------------------------------------------------------

def test_correction_keeps_the_automatic_result_and_an_audit_trail(store):
    sid = store.save_session(attendance(all_present(Alan_Turing="absent")), class_name="demo")
    cid = store.correct(sid, "Alan_Turing", "excused", note="doctor's note", by="ms.k")
    marks = store.session_marks(sid).set_index("student_id")
    assert marks.loc["Alan_Turing", ["status", "source", "automatic_status"]].tolist() == ["excused", "manual", "absent"]
    trail = store.corrections(sid)
    assert trail[["id", "student_id", "old_status", "new_status", "note", "corrected_by"]].values.tolist() == [
        [cid, "Alan_Turing", "absent", "excused", "doctor's note", "ms.k"]]
    assert abs(trail["corrected_at"].iloc[0] - datetime.now()) < timedelta(minutes=5)  # local time
    # A second correction is added to the trail, never replaces the first.
    store.correct(sid, "Alan_Turing", "present", note="arrived late", by="mr.j")
    trail = store.corrections()
    assert trail["new_status"].tolist() == ["excused", "present"]
    assert trail["old_status"].tolist() == ["absent", "excused"]
    marks = store.session_marks(sid).set_index("student_id")
    assert marks.loc["Alan_Turing", "automatic_status"] == "absent"


def test_correcting_back_to_the_automatic_result_makes_the_mark_automatic_again(store):
    sid = store.save_session(attendance(all_present()), class_name="demo")
    store.correct(sid, "Ada_Lovelace", "absent")
    store.correct(sid, "Ada_Lovelace", "present")
    mark = store.session_marks(sid).set_index("student_id").loc["Ada_Lovelace"]
    assert (mark["status"], mark["source"]) == ("present", "automatic")
    assert len(store.corrections(sid)) == 2


def test_corrections_made_before_saving_are_recorded_as_manual(store):
    att = attendance(all_present(Grace_Hopper="excused"), automatic={"Grace_Hopper": "absent"})
    sid = store.save_session(att, class_name="demo", marked_by="ms.k")
    mark = store.session_marks(sid).set_index("student_id").loc["Grace_Hopper"]
    assert (mark["status"], mark["source"], mark["automatic_status"]) == ("excused", "manual", "absent")
    trail = store.corrections(sid)
    assert trail[["student_id", "old_status", "new_status", "corrected_by"]].values.tolist() == [
        ["Grace_Hopper", "absent", "excused", "ms.k"]]


def test_correcting_an_unknown_session_student_or_status_is_an_error(store):
    sid = store.save_session(attendance(all_present()), class_name="demo")
    with pytest.raises(RecordsError, match="no session"):
        store.correct(sid + 100, "Ada_Lovelace", "absent")
    with pytest.raises(RecordsError, match="no mark"):
        store.correct(sid, "Nobody", "absent")
    with pytest.raises(RecordsError, match="status"):
        store.correct(sid, "Ada_Lovelace", "asleep")
    assert store.corrections().empty


# --- reports --------------------------------------------------------------------------------------

def _three_sessions(store) -> list[int]:
    day = lambda d, h: datetime(2026, 3, d, h, 0)  # noqa: E731  (local time)
    return [
        store.save_session(attendance(all_present(Alan_Turing="absent"), photos=("s1",)), class_name="demo",
                           subject="Maths", taken_at=day(2, 9)),
        store.save_session(attendance(all_present(Alan_Turing="absent", Grace_Hopper="absent"), photos=("s2",)),
                           class_name="demo", subject="Physics", taken_at=day(3, 9)),
        store.save_session(attendance(all_present(Ada_Lovelace="absent"), photos=("s3",)), class_name="demo",
                           subject="Maths", taken_at=day(4, 9)),
    ]


def test_report_counts_rates_and_the_students_by_dates_matrix(store):
    s1, s2, s3 = _three_sessions(store)
    store.correct(s2, "Grace_Hopper", "excused")
    store.save_session(attendance(all_present(), photos=("elsewhere",)), class_name="other")
    report = store.report("demo")
    summary = report.summary.set_index("student_id")
    assert summary.loc["Ada_Lovelace", ["present", "absent", "excused", "sessions"]].tolist() == [2, 1, 0, 3]
    assert summary.loc["Alan_Turing", ["present", "absent", "excused"]].tolist() == [1, 2, 0]
    assert summary.loc["Grace_Hopper", ["present", "absent", "excused"]].tolist() == [2, 0, 1]
    assert summary.loc["Ada_Lovelace", "rate"] == pytest.approx(2 / 3)
    assert summary.loc["Alan_Turing", "rate"] == pytest.approx(1 / 3)
    assert summary.loc["Grace_Hopper", "rate"] == pytest.approx(1.0)  # excused does not count against
    assert summary.loc["Edsger_Dijkstra", "rate"] == pytest.approx(1.0)
    matrix = report.matrix.set_index("student_id")
    assert list(matrix.columns) == ["name", "2026-03-02", "2026-03-03", "2026-03-04"]
    assert matrix.loc["Alan_Turing"].tolist() == ["Alan Turing", "absent", "absent", "present"]
    assert matrix.loc["Grace_Hopper", "2026-03-03"] == "excused"
    assert report.sessions["id"].tolist() == [s1, s2, s3]


def test_report_filters_by_subject_and_local_dates(store):
    _three_sessions(store)
    maths = store.report("demo", subject="Maths").summary.set_index("student_id")
    assert maths.loc["Alan_Turing", ["present", "absent", "sessions"]].tolist() == [1, 1, 2]
    window = store.report("demo", start="2026-03-03", end=date(2026, 3, 4))
    assert list(window.matrix.columns[2:]) == ["2026-03-03", "2026-03-04"]
    assert window.summary.set_index("student_id").loc["Ada_Lovelace", "absent"] == 1
    assert list(store.report("demo", end="2026-03-02").matrix.columns[2:]) == ["2026-03-02"]
    empty = store.report("demo", start="2027-01-01")
    assert empty.summary["sessions"].tolist() == [0] * len(CLASS) and empty.summary["rate"].isna().all()
    with pytest.raises(RecordsError, match="no class"):
        store.report("nonexistent")


def test_sessions_on_the_same_day_get_their_time_in_the_matrix(store):
    store.save_session(attendance(all_present(), photos=("am",)), class_name="demo", taken_at=datetime(2026, 3, 2, 9))
    store.save_session(attendance(all_present(), photos=("pm",)), class_name="demo", taken_at=datetime(2026, 3, 2, 14))
    assert list(store.report("demo").matrix.columns[2:]) == ["2026-03-02 09:00", "2026-03-02 14:00"]


def test_report_csv_and_xlsx_read_back_to_the_same_table(store, tmp_path):
    s1, _, _ = _three_sessions(store)
    store.correct(s1, "Ada_Lovelace", "excused")
    store.save_session(attendance({**all_present(), "New_Student": "present"}, photos=("s4",)), class_name="demo",
                       taken_at=datetime(2026, 3, 5, 9))
    report = store.report("demo")
    assert pd.isna(report.matrix.set_index("student_id").loc["New_Student", "2026-03-02"])  # not in the class then
    report.to_csv(tmp_path / "r.csv")
    report.to_excel(tmp_path / "r.xlsx")
    expected = report.table()
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "r.csv"), expected, check_dtype=False)
    pd.testing.assert_frame_equal(pd.read_excel(tmp_path / "r.xlsx", sheet_name="attendance"), expected,
                                  check_dtype=False)
    pd.testing.assert_frame_equal(pd.read_excel(tmp_path / "r.xlsx", sheet_name="summary"), report.summary,
                                  check_dtype=False)


# --- tables by column name ------------------------------------------------------------------------

def test_every_table_has_the_columns_the_records_expose(store):
    sid = store.save_session(attendance(all_present(Alan_Turing="absent"), automatic=all_present()),
                             class_name="demo")
    assert list(store.sessions().columns) == records.SESSION_COLUMNS
    assert list(store.session_marks(sid).columns) == records.MARK_COLUMNS
    assert list(store.corrections().columns) == records.CORRECTION_COLUMNS
    assert list(store.students().columns) == records.STUDENT_COLUMNS
    report = store.report("demo")
    assert list(report.summary.columns) == records.SUMMARY_COLUMNS
    assert list(report.sessions.columns) == records.REPORT_SESSION_COLUMNS
    assert store.corrections()[["student_id", "old_status", "new_status"]].values.tolist() == [
        ["Alan_Turing", "present", "absent"]]


def test_a_new_session_column_is_one_labelled_column_of_its_query(store, monkeypatch):
    from attendance_core.records import queries, store as store_module

    plain = queries.sessions_query
    monkeypatch.setattr(store_module, "sessions_query",
                        lambda: plain().add_columns(sa.func.length(records.sessions.c.subject).label("subject_length")))
    store.save_session(attendance(all_present()), class_name="demo", subject="Maths")
    table = store.sessions()
    assert list(table.columns) == [*records.SESSION_COLUMNS, "subject_length"]
    assert table["subject_length"].tolist() == [5] and table["subject"].tolist() == ["Maths"]


# --- time -----------------------------------------------------------------------------------------

@pytest.fixture
def tokyo(monkeypatch):
    """Local time is Tokyo (UTC+9, no daylight saving) for the test."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_times_are_stored_in_utc_and_shown_in_local_time(store, tokyo):
    local_9am = datetime(2026, 3, 2, 9, 0)  # naive: local (Tokyo) time
    sid = store.save_session(attendance(all_present()), class_name="demo", taken_at=local_9am)
    engine = records.create_engine(store.url)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(records.sessions.c.taken_at).where(records.sessions.c.id == sid)).scalar_one()
    engine.dispose()
    assert stored == datetime(2026, 3, 2, 0, 0)  # 09:00 in Tokyo is midnight UTC
    row = store.sessions().iloc[0]
    assert row["taken_at"] == pd.Timestamp("2026-03-02 09:00")
    assert row["taken_at_utc"] == pd.Timestamp("2026-03-02 00:00", tz="UTC")
    # An aware datetime is converted, whatever its zone.
    store.save_session(attendance(all_present(), photos=("p2",)), class_name="demo",
                       taken_at=datetime(2026, 3, 3, 23, 30, tzinfo=timezone.utc))
    assert store.sessions()["taken_at"].iloc[1] == pd.Timestamp("2026-03-04 08:30")
    # Report days are local days: 23:30 UTC on the 3rd is the 4th in Tokyo.
    assert list(store.report("demo", start="2026-03-04").matrix.columns[2:]) == ["2026-03-04"]


# --- forgetting a student -------------------------------------------------------------------------

def test_forgetting_a_student_keeps_their_marks_anonymised(store):
    s1, s2, _ = _three_sessions(store)
    store.correct(s2, "Alan_Turing", "excused", note="hospital appointment")
    before = store.report("demo").summary
    result = store.forget_student("Alan_Turing")
    assert (result.marks, result.corrections, result.deleted) == (3, 1, False)
    after = store.report("demo").summary
    assert "Alan_Turing" not in set(after["student_id"]) and "Alan Turing" not in set(after["name"])
    ghost = after[after["name"] == records.FORGOTTEN_NAME]
    assert len(ghost) == 1 and ghost["student_id"].iloc[0].startswith("forgotten-")
    turing = before.set_index("student_id").loc["Alan_Turing"]
    assert ghost[["present", "absent", "excused"]].values.tolist()[0] == turing[["present", "absent", "excused"]].tolist()
    assert store.sessions()["absent"].tolist() == [1, 1, 1]  # session counts unchanged
    marks = store.session_marks(s1)
    gone = marks[marks["name"] == records.FORGOTTEN_NAME]
    assert gone["photo"].isna().all() and gone["distance"].isna().all()
    assert store.corrections()["note"].tolist() == [""]
    assert "Alan_Turing" not in set(store.students()["student_id"])
    with pytest.raises(UnknownStudentError):
        store.forget_student("Alan_Turing")
    # Enrolled again later, they are a new student with a clean history.
    store.save_session(attendance(all_present(), photos=("later",)), class_name="demo")
    assert store.report("demo").summary.set_index("student_id").loc["Alan_Turing", "sessions"] == 1


def test_forgetting_a_student_with_delete_marks_removes_their_history(store):
    s1, s2, _ = _three_sessions(store)
    store.correct(s2, "Alan_Turing", "excused")
    store.correct(s2, "Ada_Lovelace", "excused")
    result = store.forget_student("Alan_Turing", delete_marks=True)
    assert (result.marks, result.corrections, result.deleted) == (3, 1, True)
    summary = store.report("demo").summary
    assert len(summary) == len(CLASS) - 1 and "Alan_Turing" not in set(summary["student_id"])
    assert store.sessions()["absent"].tolist() == [0, 1, 1]
    assert store.corrections()["student_id"].tolist() == ["Ada_Lovelace"]
    assert len(store.session_marks(s1)) == len(CLASS) - 1


# --- migrations -----------------------------------------------------------------------------------

def _make_version_1_database(url: str) -> None:
    """A database as the first release left it: schema version 1, with a session and a hand-made mark."""
    engine = records.create_engine(url)
    assert records.migrate(engine, target=1) == 1
    t = datetime(2026, 1, 5, 8, 0)
    with engine.begin() as conn:
        run = lambda sql, **p: conn.execute(sa.text(sql), p)  # noqa: E731
        run("INSERT INTO classes (id, name, created_at) VALUES (1, 'demo', :t)", t=t)
        for i, sid in enumerate(CLASS, start=1):
            run("INSERT INTO students (id, key, name, created_at) VALUES (:i, :k, :n, :t)",
                i=i, k=sid, n=sid.replace("_", " "), t=t)
            run("INSERT INTO class_students (class_id, student_id, added_at) VALUES (1, :i, :t)", i=i, t=t)
        run("INSERT INTO sessions (id, class_id, subject, taken_at, saved_at, tolerance, settings, marked_by, "
            "unknown_faces, fingerprint) VALUES (1, 1, 'Maths', :t, :t, 0.6, '{}', 'ms.k', 0, 'f1')", t=t)
        run("INSERT INTO session_photos (session_id, position, name, sha256, faces, error) "
            "VALUES (1, 0, 'class.jpg', 'abc', 3, NULL)")
        for i, sid in enumerate(CLASS, start=1):
            status, source, auto = ("excused", "manual", "absent") if i == 2 else ("present", "automatic", "present")
            run("INSERT INTO marks (session_id, student_id, status, source, automatic_status, distance, photo, "
                "ambiguous) VALUES (1, :i, :s, :src, :a, NULL, NULL, :amb)", i=i, s=status, src=source, a=auto,
                amb=False)
        if conn.dialect.name == "postgresql":  # explicit ids above: move the sequences past them
            for table in ("classes", "students", "sessions"):
                run(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    engine.dispose()


def _columns(url: str) -> dict[str, set[str]]:
    engine = records.create_engine(url)
    inspector = sa.inspect(engine)
    tables = {name: {c["name"] for c in inspector.get_columns(name)} for name in inspector.get_table_names()}
    engine.dispose()
    return tables


def test_a_version_1_database_is_upgraded_and_keeps_its_records(store_url, tmp_path):
    _make_version_1_database(store_url)
    engine = records.create_engine(store_url)
    with engine.connect() as conn:
        assert records.current_version(conn) == 1
        assert not sa.inspect(conn).has_table("corrections")
    engine.dispose()
    with pytest.raises(RecordsError, match="version 1"):
        Store(store_url, upgrade=False)
    with Store(store_url) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.classes() == ["demo"]
        marks = store.session_marks(1).set_index("student_id")
        assert marks.loc["Alan_Turing", ["status", "source", "automatic_status"]].tolist() == ["excused", "manual",
                                                                                            "absent"]
        # The hand-made mark of version 1 gets its audit-trail entry.
        trail = store.corrections()
        assert trail[["student_id", "old_status", "new_status", "corrected_by"]].values.tolist() == [
            ["Alan_Turing", "absent", "excused", "ms.k"]]
        # The upgraded database works like a new one.
        sid = store.save_session(attendance(all_present(), photos=("new",)), class_name="demo")
        store.correct(sid, "Ada_Lovelace", "absent")
        store.forget_student("Grace_Hopper")
        assert store.report("demo").summary["sessions"].tolist() == [2, 2, 2, 2]
    # Same tables and columns as a database created at the latest version.
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    Store(fresh).close()
    assert _columns(store_url) == _columns(fresh)


def test_migrations_are_numbered_in_order():
    numbers = [n for n, _, _ in records.MIGRATIONS]
    assert numbers == list(range(1, len(numbers) + 1))


# --- concurrency ----------------------------------------------------------------------------------

SESSIONS_PER_WRITER = 15
SHARED_SESSIONS = 5


def _writer(url: str, writer: int, start, results) -> None:
    """Save this writer's own sessions and try the shared ones; report (saved ids, duplicates seen)."""
    saved, duplicates = [], []
    try:
        start.wait(60)
        store = Store(url)  # both open a fresh database at the same moment: the schema is made once
        for i in range(SESSIONS_PER_WRITER):
            saved.append(store.save_session(attendance(all_present(), photos=(f"w{writer}-{i}",)),
                                            class_name="demo", marked_by=f"writer{writer}"))
            if i < SHARED_SESSIONS:
                try:
                    saved.append(store.save_session(attendance(all_present(), photos=(f"shared-{i}",)),
                                                    class_name="demo", marked_by=f"writer{writer}"))
                except DuplicateSessionError as dup:
                    duplicates.append(dup.session_id)
        store.close()
        results.put((writer, saved, duplicates, None))
    except BaseException as err:  # noqa: BLE001  (the parent reports it)
        results.put((writer, saved, duplicates, repr(err)))


def test_two_processes_saving_at_once_both_succeed_and_every_mark_is_kept_once(store_url):
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(store_url, w, start, results)) for w in (1, 2)]
    for p in procs:
        p.start()
    start.set()
    outcome = {}
    for _ in procs:
        writer, saved, duplicates, error = results.get(timeout=240)
        outcome[writer] = (saved, duplicates, error)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert [outcome[w][2] for w in (1, 2)] == [None, None], outcome
    all_saved = outcome[1][0] + outcome[2][0]
    assert len(all_saved) == len(set(all_saved)) == 2 * SESSIONS_PER_WRITER + SHARED_SESSIONS
    # Every shared session was saved by exactly one writer; the other was told which one it was.
    assert len(outcome[1][1]) + len(outcome[2][1]) == SHARED_SESSIONS
    assert set(outcome[1][1] + outcome[2][1]) <= set(all_saved)
    with Store(store_url) as store:
        sessions = store.sessions("demo")
        assert sorted(sessions["id"]) == sorted(all_saved)
        assert (sessions["present"] == len(CLASS)).all()
        engine = records.create_engine(store_url)
        with engine.connect() as conn:
            hashes = conn.execute(sa.select(records.session_photos.c.sha256)).scalars().all()
            n_marks = conn.execute(sa.select(sa.func.count()).select_from(records.marks)).scalar()
            n_students = conn.execute(sa.select(sa.func.count()).select_from(records.students)).scalar()
            versions = conn.execute(sa.select(records.schema_version.c.version)).scalars().all()
        engine.dispose()
    expected = {f"w{w}-{i}" for w in (1, 2) for i in range(SESSIONS_PER_WRITER)} | {
        f"shared-{i}" for i in range(SHARED_SESSIONS)}
    assert sorted(hashes) == sorted(expected)
    assert n_marks == len(all_saved) * len(CLASS)
    assert n_students == len(CLASS)
    assert sorted(versions) == [n for n, _, _ in records.MIGRATIONS]


def test_an_unreachable_database_is_a_clear_error():
    with pytest.raises(RecordsError, match="cannot open the records database"):
        Store("postgresql+psycopg://nobody:secret@127.0.0.1:9/nothing?connect_timeout=5")
    with pytest.raises(RecordsError, match="not a usable database URL"):
        Store("nosuchdb://x")
