"""What a screen reader is given, checked headless on the dashboard's widgets (issue 29).

The names, text alternatives and announcements come from one module (``app/accessible.py``) and the views
attach them through ipywidgets' own traits; these tests drive the real app over the demo class (real photos
through the real pipeline) and read what each widget will say. The browser tests
(``test_dashboard_accessibility.py``, ``test_dashboard_keyboard.py``) check the same in Chromium's
accessibility tree.
"""
from __future__ import annotations

import re

import ipywidgets as w
import pytest

from attendance_core import annotate
from attendance_core.app import AttendanceApp, DashboardState, accessible
from attendance_core.app.common import MessageBar, spoken_description
from attendance_core.app.review_list import photo_markers
from attendance_core.app.take_attendance import TABLE_ID, _legend
from attendance_core.results import ABSENT, EXCUSED, LATE, PRESENT, STATUSES, Attendance, DetectedFaces, FaceResult
from attendance_core.results import Photo, StudentResult

from conftest import SAMPLE_IMAGES
from test_app_widgets import button, upload, widgets, with_class

STUDENTS = {"Alex_Lacamoire": "Alex Lacamoire", "Barack_Obama": "Barack Obama", "Joe_Biden": "Joe Biden",
            "Kit_Harington": "Kit Harington", "Rose_Leslie": "Rose Leslie"}
#: two_people.jpg: Barack Obama and Joe Biden; lin-manuel-miranda.png: a face of nobody in the class.
PHOTOS = ("two_people.jpg", "lin-manuel-miranda.png")


@pytest.fixture
def marked(app_settings) -> AttendanceApp:
    """The app with the two photos marked."""
    app = AttendanceApp(DashboardState(app_settings))
    upload(app, [(name, (SAMPLE_IMAGES / name).read_bytes()) for name in PHOTOS])
    return app


def images(app) -> dict[str, str]:
    """Every ``<img>`` in the app's HTML widgets: its class -> its alt ("" when it has none)."""
    found = {}
    for widget in widgets(app.widget, w.HTML):
        for tag in re.findall(r"<img [^>]*>", widget.value):
            css = re.search(r'class="([^"]*)"', tag)
            alt = re.search(r'alt="([^"]*)"', tag)
            found.setdefault(css.group(1) if css else "", []).append(alt.group(1) if alt else "")
    return found


def named(app) -> dict[str, str]:
    """Every control named for a screen reader by its tooltip (``common.name_control``): visible text -> name."""
    return {x.description: x.tooltip for x in widgets(app.widget) if "sa-named" in getattr(x, "_dom_classes", ())}


def test_result_summary_says_each_count_in_words_that_agree_with_it():
    def result(statuses, unknown):
        students = [StudentResult(f"s{k}", f"S {k}", s, "automatic") for k, s in enumerate(statuses)]
        faces = [FaceResult(0, k, (0, 1, 1, 0), None, None, False, None, None) for k in range(unknown)]
        return Attendance(students, faces, [Photo("p.jpg", DetectedFaces.empty())], 0.58)

    assert accessible.result_summary(result([PRESENT] * 24 + [ABSENT] * 9, 1)) == "24 present, 9 absent, 1 unknown face"
    assert accessible.result_summary(result([PRESENT, LATE, ABSENT, EXCUSED, EXCUSED], 0)) == \
        "1 present, 1 late, 1 absent, 2 excused, 0 unknown faces"


def test_a_marked_photo_is_announced_with_its_result_and_a_problem_as_an_alert(marked):
    bar = with_class(marked, "sa-message", w.VBox)
    alert = with_class(marked, "sa-alert", w.HTML)
    status = with_class(marked, "sa-live", w.HTML)
    assert list(bar.children) == [alert, status]  # both regions always in the page, text changes in them
    assert marked.messages == "2 photos: 2 present, 3 absent, 1 unknown face." and alert.value == ""
    upload(marked, [("timetable.jpg", b"%PDF-1.4 not a photo"), ("kit_with_rose.jpg",
                                                                  (SAMPLE_IMAGES / "kit_with_rose.jpg").read_bytes())])
    assert "timetable.jpg: " in alert.value and 'class="sa-error"' in alert.value
    assert "3 photos: 4 present, 1 absent, 1 unknown face." in status.value


def test_message_bar_puts_errors_in_the_alert_and_the_rest_in_the_status():
    bar = MessageBar()
    bar.show(error=["a.jpg: not an image"], success="1 photo: 1 present, 0 absent, 0 unknown faces.")
    alert, status = bar.widget.children
    assert "sa-alert" in alert._dom_classes and "a.jpg: not an image" in alert.value
    assert "sa-live" in status._dom_classes and "1 present" in status.value and "a.jpg" not in status.value
    bar.info("Class 7A: 5 students.")
    assert alert.value == "" and "Class 7A" in status.value


def test_every_status_button_is_named_after_its_student(marked):
    groups = [x for x in widgets(marked.widget, w.ToggleButtons) if "sa-toggle-group" in x._dom_classes]
    assert [g.tooltip for g in groups] == [f"{name}: correct by hand" for name in STUDENTS.values()]
    for group, name in zip(groups, STUDENTS.values()):
        assert list(group.options) == list(STATUSES)
        assert list(group.tooltips) == [f"{name}: {status}" for status in STATUSES]
    assert groups[1].tooltips[0] == "Barack Obama: present"


def test_every_image_has_a_text_alternative_that_says_what_it_shows(marked):
    assert widgets(marked.widget, w.Image) == []  # ipywidgets' Image has no alt: every image is an <img alt>
    shown = images(marked)
    assert shown["sa-annotated-photo"] == ["class photo 1 of 2, 2 faces found, 2 recognised",
                                           "class photo 2 of 2, 1 face found, 0 recognised"]
    assert shown["sa-unknown-face"] == ["Unknown 1, face 3 in lin-manuel-miranda.png"]
    review = marked.tabs[1]
    marked.show(type(review))
    shown = images(marked)
    assert shown["sa-review-face"] == ["face 3 in lin-manuel-miranda.png, unknown face"]
    assert shown["sa-review-reference"] == ["reference photo of Barack Obama"]  # the nearest student
    marked.show(type(marked.tabs[3]))
    assert sorted(images(marked)["sa-roster-thumb"]) == [f"reference photo of {n}" for n in STUDENTS.values()]
    marked.state.subject = "Civics"
    button(marked, "Save session").click()
    marked.show(type(marked.tabs[2]))
    (chart,) = images(marked)["sa-history-chart"]
    assert chart == ("Attendance rate per student, known faces: Alex Lacamoire 0%, Barack Obama 100%, "
                     "Joe Biden 100%, Kit Harington 0%, Rose Leslie 0%")
    assert all(alt for alts in images(marked).values() for alt in alts)


def test_every_face_control_names_its_face_and_student(marked):
    names = named(marked)
    assert names["Add as a new student"] == "Add as a new student: Unknown 1"
    assert names["This is the student above"] == "This is the student above: Unknown 1 is the one chosen in the list"
    assert names["Upload photos"] == "Upload photos"
    who = next(x for x in widgets(marked.widget, w.Dropdown) if x.description == "Unknown 1 is")
    assert who.options[0][0] == "Alex Lacamoire"
    field = next(x for x in widgets(marked.widget, w.Text) if x.placeholder == "New student's name")
    assert field.description_allow_html and "Name of Unknown 1 as a new student" in field.description

    review = marked.show(type(marked.tabs[1]))
    assert named(marked)["Nobody in the class"] == "Nobody in the class: face 3 is a visitor"
    pick = next(x for x in widgets(review.widget, w.Dropdown) if "sa-review-pick" in x._dom_classes)
    assert pick.description == '<span class="sa-visually-hidden">Face 3: it is</span>' and pick.description_allow_html
    rest = next(x for x in widgets(review.widget, w.Accordion))
    rest.selected_index = 0  # the sure faces
    buttons = [x for x in widgets(rest) if isinstance(x, w.Button)]
    assert {(b.description, b.tooltip) for b in buttons} == {
        ("Right", "Right: face 1 is Barack Obama"), ("Not this student", "Not this student: face 1 is not Barack Obama"),
        ("Right", "Right: face 2 is Joe Biden"), ("Not this student", "Not this student: face 2 is not Joe Biden")}
    # Every name starts with the text shown (WCAG 2.5.3: a voice user says what they see).
    assert all(name.startswith(text) for text, name in named(marked).items())


def test_roster_controls_name_their_student(marked):
    roster = marked.show(type(marked.tabs[3]))
    names = named(marked)
    assert {n for t, n in names.items() if t == "Remove"} <= {f"Remove {n}" for n in STUDENTS.values()}
    removes = [x.tooltip for x in widgets(roster.widget, w.Button) if x.description == "Remove"]
    assert removes == [f"Remove {n}" for n in STUDENTS.values()]
    consents = [x.description for x in widgets(roster.widget, w.Dropdown) if "sa-consent" in x._dom_classes]
    assert consents == [f'Consent<span class="sa-visually-hidden"> of {n}</span>' for n in STUDENTS.values()]


def test_colour_is_never_the_only_carrier_of_what_a_face_is():
    assert all(word in _legend() for word in ("sure", "check", "ambiguous", "unknown"))
    faces = [FaceResult(0, 0, (100, 180, 180, 100), "Ada", 0.30, False, "Ada", 0.30),
             FaceResult(0, 1, (100, 380, 180, 300), "Alan", 0.57, False, "Alan", 0.57, check=True),
             FaceResult(0, 2, (100, 580, 180, 500), "Grace", 0.45, True, "Grace", 0.45),
             FaceResult(0, 3, (100, 780, 180, 700), None, None, False, "Ada", 0.70)]
    att = Attendance([], faces, [Photo("class.jpg", DetectedFaces.empty(), (1000, 400))], 0.58)
    markers = photo_markers(att, 0, {"Ada": "Ada Lovelace"})
    assert [m.kind for m in markers] == [annotate.MATCHED, annotate.CHECK, annotate.AMBIGUOUS, annotate.UNKNOWN]
    assert [m.name for m in markers] == ["face 1: Ada Lovelace, distance 0.30, sure",
                                         "face 2: Alan, distance 0.57, check",
                                         "face 3: Grace, distance 0.45, ambiguous", "face 4: unknown face"]


def test_skip_link_leads_to_the_attendance_table(marked):
    take = marked.tabs[0].widget
    first = take.children[0]
    assert f'href="#{TABLE_ID}"' in first.value and accessible.SKIP_TO_TABLE in first.value
    heading = next(x for x in widgets(take, w.HTML) if f'id="{TABLE_ID}"' in x.value)
    assert 'tabindex="-1"' in heading.value and "<h3" in heading.value
    # The table follows the heading.
    children = list(take.children)
    assert children.index(heading) + 1 == children.index(with_class(marked, "sa-roster-table", w.VBox))


def test_a_spoken_description_starts_with_what_is_shown():
    assert spoken_description("Consent of Ada", "Consent") == {
        "description": 'Consent<span class="sa-visually-hidden"> of Ada</span>', "description_allow_html": True}
    assert spoken_description("Ada <b>", "")["description"] == '<span class="sa-visually-hidden">Ada &lt;b&gt;</span>'
    with pytest.raises(ValueError):
        spoken_description("Remove Ada", "Consent")


def test_a_face_too_unsure_to_name_says_so_and_its_one_tap_names_the_face():
    assert accessible.marker_name(4, annotate.CHECK, None, None, "Amy Adams") == \
        "face 4: too unsure to name, maybe Amy Adams"
    assert accessible.suggestion_name(4, "Amy Adams") == "It is Amy Adams? face 4"
    assert accessible.suggestion_name(4, "Amy Adams").startswith("It is Amy Adams?")  # the text shown first
