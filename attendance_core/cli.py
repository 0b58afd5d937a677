"""The ``attendance`` command: enroll a roster, mark attendance from photos, fetch the demo class."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__, terminal
from .config import Settings, load_settings
from .errors import AttendanceError
from .faces import DETECTORS, DetectorSettings
from .roster import Roster
from .results import ABSENT, EXCUSED, LATE, PRESENT, STATUSES
from .samples import fetch_samples
from .school.commands import add_school_commands
from .session import Session

EXIT_OK, EXIT_PHOTO_ERROR, EXIT_USAGE = 0, 1, 2


def _detector(settings: Settings) -> DetectorSettings:
    return DetectorSettings(settings.detector, settings.min_face_size, settings.workers, settings.jitters)


def _load_roster(settings: Settings, err, class_name: str | None = None) -> Roster:
    from .school import class_roster

    def progress(done: int, total: int, name: str) -> None:
        if err.isatty():
            print(f"\r  enrolling {done}/{total}", end="" if done < total else "\n", file=err)

    return class_roster(settings, (class_name or "").strip() or None, _detector(settings), progress)


def _cmd_roster(args, settings: Settings, out, err) -> int:
    roster = _load_roster(settings, err, args.class_name)
    usable = sum(s.usable for s in roster.students)
    print(f"Roster {settings.roster_dir}" + (f", class {args.class_name!r}" if args.class_name else "")
          + f": {len(roster)} students, {usable} recognisable", file=out)
    for s in roster.students:
        ok = sum(p.usable for p in s.photos)
        mark = "ok" if s.usable else ("NO CONSENT (marked by hand)" if not s.may_be_recognised else "NOT RECOGNISABLE")
        print(f"  {s.id:<28} {s.name:<28} {ok}/{len(s.photos)} reference photos  {mark}", file=out)
    notes = [(s.id, p) for s in roster.students for p in s.photos if p.note]
    if roster.problems or notes:
        print("\nReference-photo problems:", file=out)
        for problem in roster.problems:
            print(f"  {problem}", file=out)
        for sid, p in notes:
            print(f"  {p.path.relative_to(settings.roster_dir)}: {p.note}", file=out)
    return EXIT_OK


def _class_to_save(args) -> str | None:
    """The class of a command's ``--class``; a usage error when ``--save`` has none to record the session under."""
    if args.save and not (args.class_name or "").strip():
        raise ValueError("--save needs --class NAME (the class the session is recorded under)")
    return args.class_name


def _cmd_mark(args, settings: Settings, out, err) -> int:
    roster = _load_roster(settings, err, _class_to_save(args))
    for problem in roster.problems:
        print(f"warning: {problem}", file=err)
    session = Session(roster, _detector(settings), settings.tolerance, settings.ambiguity_margin,
                      max_pixels=settings.max_pixels, max_bytes=settings.max_upload_mb * 2**20,
                      check_band=settings.check_band, start=args.start,
                      late_after_minutes=settings.late_after_minutes)
    for path in args.photos:
        if err.isatty():
            print(f"  marking {path}", file=err)
        session.add_photo(path)
    result = session.result()
    failed = [p for p in result.photos if p.error]
    for p in failed:
        print(f"error: {p.error}", file=err)
    if args.format == "json":
        json.dump(result.to_dict(), out, indent=2)
        print(file=out)
    elif args.format == "csv":
        from .records.export import write_csv

        write_csv(result.to_frame(), out)
    else:
        _print_table(result, out)
    if args.save:
        _save_session(args, settings, result, out if args.format == "table" else err)
    elif args.class_name:
        print("note: not recorded (add --save to record this session)", file=err)
    return EXIT_PHOTO_ERROR if failed else EXIT_OK


def _cmd_checkin(args, settings: Settings, out, err) -> int:
    from datetime import datetime, timezone

    from .capture import CameraError, Frames, run_checkin
    from .checkin import DoorCheckIn, frame_options
    from .recognition import Recognizer

    roster = _load_roster(settings, err, _class_to_save(args))
    started = datetime.now(timezone.utc)
    session = Session(roster, _detector(settings), settings.tolerance, settings.ambiguity_margin,
                      check_band=settings.check_band, start=args.start, taken_at=started,
                      late_after_minutes=settings.late_after_minutes)
    checkin = DoorCheckIn(session, args.minutes, started)
    frames = Frames(args.camera, started)  # a camera that cannot be opened is an error before anything starts
    print(f"Check-in at the door with {args.camera} for {args.minutes:g} minutes (Ctrl+C ends it)", file=out, flush=True)
    problem = None
    try:
        run_checkin(frames, checkin, Recognizer(), frame_options(_detector(settings)),
                    lambda a: print(f"  {a.announcement()}", file=out, flush=True))
    except CameraError as error:
        problem = f"{error}; the {len(checkin.arrivals)} students marked are kept"
    except KeyboardInterrupt:
        pass
    finally:
        frames.close()
        checkin.end()
    print(f"Check-in ended: {checkin.summary()}\n", file=out)
    result = session.result()
    _print_table(result, out)
    if args.save and result.photos:
        _save_session(args, settings, result, out)
    elif args.save:
        print("note: nobody was recognised at the door: nothing recorded", file=err)
    if problem:
        print(f"attendance: error: {problem}", file=err)
    return EXIT_PHOTO_ERROR if problem else EXIT_OK


def _save_session(args, settings: Settings, result, out) -> None:
    from .records import DuplicateSessionError, RecordsError, Store

    if all(p.error for p in result.photos):
        raise RecordsError("no photo could be read: the session was not recorded")
    try:
        with Store.from_settings(settings) as store:
            session_id = store.save_session(result, class_name=args.class_name, subject=args.subject or "",
                                            settings=settings)
    except DuplicateSessionError:
        raise
    except RecordsError as err:
        raise RecordsError(f"the attendance above could not be saved: {err}") from None
    print(f"\nRecorded as session {session_id} of class {args.class_name.strip()!r}"
          + (f", subject {args.subject!r}" if args.subject else "")
          + f" (change a mark: attendance correct {session_id} STUDENT {'|'.join(STATUSES)})", file=out)


def _print_table(result, out) -> None:
    names = result.shown_names()
    late = f"{len(result.late)} late, " if result.late else ""
    print(f"{len(result.present)} present, {late}{len(result.absent)} absent, "
          f"{len(result.unknown_faces)} unknown faces (tolerance {result.tolerance:.2f})", file=out)
    if result.start is not None:
        print(f"Class started {result.start.astimezone():%Y-%m-%d %H:%M}; late after {result.late_after_minutes:g} "
              "minutes", file=out)
    if result.to_check:
        print(f"{len(result.to_check)} to check before trusting (marked CHECK below)", file=out)
    unsure = {f.suggestion: f for f in result.unsure_faces}
    if unsure:
        print(f"{len(result.unsure_faces)} face(s) too unsure to name: their likely students are marked absent "
              "(UNSURE below); look at the photo, then `attendance correct` or the dashboard's Review faces", file=out)
    if result.retake:
        print(f"{result.retake[0].upper()}{result.retake[1:]}.", file=out)
    print(f"\n{'student':<28} {'status':<8} {'distance':>8}  photo", file=out)
    for s in result.students:
        d = f"{s.distance:.3f}" if s.distance is not None else ""
        flag = f"  CHECK: {s.reason}" if s.check else ("  (ambiguous: check)" if s.ambiguous else "")
        flag += f"  (first seen {s.first_seen.astimezone():%H:%M})" if s.status == LATE and s.first_seen else ""
        flag += f"  ({s.reason})" if s.reason and not s.check and not s.photo else ""
        if s.status == ABSENT and s.id in unsure:
            f = unsure[s.id]
            flag += (f"  UNSURE: perhaps the face at {list(f.box)} in {result.photos[f.photo].name} "
                     f"({f.reason or 'not sure enough to name'})")
        print(f"{names[s.id]:<28} {s.status:<8} {d:>8}  {s.photo or ''}{flag}", file=out)
    print("\nPhotos:", file=out)
    for i, p in enumerate(result.photos):
        if p.error:
            print(f"  {p.name}: ERROR {p.error}", file=out)
            continue
        faces = result.faces_in(i)
        found = ", ".join(names[f.student] for f in faces if f.student)
        unknown = sum(f.student is None for f in faces)
        when = f" (taken {p.taken_at.astimezone():%Y-%m-%d %H:%M}, {p.time_source})" if p.taken_at else ""
        print(f"  {p.name}{when}: {len(faces)} faces; {found or 'nobody recognised'}"
              + (f"; {unknown} unknown" if unknown else ""), file=out)


def _when(value) -> str:
    return "" if value is None or value != value else value.strftime("%Y-%m-%d %H:%M")


def _cmd_sessions(args, settings: Settings, out, err) -> int:
    from .records import Store, write_csv

    if not Store.exists(settings):
        print("No sessions recorded yet (attendance mark PHOTO... --class NAME --save records one).", file=out)
        return EXIT_OK
    with Store.from_settings(settings, read_only=True) as store:
        df = store.sessions(args.class_name)
    if args.format == "csv":
        write_csv(df, out)
        return EXIT_OK
    if df.empty:
        print("No sessions recorded" + (f" for class {args.class_name!r}" if args.class_name else "") + ".", file=out)
        return EXIT_OK
    shown = df[["id", "taken_at", "class", "subject", *STATUSES, "unknown_faces", "photos",
                "marked_by"]].copy()
    shown["taken_at"] = shown["taken_at"].map(_when)
    shown = shown.rename(columns={"taken_at": "taken at (local)", "unknown_faces": "unknown", "marked_by": "by"})
    print(shown.to_string(index=False), file=out)
    return EXIT_OK


def _cmd_correct(args, settings: Settings, out, err) -> int:
    from .records import Store

    with Store.from_settings(settings) as store:
        before = store.session_marks(args.session)
        store.correct(args.session, args.student, args.status, note=args.note or "", by=args.by)
        mark = store.session_marks(args.session).set_index("student_id").loc[args.student]
    old = before.set_index("student_id").loc[args.student, "status"]
    print(f"Session {args.session}: {mark['name']} {old} -> {mark['status']} "
          f"(automatic result kept: {mark['automatic_status']})", file=out)
    return EXIT_OK


def _cmd_report(args, settings: Settings, out, err) -> int:
    from .records import RecordsError, Store

    if not Store.exists(settings):
        raise RecordsError("no sessions recorded yet (attendance mark PHOTO... --class NAME --save records one)")
    with Store.from_settings(settings, read_only=True) as store:
        report = store.report(args.class_name, args.subject, args.start, args.end)
    try:
        if args.format == "xlsx":
            path = Path(args.output or f"attendance-{_file_safe(args.class_name)}.xlsx")
            report.to_excel(path)
            print(f"Wrote {path}", file=out)
        elif args.format == "csv":
            if args.output:
                report.to_csv(args.output)
                print(f"Wrote {args.output}", file=err)
            else:
                report.to_csv(out)
        else:
            _print_report(report, out)
    except OSError as error:
        raise RecordsError(f"cannot write {error.filename or args.output}: {error.strerror}") from None
    return EXIT_OK


def _file_safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name.strip()) or "class"


def _print_report(report, out) -> None:
    scope = [f"class {report.class_name!r}"]
    if report.subject is not None:
        scope.append(f"subject {report.subject!r}")
    if report.start or report.end:
        scope.append(f"from {report.start or 'the start'} to {report.end or 'today'}")
    print(f"Attendance, {', '.join(scope)}: {len(report.sessions)} sessions", file=out)
    summary = report.summary.copy()
    summary["rate"] = summary["rate"].map(lambda r: "" if r != r else f"{r:.0%}")
    print("\n" + summary.to_string(index=False), file=out)
    if len(report.sessions):
        short = {PRESENT: "P", ABSENT: "A", EXCUSED: "E", LATE: "L"}
        matrix = report.matrix.copy()  # the id tells apart students who share a name
        for col in matrix.columns[2:]:
            matrix[col] = matrix[col].map(lambda v: short.get(v, "-"))
        print("\n" + matrix.to_string(index=False), file=out)
        print("\nP present, L late, A absent, E excused, - not in the class then. "
              "Rate = (present + late) / (present + late + absent).", file=out)


def _cmd_forget(args, settings: Settings, out, err) -> int:
    from .records import Store, UnknownStudentError
    from .roster import forget_student

    found = False
    try:
        paths = forget_student(settings.roster_dir, args.student, cache_dir=settings.cache_dir,
                               delete_photos=args.delete_photos)
        found = True
        what = "deleted" if args.delete_photos else "kept (add --delete-photos to delete them)"
        print(f"{args.student}: cached face encodings of {len(paths)} reference photos removed; "
              f"the photos are {what}", file=out)
    except KeyError:
        print(f"{args.student}: not in the roster folder {settings.roster_dir}", file=out)
    if Store.exists(settings):
        with Store.from_settings(settings) as store:
            try:
                result = store.forget_student(args.student, delete_marks=args.delete_marks)
                found = True
            except UnknownStudentError:
                result = None
        if result is None:
            print(f"{args.student}: no attendance records", file=out)
        elif result.deleted:
            print(f"{args.student}: {result.marks} marks and {result.corrections} corrections deleted", file=out)
        else:
            print(f"{args.student}: {result.marks} past marks kept, anonymised as {result.anonymised_as} "
                  "(add --delete-marks to delete them)", file=out)
    if not found:
        raise KeyError(f"no student {args.student!r} in the roster folder or the records")
    return EXIT_OK


def _cmd_samples(args, settings: Settings, out, err) -> int:
    dest = Path(args.dest)
    print(f"Laying out the demo class in {dest.resolve()} "
          + (f"(copying from {args.mirror})" if args.mirror else "(downloading)"), file=out)
    files = fetch_samples(dest, args.mirror, log=lambda line: print(line, file=out))
    print(f"{len(files)} files ready: known_faces/ (5 students) and sample_images/", file=out)
    return EXIT_OK


def _cmd_config(args, settings: Settings, out, err) -> int:
    print(f"# settings from {settings.source}", file=out)
    for name in ("tolerance", "ambiguity_margin", "check_band", "detector", "min_face_size", "jitters", "workers",
                 "roster_dir", "classes_dir", "data_dir", "max_pixels", "max_upload_mb", "max_files_per_upload",
                 "save_uploads", "late_after_minutes", "idle_kernel_minutes", "max_kernels", "max_kernels_per_user"):
        print(f"{name} = {getattr(settings, name)}", file=out)
    print(f"password_hash = {'(set)' if settings.password_hash else '(not set)'}", file=out)
    print(f"database_url = {settings.resolved_database_url()}", file=out)
    return EXIT_OK


def _cmd_serve(args, settings: Settings, out, err) -> int:
    from . import server

    if args.set_password:
        path = server.set_password(settings, terminal.read_new_password())
        print(f"Password hash stored in {path} (readable by you only). "
              "Start the dashboard with: attendance serve --ip ADDRESS", file=out)
        return EXIT_OK
    plan = server.plan_server(settings, args.ip, args.port)
    if args.print_config:
        json.dump(plan.redacted_config(), out, indent=1)
        print(file=out)
        return EXIT_OK
    return server.serve(settings, plan, log=lambda line: print(line, file=out, flush=True))


def _start_time(text: str):
    """``HH:MM`` (today) or an ISO date and time, local unless it names its offset."""
    from datetime import datetime, time

    try:
        if len(text.strip()) <= 5:
            return datetime.combine(datetime.now().date(), time.fromisoformat(text.strip())).astimezone()
        moment = datetime.fromisoformat(text.strip())
        return moment if moment.tzinfo else moment.astimezone()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time (HH:MM or YYYY-MM-DDTHH:MM): {text!r}") from None


def _iso_date(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="attendance", description="Take class attendance from classroom photos.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", type=Path, help="settings file (default: attendance.toml here or above)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def detection_options(p):
        p.add_argument("--tolerance", type=float, help="match tolerance: lower is stricter (default from config)")
        p.add_argument("--detector", choices=list(DETECTORS),
                       help="face detector: " + "; ".join(f"{d.name}, {d.description}" for d in DETECTORS.values()))
        p.add_argument("--min-face", type=int, dest="min_face_size", help="smallest face to find, in pixels")

    def timing_options(p):
        p.add_argument("--start", type=_start_time, metavar="HH:MM|YYYY-MM-DDTHH:MM",
                       help="when the class started (today, local time, for HH:MM): students first seen later than "
                            "late_after_minutes after it are late")
        p.add_argument("--late-after", type=float, dest="late_after_minutes", metavar="MINUTES",
                       help="minutes after the start after which a student first seen is late (default from config)")

    p = sub.add_parser("roster", help="enroll a roster folder and report reference-photo problems")
    p.add_argument("roster_dir", nargs="?", type=Path, help="roster folder (default known_faces)")
    p.add_argument("--class", dest="class_name", metavar="CLASS", help="only the students on this class's list")
    p.set_defaults(func=_cmd_roster)

    p = sub.add_parser("mark", help="mark attendance from one or more classroom photos")
    p.add_argument("photos", nargs="+", type=Path, metavar="PHOTO")
    p.add_argument("--roster", type=Path, dest="roster_dir", help="roster folder (default known_faces)")
    detection_options(p)
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.add_argument("--class", dest="class_name", metavar="CLASS", help="the class (course) photographed")
    p.add_argument("--subject", default="", help="the subject taught in this session")
    p.add_argument("--save", action="store_true", help="record the session in the attendance records")
    timing_options(p)
    p.set_defaults(func=_cmd_mark)

    from .checkin import DEFAULT_CHECKIN_MINUTES

    p = sub.add_parser("checkin", help="check-in at the door: a camera marks each student as they come in")
    p.add_argument("--camera", required=True, metavar="N|VIDEO", help="camera number (0: the first), or a video file")
    p.add_argument("--roster", type=Path, dest="roster_dir", help="roster folder (default known_faces)")
    detection_options(p)
    p.add_argument("--class", dest="class_name", metavar="CLASS", help="the class coming in")
    p.add_argument("--subject", default="", help="the subject taught in this session")
    timing_options(p)
    p.add_argument("--minutes", type=float, default=DEFAULT_CHECKIN_MINUTES,
                   help=f"stop after this many minutes (default {DEFAULT_CHECKIN_MINUTES:g})")
    p.add_argument("--save", action="store_true", help="record the session in the attendance records")
    p.set_defaults(func=_cmd_checkin)

    p = sub.add_parser("sessions", help="list the recorded sessions")
    p.add_argument("--class", dest="class_name", metavar="CLASS", help="only this class")
    p.add_argument("--format", choices=["table", "csv"], default="table")
    p.set_defaults(func=_cmd_sessions)

    p = sub.add_parser("correct", help="correct one student's mark in a recorded session (kept in an audit trail)")
    p.add_argument("session", type=int, metavar="SESSION", help="session number (see `attendance sessions`)")
    p.add_argument("student", metavar="STUDENT", help="student id, e.g. Name_Surname")
    p.add_argument("status", choices=list(STATUSES))
    p.add_argument("--note", default="", help="why (kept with the correction)")
    p.add_argument("--by", help="who corrects (default: your login name)")
    p.set_defaults(func=_cmd_correct)

    p = sub.add_parser("report", help="attendance counts, rates and the students-by-dates table of a class")
    p.add_argument("--class", dest="class_name", metavar="CLASS", required=True)
    p.add_argument("--subject", help="only sessions of this subject")
    p.add_argument("--from", dest="start", type=_iso_date, metavar="YYYY-MM-DD", help="first day included")
    p.add_argument("--to", dest="end", type=_iso_date, metavar="YYYY-MM-DD", help="last day included")
    p.add_argument("--format", choices=["table", "csv", "xlsx"], default="table")
    p.add_argument("--output", type=Path, help="file to write (csv: default the screen; xlsx: attendance-CLASS.xlsx)")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("forget", help="forget a student: face encodings, optionally photos and past marks")
    p.add_argument("student", metavar="STUDENT", help="student id, e.g. Name_Surname")
    p.add_argument("--delete-photos", action="store_true", help="also delete their reference photos")
    p.add_argument("--delete-marks", action="store_true",
                   help="delete their past marks instead of keeping them anonymised")
    p.add_argument("--roster", type=Path, dest="roster_dir", help="roster folder (default known_faces)")
    p.set_defaults(func=_cmd_forget)

    p = sub.add_parser("samples", help="download the demo class into known_faces/ and sample_images/")
    p.add_argument("--dest", default=".", help="project folder to lay the demo class out in (default .)")
    p.add_argument("--mirror", type=Path, help="copy from this folder instead of downloading (offline machines)")
    p.set_defaults(func=_cmd_samples)

    p = sub.add_parser("serve", help="serve the dashboard, with a login, e.g. on a school server (see README)")
    p.add_argument("--ip", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this computer only; 0.0.0.0: every network, "
                        "needs a password or ATTENDANCE_TOKEN)")
    p.add_argument("--port", type=int, default=8866, help="port (default 8866)")
    p.add_argument("--set-password", action="store_true",
                   help="ask for the dashboard password and store its hash (owner-only file in the data folder)")
    p.add_argument("--print-config", action="store_true",
                   help="print the server configuration that would be used (secrets hidden) and exit")
    p.set_defaults(func=_cmd_serve)

    from .hub import commands as hub_commands  # `attendance hub`, `users`, `classes assign` (docs/hub.md)

    hub_commands.add_commands(sub)
    p = sub.add_parser("classes", help="the school's classes")
    classes_sub = p.add_subparsers(dest="classes_command", required=True, metavar="SUBCOMMAND")
    hub_commands.add_classes_assign(classes_sub)
    add_school_commands(sub, classes_sub)

    p = sub.add_parser("config", help="show the settings in force and where they come from")
    p.set_defaults(func=_cmd_config)
    return parser


def main(argv: list[str] | None = None, out=None, err=None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    overrides = {k: getattr(args, k, None) for k in ("tolerance", "detector", "min_face_size", "roster_dir",
                                                     "late_after_minutes")}
    try:
        settings = load_settings(args.config, **overrides)
        return args.func(args, settings, out, err)
    except (AttendanceError, FileNotFoundError, KeyError, ValueError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"attendance: error: {message}", file=err)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
