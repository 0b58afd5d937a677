"""The two install routes stay in step: pyproject.toml (pip) and environment.yml (conda)."""
import re
import tomllib

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from conftest import REPO

# conda-forge names for the PyPI packages whose names differ there.
CONDA_NAME = {"opencv-python-headless": "opencv"}


def _norm(name: str) -> str:
    return name.lower().replace("_", "-")


def _pyproject_requirements() -> dict[str, SpecifierSet]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    reqs = map(Requirement, data["project"]["dependencies"] + data["project"]["optional-dependencies"]["test"])
    return {CONDA_NAME.get(_norm(r.name), _norm(r.name)): r.specifier for r in reqs}


def _conda_requirements() -> dict[str, SpecifierSet]:
    text = (REPO / "environment.yml").read_text()
    deps = text.split("dependencies:", 1)[1]
    out = {}
    for line in deps.splitlines():
        # Top-level conda packages, and the few only on PyPI in the pip: sub-list (deeper indent).
        m = re.match(r"^(?:  |      )- ([A-Za-z0-9_.\-]+)\s*([<>=!].*)?$", line)
        if m and m.group(1) not in ("pip", "python"):
            out[_norm(m.group(1))] = SpecifierSet(m.group(2) or "")
    return out


def test_environment_yml_lists_every_pyproject_dependency_with_the_same_bounds():
    pip_side, conda_side = _pyproject_requirements(), _conda_requirements()
    assert set(pip_side) == set(conda_side), (
        f"only in pyproject: {sorted(set(pip_side) - set(conda_side))}; "
        f"only in environment.yml: {sorted(set(conda_side) - set(pip_side))}")
    for name, spec in pip_side.items():
        assert conda_side[name] == spec, f"{name}: pyproject says {spec}, environment.yml {conda_side[name]}"


def test_environment_yml_installs_the_project_itself():
    text = (REPO / "environment.yml").read_text()
    assert "conda-forge" in text and re.search(r"^\s+- -e \.$", text, re.MULTILINE)
