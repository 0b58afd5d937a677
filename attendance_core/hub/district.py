"""A district's files: the hub on Zero to JupyterHub, its shared dashboard and attendance API in pods of their own,
and the recognition pool on a dask-kubernetes ``DaskCluster`` that its ``DaskAutoscaler`` grows and shrinks.

Made from the code ``attendance hub`` is configured by (:mod:`.hub_config`, :func:`.hooks.install`, the pool's
:data:`..pool.SCHEDULER_CONFIG` and preload), so that the two cannot drift: ``attendance hub --district-files FOLDER``
writes them, and ``deploy/district/`` holds them as made from the default settings (``tests/test_district.py``
checks that, validates them against the charts' published schemas, and runs what they say). docs/hub.md, "Applying
the district's files", says how a district applies them.

- ``values.yaml``: Helm values of the ``jupyterhub`` chart (Zero to JupyterHub): the hub's configuration
  (``hub.config``, ``hub.services``, ``hub.loadRoles``, ``hub.extraConfig``, ``cull``), the project's hub image.
- ``services.yaml``: the shared dashboard and the attendance API as the hub's external services (Deployments and
  Services), the dashboard's data volume.
- ``pool.yaml``: the ``DaskCluster`` (``dask scheduler`` with TLS; ``dask worker --preload attendance_core.pool``, a
  scratch folder each, none of the dashboards' folders), its ``DaskAutoscaler``, and a NetworkPolicy.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path, PurePosixPath
from typing import Any

from ..config import ENV_PREFIX, Settings
from ..pool import ADDRESS_ENV, CERTIFICATE_ENV, scheduler_environment
from ..server import DASHBOARD_NOTEBOOK
from . import DASHBOARD_SERVICE
from .hub_config import HUB_TEMPLATES, SERVICE_MODULES, common_config, dashboard_environment, idle_culling
from .plan import HubError, hooks_lines

#: This installation's project folder, and where the image has it (deploy/district/Dockerfile: ``/app``, its
#: virtual environment ``/opt/venv``, on the PATH).
PROJECT = Path(__file__).resolve().parents[2]
APP = PurePosixPath("/app")
#: The dashboard pod's folders: its data (encoding cache; a volume), the school's classes (read-only), its runtime.
DATA_DIR, CLASSES_DIR, RUNTIME_DIR = "/srv/attendance/data", "/srv/attendance/classes", "/srv/attendance/run"
#: Kubernetes Secrets the district makes (docs/hub.md): the records' database URL, the pool's key and certificate.
RECORDS_SECRET, RECORDS_KEY = "attendance-records", "database-url"
POOL_SECRET, POOL_PEM = "attendance-pool-tls", "/etc/attendance/pool/pool.pem"
#: The volume of the school's classes (one roster folder per class), made and filled by the district.
CLASSES_CLAIM = "attendance-classes"
#: Zero to JupyterHub's names: the hub's Service and port, the Secret that holds each service's API token, the label
#: that lets a pod reach the hub through the chart's NetworkPolicy.
HUB_API_URL, HUB_SECRET = "http://hub:8081/hub/api", "hub"
HUB_ACCESS_LABEL = "hub.jupyter.org/network-access-hub"
#: The pool: the DaskCluster's name (the operator names its scheduler's Service NAME-scheduler), and its size.
POOL = "attendance-pool"
POOL_ADDRESS = f"tls://{POOL}-scheduler:8786"
POOL_MIN_WORKERS, POOL_MAX_WORKERS = 2, 12
#: The operator's autoscaler asks the scheduler how many workers it wants and retires them gracefully through the
#: scheduler's HTTP API (dask-kubernetes' controller: /api/v1/adaptive_target, /api/v1/retire_workers), and checks
#: its health (/health): only those routes, on a port only the operator may reach (the NetworkPolicy).
OPERATOR_ROUTES = ["distributed.http.scheduler.api", "distributed.http.health"]
OPERATOR_NAMESPACE = "dask-operator"
SERVICE_PORT = 8000
#: Settings that say where things are, set for each pod above; the others, when not the defaults, go to every pod.
_PLACES = {"roster_dir", "classes_dir", "data_dir", "database_url", "password_hash", "pool_address",
           "pool_certificate", "recognition_pool", "pool_workers", "max_kernels"}
_LABELS = {"app.kubernetes.io/part-of": "smart-attendance"}
_HEADER = ("# Written by `attendance hub --district-files` (attendance_core/hub/district.py) from the code that\n"
           "# configures `attendance hub`: change that code or the settings, and write these again.\n"
           "# docs/hub.md, \"Applying the district's files\", says how to apply them.\n")


def in_image(path: str | Path) -> str:
    """Where a file of this installation's project folder is in the image."""
    path = Path(path)
    return str(APP / path.relative_to(PROJECT)) if path.is_relative_to(PROJECT) else str(path)


def district_settings(settings: Settings) -> Settings:
    """``settings`` with the dashboard pod's folders and the district's pool (the database URL comes from a Secret)."""
    return dataclasses.replace(settings, roster_dir=Path(DATA_DIR) / "known_faces", data_dir=Path(DATA_DIR),
                               classes_dir=CLASSES_DIR, database_url="postgresql+psycopg://from-the-secret/",
                               pool_address=POOL_ADDRESS, pool_certificate=POOL_PEM, source="defaults")


def _tuning(settings: Settings) -> dict[str, str]:
    """The settings other than folders, records and pool that differ from the defaults, as ``ATTENDANCE_*``."""
    default = Settings()
    return {ENV_PREFIX + f.name.upper(): str(getattr(settings, f.name)).lower() if f.type == "bool"
            else str(getattr(settings, f.name))
            for f in dataclasses.fields(Settings)
            if f.name not in _PLACES and f.name != "source" and getattr(settings, f.name) != getattr(default, f.name)}


def _secret(name: str, key: str) -> dict[str, Any]:
    return {"valueFrom": {"secretKeyRef": {"name": name, "key": key}}}


def helm_values(settings: Settings, authenticator: str, image: str) -> dict[str, Any]:
    """The ``jupyterhub`` chart's values: the hub as ``attendance hub`` configures it, in the hub image ``image``-hub."""
    common = common_config(settings, authenticator, [in_image(HUB_TEMPLATES)])
    hub = dict(common["JupyterHub"])
    # The chart takes services and roles as maps by name (mergeable values), and makes them JupyterHub's lists.
    services = {s["name"]: {key: value for key, value in s.items() if key != "name"} | {"url": _service_url(s["name"])}
                for s in hub.pop("services")}
    roles = {r["name"]: {key: value for key, value in r.items() if key != "name"} for r in hub.pop("load_roles")}
    name, tag = _name_and_tag(image)
    values: dict[str, Any] = {
        "hub": {
            "image": {"name": f"{name}-hub", "tag": tag},
            "config": {"JupyterHub": hub, "NativeAuthenticator": common["NativeAuthenticator"]},
            "services": services,
            "loadRoles": roles,
            # The project's hooks, and the admins and allowed users read from the records when the hub starts.
            "extraConfig": {"attendance": "\n".join(hooks_lines(users_for=authenticator)) + "\n"},
            "extraEnv": {"ATTENDANCE_DATABASE_URL": _secret(RECORDS_SECRET, RECORDS_KEY),
                         "ATTENDANCE_DATA_DIR": "/srv/jupyterhub/attendance", **_tuning(settings)},
        },
        # No teacher gets a server of their own in the shared layout (hooks.pre_spawn refuses): the image is the
        # project's so that nothing else is pulled.
        "singleuser": {"image": {"name": name, "tag": tag}},
        # Nor is the chart's machinery for teachers' pods needed: their scheduler, placeholders, image pullers.
        "scheduling": {"userScheduler": {"enabled": False}, "userPlaceholder": {"enabled": False}},
        "prePuller": {"hook": {"enabled": False}, "continuous": {"enabled": False}},
    }
    culling = idle_culling(settings)
    # jupyterhub-idle-culler as `attendance hub` runs it (admins' servers too).
    values["cull"] = ({"enabled": True, "timeout": culling[0], "every": culling[1], "adminUsers": True, "users": False}
                      if culling else {"enabled": False})
    return values


def _name_and_tag(image: str) -> tuple[str, str]:
    """``registry:5000/smart-attendance:1.2`` -> ``("registry:5000/smart-attendance", "1.2")``; no tag: latest."""
    name, colon, tag = image.rpartition(":")
    return (name, tag) if colon and "/" not in tag else (image, "latest")


def _service_url(service: str) -> str:
    return f"http://{_workload(service)}:{SERVICE_PORT}"


def _workload(service: str) -> str:
    """The Deployment and Service of a hub service: ``attendance-api``, ``attendance-dashboard``."""
    return service if service.startswith("attendance-") else f"attendance-{service}"


def service_environment(settings: Settings, service: str) -> list[dict[str, Any]]:
    """The environment of a hub service's pod: what ``attendance hub`` gives the service (its settings; for the
    dashboard the pool's) and what JupyterHub gives a service it starts (its name, address, token, OAuth client)."""
    local = district_settings(settings)
    env = {k: in_image(v) if v.startswith("/") else v for k, v in dashboard_environment(local).items()}
    if service != DASHBOARD_SERVICE:  # the API: the records' settings only, as `attendance hub` gives it
        env = {k: v for k, v in env.items() if k.startswith(ENV_PREFIX)}
    else:
        env.update({ADDRESS_ENV: POOL_ADDRESS, CERTIFICATE_ENV: POOL_PEM, "JUPYTER_RUNTIME_DIR": RUNTIME_DIR})
    env.update(_tuning(settings))
    prefix = f"/services/{service}/"
    env.update(JUPYTERHUB_SERVICE_NAME=service, JUPYTERHUB_SERVICE_URL=f"http://0.0.0.0:{SERVICE_PORT}",
               JUPYTERHUB_SERVICE_PREFIX=prefix, JUPYTERHUB_API_URL=HUB_API_URL,
               JUPYTERHUB_CLIENT_ID=f"service-{service}", JUPYTERHUB_OAUTH_CALLBACK_URL=prefix + "oauth_callback",
               JUPYTERHUB_OAUTH_ACCESS_SCOPES=f'["access:services!service={service}"]', JUPYTERHUB_HOST="")
    out = [{"name": k, "value": v} for k, v in sorted(env.items()) if k != "ATTENDANCE_DATABASE_URL"]
    return out + [{"name": "ATTENDANCE_DATABASE_URL", **_secret(RECORDS_SECRET, RECORDS_KEY)},
                  {"name": "JUPYTERHUB_API_TOKEN", **_secret(HUB_SECRET, f"hub.services.{service}.apiToken")}]


def _pod_security(read_only_root: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """The pod's and its container's security: the image's own account, no privilege, no service account token."""
    pod = {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000}
    container = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                 "readOnlyRootFilesystem": read_only_root}
    return pod, container


def _tls_volume() -> tuple[dict[str, Any], dict[str, Any]]:
    volume = {"name": "pool-tls", "secret": {"secretName": POOL_SECRET, "defaultMode": 0o440}}  # group: fsGroup
    return volume, {"name": "pool-tls", "mountPath": str(PurePosixPath(POOL_PEM).parent), "readOnly": True}


def services_manifests(settings: Settings, image: str) -> list[dict[str, Any]]:
    """The hub's external services: a Deployment and a Service each (the shared dashboard keeps one replica: a
    page's kernel lives in the pod that served it), and the dashboard's data volume (the encoding cache)."""
    docs: list[dict[str, Any]] = [{
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "attendance-data", "labels": _LABELS},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}},
    }]
    for service in common_config(settings, "native")["JupyterHub"]["services"]:
        name = service["name"]
        dashboard = name == DASHBOARD_SERVICE
        command = ["python", "-m", SERVICE_MODULES[name]] + ([in_image(DASHBOARD_NOTEBOOK)] if dashboard else [])
        pod_security, security = _pod_security()
        labels = {**_LABELS, "app.kubernetes.io/name": _workload(name), HUB_ACCESS_LABEL: "true"}
        container: dict[str, Any] = {
            "name": _workload(name), "image": image, "command": command,
            "env": service_environment(settings, name),
            "ports": [{"name": "http", "containerPort": SERVICE_PORT}],
            "readinessProbe": {"tcpSocket": {"port": "http"}, "periodSeconds": 10},
            "securityContext": security,
            # The shared dashboard: ~150 MB, ~117 MB a preheated kernel, up to 600 MB a page (docs/hub.md).
            "resources": ({"requests": {"cpu": "1", "memory": "4Gi"}, "limits": {"memory": "16Gi"}} if dashboard
                          else {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}),
        }
        pod: dict[str, Any] = {"securityContext": pod_security, "automountServiceAccountToken": False,
                               "containers": [container]}
        # Both read the school's classes; the dashboard keeps its data (the encoding cache) and reaches the pool.
        container["volumeMounts"] = [{"name": "data", "mountPath": DATA_DIR},
                                     {"name": "classes", "mountPath": CLASSES_DIR, "readOnly": True}]
        pod["volumes"] = [{"name": "data", **({"persistentVolumeClaim": {"claimName": "attendance-data"}}
                                              if dashboard else {"emptyDir": {}})},
                          {"name": "classes", "persistentVolumeClaim": {"claimName": CLASSES_CLAIM, "readOnly": True}}]
        if dashboard:
            tls_volume, tls_mount = _tls_volume()
            container["volumeMounts"] += [{"name": "run", "mountPath": RUNTIME_DIR}, tls_mount]
            pod["volumes"] += [{"name": "run", "emptyDir": {}}, tls_volume]
        selector = {"app.kubernetes.io/name": _workload(name)}
        docs.append({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": _workload(name), "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": selector},
                     "strategy": {"type": "Recreate"},  # one pod at a time: the data volume is ReadWriteOnce
                     "template": {"metadata": {"labels": labels}, "spec": pod}},
        })
        docs.append({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": _workload(name), "labels": _LABELS},
            "spec": {"selector": selector, "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http"}]},
        })
    return docs


def _pool_environment(extra: dict[str, str] | None = None) -> list[dict[str, str]]:
    env = {**scheduler_environment(), **(extra or {})}
    return [{"name": k, "value": v} for k, v in sorted(env.items())]


def _tls_arguments() -> list[str]:
    return ["--tls-ca-file", POOL_PEM, "--tls-cert", POOL_PEM, "--tls-key", POOL_PEM]


def pool_manifests(settings: Settings, image: str) -> list[dict[str, Any]]:
    """The recognition pool: a ``DaskCluster`` whose scheduler speaks TLS only and whose workers load the models
    before they join, its ``DaskAutoscaler``, and a NetworkPolicy (the dashboards reach the scheduler, the operator
    its HTTP API, nothing else)."""
    tls_volume, tls_mount = _tls_volume()
    pod_security, security = _pod_security(read_only_root=True)
    scheduler = {
        "name": "scheduler", "image": image,
        "args": ["dask", "scheduler", "--port", "8786", "--protocol", "tls", "--no-dashboard",
                 "--dashboard-address", ":8787", *_tls_arguments()],
        "env": _pool_environment({"DASK_DISTRIBUTED__SCHEDULER__HTTP__ROUTES": repr(OPERATOR_ROUTES),
                                  "HOME": "/tmp", "DASK_TEMPORARY_DIRECTORY": "/tmp"}),
        "ports": [{"name": "tcp-comm", "containerPort": 8786, "protocol": "TCP"},
                  {"name": "http-dashboard", "containerPort": 8787, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"port": "http-dashboard", "path": "/health"}, "periodSeconds": 10},
        "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
        "volumeMounts": [tls_mount, {"name": "tmp", "mountPath": "/tmp"}], "securityContext": security,
    }
    worker = {
        "name": "worker", "image": image,
        # One photo at a time, in its own scratch folder; the models loaded before the worker joins (pool.dask_setup).
        # The scheduler's address first (Kubernetes expands $(VAR)): dask worker takes its first word for it.
        "args": ["dask", "worker", "$(DASK_SCHEDULER_ADDRESS)", "--name", "$(DASK_WORKER_NAME)", "--nthreads", "1",
                 "--memory-limit", "1GiB",
                 "--no-dashboard", "--local-directory", "/scratch", *_tls_arguments(),
                 "--preload", "attendance_core.pool", f"--attendance-detector={settings.detector}"],
        "env": _pool_environment({"DASK_SCHEDULER_ADDRESS": POOL_ADDRESS, "HOME": "/scratch", "TMPDIR": "/scratch",
                                  "DASK_TEMPORARY_DIRECTORY": "/scratch"}),
        "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
        "volumeMounts": [tls_mount, {"name": "scratch", "mountPath": "/scratch"}], "securityContext": security,
    }
    pod = {"securityContext": pod_security, "automountServiceAccountToken": False}
    cluster = {
        "apiVersion": "kubernetes.dask.org/v1", "kind": "DaskCluster", "metadata": {"name": POOL, "labels": _LABELS},
        "spec": {
            "scheduler": {
                "spec": {**pod, "containers": [scheduler], "volumes": [tls_volume, {"name": "tmp", "emptyDir": {}}]},
                "service": {"type": "ClusterIP",
                            "selector": {"dask.org/cluster-name": POOL, "dask.org/component": "scheduler"},
                            "ports": [{"name": "tcp-comm", "protocol": "TCP", "port": 8786, "targetPort": "tcp-comm"},
                                      {"name": "http-dashboard", "protocol": "TCP", "port": 8787,
                                       "targetPort": "http-dashboard"}]},
            },
            "worker": {
                "replicas": POOL_MIN_WORKERS,
                # A worker being removed (the autoscaler, a node drained) hands its photos back first.
                "spec": {**pod, "terminationGracePeriodSeconds": 60, "containers": [worker],
                         "volumes": [tls_volume, {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}]},
            },
        },
    }
    autoscaler = {"apiVersion": "kubernetes.dask.org/v1", "kind": "DaskAutoscaler",
                  "metadata": {"name": POOL, "labels": _LABELS},
                  "spec": {"cluster": POOL, "minimum": POOL_MIN_WORKERS, "maximum": POOL_MAX_WORKERS}}
    dashboards = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": _workload(DASHBOARD_SERVICE)}}}
    policy = {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": POOL, "labels": _LABELS},
        "spec": {
            "podSelector": {"matchLabels": {"dask.org/cluster-name": POOL}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [{"podSelector": {"matchLabels": {"dask.org/cluster-name": POOL}}}]},
                {"from": [dashboards], "ports": [{"protocol": "TCP", "port": 8786}]},
                {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": OPERATOR_NAMESPACE}}}],
                 "ports": [{"protocol": "TCP", "port": 8787}]},
            ],
        },
    }
    return [cluster, autoscaler, policy]


def district_files(settings: Settings, authenticator: str = "native", image: str = "smart-attendance:latest"
                   ) -> dict[str, str]:
    """The files' names and texts (YAML). Raises :class:`.plan.HubError` for a hub of servers per teacher."""
    import yaml

    if settings.hub_dashboards != "shared":
        raise HubError("the district's files are for the shared dashboard (hub_dashboards = \"shared\"); a server per "
                       "teacher on Kubernetes (KubeSpawner's singleuser settings) is not written by them: see docs/hub.md")

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data) -> bool:  # each value written out where it is, no &id001 / *id001
            return True

    def text(dumper, value: str):  # a piece of Python (hub.extraConfig) as a block, as written
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)

    Dumper.add_representer(str, text)

    def dump(docs: list[dict[str, Any]]) -> str:
        return _HEADER + "---\n".join(yaml.dump(doc, Dumper=Dumper, sort_keys=False, width=120) for doc in docs)

    return {"values.yaml": dump([helm_values(settings, authenticator, image)]),
            "services.yaml": dump(services_manifests(settings, image)),
            "pool.yaml": dump(pool_manifests(settings, image))}


def write_district_files(folder: Path, settings: Settings, authenticator: str = "native",
                         image: str = "smart-attendance:latest") -> list[Path]:
    """Write :func:`district_files` into ``folder`` (made if needed); returns the files written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in district_files(settings, authenticator, image).items():
        (folder / name).write_text(text, encoding="utf-8")
        written.append(folder / name)
    return written
