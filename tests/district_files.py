"""What tests/test_district.py and tests/test_district_pods.py read: the district's files (deploy/district/) and the
charts' own files they are checked against (tests/data/district/, vendored: see SOURCES.md there)."""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import yaml

from conftest import REPO

DISTRICT = REPO / "deploy" / "district"
VENDORED = REPO / "tests" / "data" / "district"
Z2JH = VENDORED / "z2jh-4.4.0"
DASK_KUBERNETES = VENDORED / "dask-kubernetes-2025.4.3"


def documents(name: str) -> list[dict[str, Any]]:
    """The YAML documents of deploy/district/NAME."""
    return [doc for doc in yaml.safe_load_all((DISTRICT / name).read_text()) if doc is not None]


def kind(name: str, wanted: str) -> dict[str, Any]:
    """The one document of kind ``wanted`` in deploy/district/NAME."""
    found = [doc for doc in documents(name) if doc.get("kind") == wanted]
    assert len(found) == 1, f"{name}: {len(found)} documents of kind {wanted}"
    return found[0]


def helm_merge(base: Any, override: Any) -> Any:
    """Values as Helm merges a values file over the chart's defaults: maps key by key, anything else replaced,
    a null removes the key."""
    if not isinstance(base, Mapping) or not isinstance(override, Mapping):
        return copy.deepcopy(override)
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = helm_merge(merged.get(key), value) if key in merged else copy.deepcopy(value)
    return merged


def crd_schema(file: str) -> dict[str, Any]:
    """The openAPIV3 schema of the dask-kubernetes CRD in ``file``, strict (see :func:`strict`)."""
    crd = yaml.safe_load((DASK_KUBERNETES / file).read_text())
    return strict(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])


def strict(schema: Any) -> Any:
    """A Kubernetes structural schema as ``kubectl apply --validate=strict`` applies it: a field the schema does
    not name is an error (the API server would drop it silently, or refuse it), unless the schema keeps unknown
    fields (``x-kubernetes-preserve-unknown-fields``) or names their type (``additionalProperties``)."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    if ("properties" in out and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


def sub_schema(schema: dict[str, Any], *path: str) -> dict[str, Any]:
    """The schema of a field below ``schema`` (``"spec", "worker", "spec"``: a DaskCluster's worker PodSpec)."""
    for name in path:
        schema = schema["properties"][name]
    return schema
