"""The same text limits on SQLite and PostgreSQL, checked before writing; no database message reaches a
person (issue 10, item 11)."""
from __future__ import annotations

import dataclasses

import pytest

from attendance_core.records import RecordsError, Store, text_limit
from attendance_core.records import schema

try:
    from test_records import CLASS, all_present, attendance, count_rows, store, store_url  # noqa: F401
    from test_records_cli import records_env, run  # noqa: F401
except ImportError:  # tests/ imported as a package
    from tests.test_records import CLASS, all_present, attendance, count_rows, store, store_url  # noqa: F401
    from tests.test_records_cli import records_env, run  # noqa: F401

LONG = "x" * 201
DATABASE_WORDS = ["INSERT", "SELECT", "UPDATE", "psycopg", "sqlite3", "varchar", "character varying",
                  "127.0.0.1", "55432", "attendance_test", "[SQL", "Background on this error"]


def clean(message: str) -> bool:
    return not any(w.lower() in message.lower() for w in DATABASE_WORDS)


def with_student_id(att, new_id: str):
    first = dataclasses.replace(att.students[0], id=new_id)
    return dataclasses.replace(att, students=[first, *att.students[1:]])


TOO_LONG = "is 201 characters long ('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…'); the records keep at most 200"


@pytest.mark.parametrize("what, kwargs, make, problem", [
    ("the subject", {"subject": LONG}, lambda a: a, TOO_LONG),
    ("the class name", {"class_name": LONG}, lambda a: a, TOO_LONG),
    ("who marked", {"marked_by": LONG}, lambda a: a, TOO_LONG),
    ("the student id", {}, lambda a: with_student_id(a, LONG), TOO_LONG),
    ("the subject", {"subject": "Maths\x00"}, lambda a: a, "contains a NUL character"),
    ("the student id", {}, lambda a: with_student_id(a, "Ada_\udcff"), "is not valid text"),
])
def test_text_the_records_cannot_keep_is_refused_before_writing(store, what, kwargs, make, problem):
    store.save_session(attendance(all_present(), photos=("ok",)), class_name="demo")
    before = count_rows(store.url)
    args = {"class_name": "demo", "subject": "Maths", **kwargs}
    with pytest.raises(RecordsError) as caught:
        store.save_session(make(attendance(all_present(), photos=("new",))), **args)
    message = str(caught.value)
    assert message.startswith(what) and problem in message and clean(message)
    assert count_rows(store.url) == before


def test_the_limit_is_exactly_the_column_length_on_both_databases(store):
    at_limit = "y" * text_limit(schema.sessions.c.subject)
    sid = store.save_session(attendance(all_present()), class_name="c" * 200, subject=at_limit, marked_by="b" * 200)
    assert store.sessions().set_index("id").loc[sid, "subject"] == at_limit


def test_a_correction_by_a_too_long_name_is_refused_with_the_option_named(store):
    sid = store.save_session(attendance(all_present()), class_name="demo")
    with pytest.raises(RecordsError, match=r"who corrects \(--by\) is 201 characters long"):
        store.correct(sid, CLASS[0], "absent", by=LONG)
    assert store.corrections().empty and (store.session_marks(sid)["status"] == "present").all()


def test_a_database_refusal_past_the_checks_is_a_clean_records_error(store, monkeypatch):
    """A failure the checks did not foresee (here a status the table's CHECK refuses) shows no SQL."""
    from attendance_core.records import saving

    monkeypatch.setattr(saving, "check_session", lambda *args: None)
    bad = attendance(all_present())
    bad.students[0] = dataclasses.replace(bad.students[0], status="maybe", automatic_status="maybe")
    with pytest.raises(RecordsError) as caught:
        store.save_session(bad, class_name="demo")
    assert "nothing was changed" in str(caught.value) and clean(str(caught.value))
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert store.sessions().empty


def test_cli_long_subject_and_by_are_clear_usage_errors(records_env, monkeypatch):
    with Store(f"sqlite:///{records_env / 'attendance.db'}") as store:
        sid = store.save_session(attendance(all_present()), class_name="demo")
    code, _, err = run("correct", str(sid), CLASS[0], "absent", "--by", LONG)
    assert code == 2 and "--by" in err and "at most 200" in err and clean(err)


def test_an_unreachable_server_is_named_without_host_port_user_or_database():
    with pytest.raises(RecordsError) as caught:
        Store("postgresql+psycopg://nobody:secret@127.0.0.1:9/nothing?connect_timeout=5")
    message = str(caught.value)
    assert "cannot open the records database" in message and "database_url" in message
    assert not any(w in message for w in ["secret", "nobody", "127.0.0.1", ":9", "nothing", "psycopg"])
