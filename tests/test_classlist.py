"""Reading class-list CSV files from a school's information system: columns, bad rows, duplicate names."""
from __future__ import annotations

import pytest

from attendance_core.school.classlist import ClassListError, parse_consent, read_class_list
from attendance_core.results import CONSENT_GIVEN, CONSENT_NOT_ASKED, CONSENT_REFUSED


def write(tmp_path, text: str, name="classes.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_rows_become_students_by_id_and_classes_as_lists_of_ids(tmp_path):
    path = write(tmp_path, "student_id,name,class\nS1,Ada Lovelace,7A\nS2,Alan Turing,7A\nS1,Ada Lovelace,Maths 7\n"
                           "S3,Ada Lovelace,7B\n")
    cl = read_class_list(path)
    assert cl.classes == {"7A": ["S1", "S2"], "Maths 7": ["S1"], "7B": ["S3"]}
    assert sorted(cl.students) == ["S1", "S2", "S3"]
    assert cl.students["S3"].name == "Ada Lovelace" and cl.problems == []
    assert cl.duplicate_names() == {"Ada Lovelace": ["S1", "S3"]}


def test_spreadsheet_exports_are_read_semicolons_bom_and_header_case(tmp_path):
    path = write(tmp_path, "\ufeffStudent ID;Name;Class;Consent\nS1;Ada  Lovelace ;7A;yes\nS2;Alan Turing;7A;no\n"
                           "S3;Grace Hopper;7A;\n")
    cl = read_class_list(path)
    assert cl.students["S1"].name == "Ada Lovelace"
    assert [cl.students[s].consent for s in ("S1", "S2", "S3")] == [CONSENT_GIVEN, CONSENT_REFUSED, None]


def test_bad_rows_are_skipped_with_their_line_numbers_and_the_rest_is_kept(tmp_path):
    path = write(tmp_path, "student_id,name,class,consent,photo\n"
                           ",No Id,7A,,\n"
                           "S/1,Bad Id,7A,,\n"
                           "S2,,7A,,\n"
                           "S3,No Class,,,\n"
                           "S4,Dan Brown,7A,maybe,\n"
                           "S5,Eve Stone,7A,,missing.jpg\n"
                           "S6,Fay Moss,7A,,\n"
                           "S6,Fay Moss-Smith,7B,,\n")
    cl = read_class_list(path)
    assert sorted(cl.students) == ["S4", "S5", "S6"]
    assert cl.classes == {"7A": ["S4", "S5", "S6"], "7B": ["S6"]}
    assert [p.line for p in cl.problems] == [2, 3, 4, 5, 6, 7, 9]
    reasons = [p.reason for p in cl.problems]
    assert reasons[0] == "no student id" and "letters and digits" in reasons[1]
    assert reasons[2] == "no name" and reasons[3] == "no class"
    assert "consent must be one of" in reasons[4] and cl.students["S4"].consent is None
    assert "photo 'missing.jpg' not found" in reasons[5]
    assert "'Fay Moss-Smith' here but 'Fay Moss' on line 8" in reasons[6] and cl.students["S6"].name == "Fay Moss"


def test_photo_paths_are_relative_to_the_csv_file(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "s1.jpg").write_bytes(b"jpeg")
    cl = read_class_list(write(tmp_path, "student_id,name,class,photo\nS1,Ada Lovelace,7A,photos/s1.jpg\n"))
    assert cl.students["S1"].photo == (tmp_path / "photos" / "s1.jpg").resolve()


def test_a_row_with_more_cells_than_the_header_is_skipped_not_shifted(tmp_path):
    """An unquoted formula with a comma inside splits into two cells: the row must not be read shifted."""
    path = write(tmp_path, 'student_id,name,class\nS1,=HYPERLINK("http://x","y"),7A\nS2,Alan Turing,7A\n'
                           'S3,"Hopper, Grace",7A\n')
    cl = read_class_list(path)
    assert sorted(cl.students) == ["S2", "S3"] and cl.classes == {"7A": ["S2", "S3"]}
    assert cl.students["S3"].name == "Hopper, Grace"  # quoted: one cell
    [problem] = cl.problems
    assert problem.line == 2 and "4 cells but the header names 3 columns" in problem.reason
    assert "double quotes" in problem.reason


@pytest.mark.parametrize("row", ['S1,=1+2,7A', 'S1,Ada Lovelace,+7A', 'S1,@SUM(A1),7A', 'S1,Ada,-cmd|x'])
def test_formula_like_names_and_classes_are_skipped(tmp_path, row):
    cl = read_class_list(write(tmp_path, f"student_id,name,class\n{row}\nS2,Alan Turing,7A\n"))
    assert sorted(cl.students) == ["S2"]
    [problem] = cl.problems
    assert problem.line == 2 and "starts like a spreadsheet formula" in problem.reason


def test_photo_cells_reach_nothing_outside_the_class_lists_folder(tmp_path):
    sis = tmp_path / "sis"
    (sis / "photos").mkdir(parents=True)
    (sis / "photos" / "s1.jpg").write_bytes(b"jpeg")
    (tmp_path / "secret.jpg").write_bytes(b"not the school's")
    (sis / "photos" / "link.jpg").symlink_to(tmp_path / "secret.jpg")
    cl = read_class_list(write(sis, "student_id,name,class,photo\n"
                                    "S1,Ada Lovelace,7A,photos/s1.jpg\n"
                                    "S2,Alan Turing,7A,/etc/passwd\n"
                                    "S3,Grace Hopper,7A,../../../root/.bashrc\n"
                                    "S4,Kit Harington,7A,../secret.jpg\n"
                                    "S5,Rose Leslie,7A,photos/link.jpg\n"
                                    "S6,Joe Biden,7A,photos/../classes.csv\n"))
    assert cl.students["S1"].photo == (sis / "photos" / "s1.jpg").resolve()
    assert all(cl.students[s].photo is None for s in ("S2", "S3", "S4", "S5", "S6"))  # listed, without a photo
    reasons = {p.line: p.reason for p in cl.problems}
    assert sorted(reasons) == [3, 4, 5, 6, 7]
    for line in (3, 4, 5, 6):
        assert "is outside the class list's folder" in reasons[line], reasons[line]
    assert "photo 'photos/../classes.csv' is not a photo file" in reasons[7]


@pytest.mark.parametrize("text, message", [
    ("id,name\nS1,Ada\n", "missing columns student_id, class"),
    ("", "empty file"),
])
def test_a_file_without_the_required_columns_is_refused_naming_it(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ClassListError, match=message) as err:
        read_class_list(path)
    assert str(path) in str(err.value)


def test_a_file_that_is_not_utf8_or_missing_is_refused(tmp_path):
    with pytest.raises(ClassListError, match="not UTF-8"):
        read_class_list(write(tmp_path, "student_id,name,class\nS1,Zoë,7A\n", encoding="latin-1"))
    with pytest.raises(ClassListError, match="file not found"):
        read_class_list(tmp_path / "nothing.csv")


def test_consent_words():
    assert parse_consent(" Given ") == CONSENT_GIVEN
    assert parse_consent("not  asked") == CONSENT_NOT_ASKED
    with pytest.raises(ValueError, match="given, refused, not asked"):
        parse_consent("perhaps")
