"""The ``attendance`` command: enroll a roster, mark attendance from photos, fetch the demo class."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__
from .config import ConfigError, Settings, load_settings
from .faces import DetectorSettings, ModelError
from .roster import Roster, load_roster
from .samples import SampleError, fetch_samples
from .session import Session

EXIT_OK, EXIT_PHOTO_ERROR, EXIT_USAGE = 0, 1, 2


def _detector(settings: Settings) -> DetectorSettings:
    return DetectorSettings(settings.detector, settings.min_face_size, settings.workers, settings.jitters)


def _load_roster(settings: Settings, err) -> Roster:
    def progress(done: int, total: int, name: str) -> None:
        if err.isatty():
            print(f"\r  enrolling {done}/{total}", end="" if done < total else "\n", file=err)

    return load_roster(settings.roster_dir, _detector(settings), settings.cache_dir, progress)


def _cmd_roster(args, settings: Settings, out, err) -> int:
    roster = _load_roster(settings, err)
    usable = sum(s.usable for s in roster.students)
    print(f"Roster {settings.roster_dir}: {len(roster)} students, {usable} recognisable", file=out)
    for s in roster.students:
        ok = sum(p.usable for p in s.photos)
        mark = "ok" if s.usable else "NOT RECOGNISABLE"
        print(f"  {s.id:<28} {s.name:<28} {ok}/{len(s.photos)} reference photos  {mark}", file=out)
    notes = [(s.id, p) for s in roster.students for p in s.photos if p.note]
    if roster.problems or notes:
        print("\nReference-photo problems:", file=out)
        for problem in roster.problems:
            print(f"  {problem}", file=out)
        for sid, p in notes:
            print(f"  {p.path.relative_to(settings.roster_dir)}: {p.note}", file=out)
    return EXIT_OK


def _cmd_mark(args, settings: Settings, out, err) -> int:
    roster = _load_roster(settings, err)
    for problem in roster.problems:
        print(f"warning: {problem}", file=err)
    session = Session(roster, _detector(settings), settings.tolerance, settings.ambiguity_margin)
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
        result.to_frame().to_csv(out, index=False)
    else:
        _print_table(result, out)
    return EXIT_PHOTO_ERROR if failed else EXIT_OK


def _print_table(result, out) -> None:
    by_id = {s.id: s for s in result.students}
    print(f"{len(result.present)} present, {len(result.absent)} absent, "
          f"{len(result.unknown_faces)} unknown faces (tolerance {result.tolerance:.2f})", file=out)
    print(f"\n{'student':<28} {'status':<8} {'distance':>8}  photo", file=out)
    for s in result.students:
        d = f"{s.distance:.3f}" if s.distance is not None else ""
        flag = "  (ambiguous: check)" if s.ambiguous else ""
        print(f"{s.name:<28} {s.status:<8} {d:>8}  {s.photo or ''}{flag}", file=out)
    print("\nPhotos:", file=out)
    for i, p in enumerate(result.photos):
        if p.error:
            print(f"  {p.name}: ERROR {p.error}", file=out)
            continue
        faces = result.faces_in(i)
        names = ", ".join(by_id[f.student].name for f in faces if f.student)
        unknown = sum(f.student is None for f in faces)
        print(f"  {p.name}: {len(faces)} faces; {names or 'nobody recognised'}"
              + (f"; {unknown} unknown" if unknown else ""), file=out)


def _cmd_samples(args, settings: Settings, out, err) -> int:
    dest = Path(args.dest)
    print(f"Laying out the demo class in {dest.resolve()} "
          + (f"(copying from {args.mirror})" if args.mirror else "(downloading)"), file=out)
    files = fetch_samples(dest, args.mirror, log=lambda line: print(line, file=out))
    print(f"{len(files)} files ready: known_faces/ (5 students) and sample_images/", file=out)
    return EXIT_OK


def _cmd_config(args, settings: Settings, out, err) -> int:
    print(f"# settings from {settings.source}", file=out)
    for name in ("tolerance", "ambiguity_margin", "detector", "min_face_size", "jitters", "workers",
                 "roster_dir", "data_dir", "max_pixels", "max_upload_mb"):
        print(f"{name} = {getattr(settings, name)}", file=out)
    print(f"database_url = {settings.resolved_database_url()}", file=out)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="attendance", description="Take class attendance from classroom photos.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", type=Path, help="settings file (default: attendance.toml here or above)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def detection_options(p):
        p.add_argument("--tolerance", type=float, help="match tolerance: lower is stricter (default from config)")
        p.add_argument("--detector", choices=["hog", "cnn"], help="face detector (default hog)")
        p.add_argument("--min-face", type=int, dest="min_face_size", help="smallest face to find, in pixels")

    p = sub.add_parser("roster", help="enroll a roster folder and report reference-photo problems")
    p.add_argument("roster_dir", nargs="?", type=Path, help="roster folder (default known_faces)")
    p.set_defaults(func=_cmd_roster)

    p = sub.add_parser("mark", help="mark attendance from one or more classroom photos")
    p.add_argument("photos", nargs="+", type=Path, metavar="PHOTO")
    p.add_argument("--roster", type=Path, dest="roster_dir", help="roster folder (default known_faces)")
    detection_options(p)
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.set_defaults(func=_cmd_mark)

    p = sub.add_parser("samples", help="download the demo class into known_faces/ and sample_images/")
    p.add_argument("--dest", default=".", help="project folder to lay the demo class out in (default .)")
    p.add_argument("--mirror", type=Path, help="copy from this folder instead of downloading (offline machines)")
    p.set_defaults(func=_cmd_samples)

    p = sub.add_parser("config", help="show the settings in force and where they come from")
    p.set_defaults(func=_cmd_config)
    return parser


def main(argv: list[str] | None = None, out=None, err=None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    overrides = {k: getattr(args, k, None) for k in ("tolerance", "detector", "min_face_size", "roster_dir")}
    try:
        settings = load_settings(args.config, **overrides)
        return args.func(args, settings, out, err)
    except (ConfigError, SampleError, ModelError, FileNotFoundError, KeyError, ValueError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"attendance: error: {message}", file=err)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
