"""The school's commands: ``attendance classes import``, ``consent``, ``purge`` and ``export-student``.

A front end, like :mod:`attendance_core.hub.commands`: :mod:`attendance_core.cli` registers them with
:func:`add_school_commands`; each command only calls the rules of this package.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..results import CONSENT_GIVEN, CONSENT_STATES

if TYPE_CHECKING:
    from ..config import Settings

EXIT_OK = 0
EXIT_ROWS_SKIPPED = 1  # as `attendance mark` with a photo it could not use


def _cmd_classes(args, settings: "Settings", out, err) -> int:
    if (args.file is None) == (args.oneroster is None):
        raise ValueError("give either a class-list FILE.csv or --oneroster DIR_OR_ZIP")
    if args.allow_mass_removal and args.oneroster is None:
        raise ValueError("--allow-mass-removal goes with --oneroster")
    if args.oneroster is not None:
        from .oneroster import import_oneroster

        report = import_oneroster(args.oneroster, settings, by=args.by, allow_mass_removal=args.allow_mass_removal)
        skipped = []  # a bundle is imported whole, or not at all (OneRosterError)
    else:
        from .classlist import import_class_list

        report = import_class_list(args.file, settings, by=args.by)
        skipped = report.problems
    for line in report.lines():
        print(line, file=out)
    if skipped:  # imported, but rows were skipped or partly used: a script must know
        print(f"{len(skipped)} row(s) of {args.file} were skipped or partly used (listed above): "
              f"correct them and import the file again.", file=err)
        return EXIT_ROWS_SKIPPED
    return EXIT_OK


def _cmd_consent(args, settings: "Settings", out, err) -> int:
    from ..records import Store
    from .consent import set_consent

    if args.student is None:
        if not Store.exists(settings):
            print("No consent recorded yet (attendance consent STUDENT given|refused records one).", file=out)
            return EXIT_OK
        with Store.from_settings(settings) as store:
            table = store.consent_register()
        table["consent"] = table["consent"].fillna("(not recorded)")
        table["recorded_at"] = table["recorded_at"].dt.strftime("%Y-%m-%d %H:%M").fillna("")
        print(table.to_string(index=False) if len(table) else "No students recorded yet.", file=out)
        return EXIT_OK
    if args.state is None:
        raise ValueError(f"say the consent of {args.student}: {' | '.join(CONSENT_STATES)}")
    state = args.state.replace("-", " ")
    change = set_consent(settings, args.student, state, by=args.by, note=args.note or "")
    print(f"{args.student}: consent {change.old or 'not recorded'} -> {change.new}", file=out)
    if change.new != CONSENT_GIVEN:
        print(f"{args.student} will not be recognised: their face stays unknown and is blurred, and they are "
              f"marked by hand ({change.encodings_removed} cached encodings deleted)", file=out)
    return EXIT_OK


def _cmd_purge(args, settings: "Settings", out, err) -> int:
    from .retention import purge

    report = purge(settings, args.older_than)
    for line in report.lines():
        print(line, file=out)
    return EXIT_OK


def _cmd_export_student(args, settings: "Settings", out, err) -> int:
    from .retention import export_student

    names = export_student(settings, args.student, args.output)
    photos = sum(n.startswith("photos/") for n in names)
    print(f"Wrote {args.output}: {', '.join(n for n in names if not n.startswith('photos/'))} and "
          f"{photos} reference photos (readable by you only)", file=out)
    return EXIT_OK


def add_school_commands(sub, classes_sub) -> None:
    """Add the school's commands to the ``attendance`` parser's subcommands ``sub``, and ``import`` to
    the subcommands ``classes_sub`` of ``attendance classes``."""
    q = classes_sub.add_parser("import", help="import a class-list CSV file or a OneRoster bundle; report unknown "
                                              "ids, missing photos, duplicate names")
    q.add_argument("file", type=Path, metavar="FILE.csv", nargs="?")
    q.add_argument("--oneroster", type=Path, metavar="DIR_OR_ZIP",
                   help="a OneRoster 1.1 / 1.2 CSV bundle (folder or ZIP): students, classes, enrollments, teachers")
    q.add_argument("--allow-mass-removal", action="store_true",
                   help="import a OneRoster bundle even if it removes more than 20%% of the school's enrolments "
                        "(refused otherwise: a truncated export)")
    q.add_argument("--by", help="who imports (recorded with consent; default: your login name)")
    q.add_argument("--roster", type=Path, dest="roster_dir", help="roster folder (default known_faces)")
    q.set_defaults(func=_cmd_classes)

    p = sub.add_parser("consent", help="record a student's consent to face recognition, or list everyone's")
    p.add_argument("student", nargs="?", metavar="STUDENT", help="student id (none: list the consent register)")
    p.add_argument("state", nargs="?", choices=["given", "refused", "not-asked"])
    p.add_argument("--by", help="who records it (default: your login name)")
    p.add_argument("--note", default="", help="e.g. where the signed form is kept")
    p.add_argument("--roster", type=Path, dest="roster_dir", help="roster folder (default known_faces)")
    p.set_defaults(func=_cmd_consent)

    p = sub.add_parser("purge", help="delete records older than DAYS days, and encodings of students in no class")
    p.add_argument("--older-than", type=float, required=True, metavar="DAYS",
                   help="delete sessions, marks and corrections older than this many days")
    p.add_argument("--roster", type=Path, dest="roster_dir", help="roster folder (default known_faces)")
    p.set_defaults(func=_cmd_purge)

    p = sub.add_parser("export-student", help="one student's records (CSV) and reference photos in a ZIP file")
    p.add_argument("student", metavar="ID", help="student id")
    p.add_argument("--output", type=Path, required=True, metavar="FILE.zip")
    p.add_argument("--roster", type=Path, dest="roster_dir", help="roster folder (default known_faces)")
    p.set_defaults(func=_cmd_export_student)
