"""Roles and classes in the library: what an acting user may see and change in the records.

A teacher sees and marks only the classes assigned to them, an admin every class; the acting user is an
argument of the store (:class:`attendance_core.school.access.UserStore`). On SQLite and on PostgreSQL.
"""
from __future__ import annotations

import pytest

from attendance_core.school.access import (ADMIN, TEACHER, AccessError, Directory, PermissionDenied, UserStore, hub_user,
                                    normalize_user)
from attendance_core.records import Store
from test_records import all_present, attendance, store, store_url  # noqa: F401  (fixtures)


@pytest.fixture
def school(store):  # noqa: F811
    """Records of two classes (7A by ana, 7B by ben), one saved session each, and an admin."""
    directory = Directory.of(store)
    directory.add_user("boss", ADMIN)
    directory.add_user("ana", TEACHER)
    directory.add_user("Ben", TEACHER)
    directory.assign("7A", "ana")
    directory.assign("7B", "ben")
    ids = {"7A": store.save_session(attendance(all_present(), photos=("a",)), class_name="7A", marked_by="ana"),
           "7B": store.save_session(attendance(all_present(), photos=("b",)), class_name="7B", marked_by="ben")}
    return store, ids


def test_teacher_sees_only_their_own_classes_sessions_and_reports(school):
    store, ids = school
    ana = UserStore(store, "ana")
    assert ana.classes() == ["7A"]
    assert list(ana.sessions()["class"]) == ["7A"]
    assert len(ana.report("7A").summary) == 4
    assert len(ana.session_marks(ids["7A"])) == 4
    for refused in (lambda: ana.report("7B"), lambda: ana.sessions("7B"), lambda: ana.session_marks(ids["7B"]),
                    lambda: ana.students("7B"), lambda: ana.students(), lambda: ana.corrections(ids["7B"])):
        with pytest.raises(PermissionDenied):
            refused()


def test_teacher_cannot_mark_or_correct_another_teachers_class(school):
    store, ids = school
    ana = UserStore(store, "ana")
    with pytest.raises(PermissionDenied, match="ana does not teach the class '7B'"):
        ana.save_session(attendance(all_present(), photos=("c",)), class_name="7B")
    with pytest.raises(PermissionDenied):
        ana.correct(ids["7B"], "Ada_Lovelace", "absent")
    with pytest.raises(PermissionDenied, match="only an admin may forget a student"):
        ana.forget_student("Ada_Lovelace")
    assert len(store.sessions()) == 2 and store.corrections().empty  # nothing was written


def test_writes_are_signed_by_the_acting_user_whatever_is_typed(school):
    store, ids = school
    ana = UserStore(store, "ana")
    new = ana.save_session(attendance(all_present(), photos=("d",)), class_name="7A", marked_by="someone-else")
    ana.correct(new, "Ada_Lovelace", "absent", by="someone-else")
    saved = store.sessions()
    assert saved.loc[saved["id"] == new, "marked_by"].item() == "ana"
    assert list(store.corrections(new)["corrected_by"]) == ["ana"]


def test_admin_sees_every_class_and_a_class_assigned_later_appears(school):
    store, ids = school
    assert UserStore(store, "boss").classes() == ["7A", "7B"]
    assert len(UserStore(store, "boss").sessions()) == 2
    ben = UserStore(store, "ben")
    assert ben.classes() == ["7B"]
    Directory.of(store).assign("7A", "ben")  # while ben's dashboard is open
    assert ben.classes() == ["7A", "7B"]


def test_first_sign_in_is_a_teacher_without_classes(school):
    store, _ = school
    newcomer = UserStore(store, "Carl")
    assert newcomer.user.role == TEACHER and newcomer.user.classes == ()
    assert newcomer.classes() == [] and newcomer.sessions().empty
    assert [u.name for u in Directory.of(store).users()] == ["ana", "ben", "boss", "carl"]


def test_roles_and_names_are_checked(store):  # noqa: F811
    directory = Directory.of(store)
    with pytest.raises(AccessError, match="role must be one of teacher, admin"):
        directory.add_user("ana", "principal")
    with pytest.raises(AccessError, match="cannot be a user name"):
        normalize_user("ana; drop table")
    with pytest.raises(AccessError, match="no user 'nobody'"):
        directory.assign("7A", "nobody")
    assert directory.add_user("Ana", TEACHER).name == "ana"
    assert directory.add_user("ana", ADMIN).role == ADMIN  # a second add changes the role


def test_acting_user_comes_from_the_hub_environment():
    assert hub_user({"JUPYTERHUB_USER": "Ana"}) == "ana"
    assert hub_user({}) is None


def test_dashboard_offers_only_the_signed_in_teachers_classes(app_settings, tmp_path):
    """The dashboard's state, given the hub's user, lists only their classes and saves as them."""
    import shutil

    from attendance_core.app.state import AppError, DashboardState

    classes = tmp_path / "classes"
    shutil.copytree(app_settings.roster_dir, classes / "7A")
    shutil.copytree(app_settings.roster_dir, classes / "7B")
    settings = app_settings.replace(classes_dir=str(classes))
    records = Store(settings.resolved_database_url())
    Directory.of(records).add_user("ana", TEACHER)
    Directory.of(records).assign("7B", "ana")
    state = DashboardState(settings, user="ana")
    assert list(state.classes) == ["7B"] and state.class_name == "7B"
    with pytest.raises(AppError, match="No class is assigned to ben yet"):
        DashboardState(settings, user="ben")
    assert list(DashboardState(settings).classes) == ["7A", "7B"]  # no hub: one instructor, every class


def test_only_an_admin_changes_a_roster_on_the_hub(app_settings):
    from attendance_core.app.state import AppError, DashboardState

    records = Store(app_settings.resolved_database_url())
    directory = Directory.of(records)
    directory.add_user("ana", TEACHER)
    directory.add_user("boss", ADMIN)
    directory.assign("known faces", "ana")
    before = sorted(p.name for p in app_settings.roster_dir.iterdir())
    teacher = DashboardState(app_settings, user="ana")
    with pytest.raises(AppError, match="Only an admin may change a class's roster; ana is a teacher"):
        teacher.remove_student("Joe_Biden")
    assert sorted(p.name for p in app_settings.roster_dir.iterdir()) == before
    DashboardState(app_settings, user="boss").remove_student("Joe_Biden")
    assert "Joe_Biden" not in {p.stem for p in app_settings.roster_dir.iterdir()}
