"""Print the project's requirements from pyproject.toml, one a line (scripts/setup.sh installs dlib apart).

    python scripts/requirements.py dlib                                   # dlib's requirement only
    python scripts/requirements.py --without dlib face_recognition --extra test
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10: pip's own copy of the same parser
    from pip._vendor import tomli as tomllib


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="print only these packages' requirements")
    parser.add_argument("--without", nargs="*", default=[], help="leave these packages out")
    parser.add_argument("--extra", action="append", default=[], help="add an optional-dependencies group")
    args = parser.parse_args()
    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in args.extra:
        requirements += project["optional-dependencies"][extra]
    only = {_name(n) for n in args.only}
    without = {_name(n) for n in args.without}
    for r in requirements:
        if (not only or _name(r) in only) and _name(r) not in without:
            print(r)


if __name__ == "__main__":
    main()
