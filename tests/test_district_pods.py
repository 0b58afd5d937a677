"""The district's pods run as their files say (deploy/district/pool.yaml, services.yaml), here as processes: each
container's command, arguments and environment taken from the file, with the pod's paths, Secrets and cluster
addresses replaced by this test's (the only changes; listed in :func:`_as_here`).

- The pool: the DaskCluster's scheduler answers TLS clients and what dask-kubernetes' autoscaler asks over HTTP
  (health, the number of workers it wants, retiring one); its worker, started as the operator starts one, joins and
  analyses a demo photo and a reference photo sent by a dashboard's PoolRecognizer; a client without the pool's
  certificate is refused.
- The hub's services: the shared dashboard and the attendance API start with their pods' environment and send a
  visitor to the hub's OAuth login (the dashboard, as the hub's client ``service-dashboard``), or refuse a request
  without a token (the API).
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from attendance_core.images import PhotoFile
from attendance_core.pool import PoolError, PoolRecognizer, write_certificate
from attendance_core.recognition import AnalysisOptions

from conftest import KNOWN_FACES, REPO, SAMPLE_IMAGES, free_port, wait_until_listening
from district_files import documents, kind

#: Starting a worker (imports, models) or the dashboard on the shared 2-core machine under load can take a minute.
START_SECONDS = 180


def _as_here(container: dict, places: dict[str, str], env: dict[str, str] | None = None) -> tuple[list[str], dict]:
    """A container's command line and environment as a process of this machine: ``places`` maps the pod's paths
    and addresses to this test's (longest first), Secrets come from ``env``; ``$(VAR)`` is expanded as Kubernetes
    does; ``dask`` and ``python`` are this environment's (the image has its virtual environment on the PATH)."""
    pattern = re.compile("|".join(map(re.escape, sorted(places, key=len, reverse=True))))

    def here(value: str) -> str:  # one pass: a replacement is not replaced again
        return pattern.sub(lambda m: places[m[0]], value)

    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ATTENDANCE_", "DASK_", "JUPYTER"))}
    for item in container.get("env", []):
        if "value" in item:
            environment[item["name"]] = here(item["value"])
        else:  # from a Secret: the test's value for it
            ref = item["valueFrom"]["secretKeyRef"]
            environment[item["name"]] = (env or {})[f"{ref['name']}/{ref['key']}"]
    environment.update({k: v for k, v in (env or {}).items() if "/" not in k})
    argv = [here(re.sub(r"\$\((\w+)\)", lambda m: environment[m[1]], a)) for a in container.get("command", []) +
            container.get("args", [])]
    program = {"dask": str(Path(sys.executable).with_name("dask")), "python": sys.executable}
    return [program.get(argv[0], argv[0]), *argv[1:]], environment


@contextlib.contextmanager
def _running(argv: list[str], env: dict, cwd: Path, log: Path):
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()  # what Kubernetes sends a pod being removed, before SIGKILL
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _http(url: str, data: dict | None = None) -> tuple[int, dict, str]:
    """GET (or POST ``data`` as JSON) without following redirects: status, headers, body."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(url, data=json.dumps(data).encode() if data is not None else None,
                                     headers={"Content-Type": "application/json"} if data is not None else {})
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


def _wait(condition, what: str, timeout: float = START_SECONDS):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout:.0f} s")
        time.sleep(0.5)


def _pool_places(tmp_path: Path, pem: Path, port: int, http_port: int) -> dict[str, str]:
    for sub in ("scratch", "tmp"):
        (tmp_path / sub).mkdir(mode=0o700)
    return {"/etc/attendance/pool/pool.pem": str(pem), "/scratch": str(tmp_path / "scratch"),
            "/tmp": str(tmp_path / "tmp"), "attendance-pool-scheduler:8786": f"127.0.0.1:{port}",
            ":8787": f":{http_port}", "8786": str(port)}


def test_the_pool_runs_as_its_daskcluster_says(demo_class, tmp_path):
    cluster = kind("pool.yaml", "DaskCluster")
    (scheduler,) = cluster["spec"]["scheduler"]["spec"]["containers"]
    (worker,) = cluster["spec"]["worker"]["spec"]["containers"]
    pem = write_certificate(tmp_path / "pool.pem")  # `python -m attendance_core.pool certificate`: the Secret's file
    dashboards_pem = write_certificate(tmp_path / "other.pem")  # replaced at once by the dashboards' copy:
    dashboards_pem.write_bytes(pem.read_bytes())  # the same Secret, mounted in the dashboard pod
    port, http_port = free_port(), free_port()
    places = _pool_places(tmp_path, pem, port, http_port)
    argv, env = _as_here(scheduler, places)
    with _running(argv, env, tmp_path, tmp_path / "scheduler.log") as scheduler_proc:
        wait_until_listening(scheduler_proc, http_port, tmp_path / "scheduler.log", START_SECONDS, "dask scheduler")
        # What the operator asks: the pod's readiness, and how many workers the scheduler wants.
        assert _http(f"http://127.0.0.1:{http_port}/health")[0] == 200
        status, _, body = _http(f"http://127.0.0.1:{http_port}/api/v1/adaptive_target")
        assert status == 200 and json.loads(body) == {"workers": 0}
        assert _http(f"http://127.0.0.1:{http_port}/status")[0] == 404  # no other web page (task names...)

        argv, env = _as_here(worker, places, {"DASK_WORKER_NAME": f"{cluster['metadata']['name']}-default-worker-1"})
        with _running(argv, env, tmp_path / "scratch", tmp_path / "worker.log") as worker_proc:
            recognizer = PoolRecognizer(f"tls://127.0.0.1:{port}", dashboards_pem)
            try:
                client = recognizer.client()
                _wait(lambda: worker_proc.poll() is not None or len(client.scheduler_info()["workers"]) == 1,
                      "the worker did not join")
                assert worker_proc.poll() is None, (tmp_path / "worker.log").read_text()
                (joined,) = client.scheduler_info()["workers"].values()
                assert joined["name"] == f"{cluster['metadata']['name']}-default-worker-1" and joined["nthreads"] == 1
                assert joined["local_directory"].startswith(str(tmp_path / "scratch"))  # its own scratch folder
                # A dashboard's photos and reference photos, analysed there.
                photo = SAMPLE_IMAGES / "kit_with_rose.jpg"
                (result,) = recognizer.analyse([PhotoFile(photo.name, photo.read_bytes())], AnalysisOptions())
                assert result.error is None and len(result.boxes) == 2
                assert len(recognizer.reference_faces(KNOWN_FACES / "Alex_Lacamoire.jpg").encodings) == 1
                # The autoscaler's scale-down: the scheduler retires the worker it names, then the pod goes.
                # A worker still holding results the client has not yet released (the release travels on its
                # own, late on a busy machine) is not retired; the operator asks again, and so does this test.
                def retire() -> list[str]:
                    status, _, body = _http(f"http://127.0.0.1:{http_port}/api/v1/retire_workers", {"n": 1})
                    assert status == 200, body
                    return [w["name"] for w in json.loads(body).values()]
                assert _wait(retire, "the idle worker was not retired", 60) == [joined["name"]]
                _wait(lambda: not client.scheduler_info()["workers"], "the retired worker did not leave", 60)
            finally:
                recognizer.close()
            worker_proc.terminate()
            assert worker_proc.wait(timeout=60) is not None  # within the pod's grace period
        # Without the pool's certificate, no client gets in.
        with pytest.raises(PoolError, match="securely"):
            PoolRecognizer(f"tls://127.0.0.1:{port}").client()


def _service_places(tmp_path: Path, port: int) -> dict[str, str]:
    for sub in ("data", "classes", "run", "home"):
        (tmp_path / sub).mkdir(mode=0o700)
    return {"/app": str(REPO), "/srv/attendance/data": str(tmp_path / "data"),
            "/srv/attendance/classes": str(tmp_path / "classes"), "/srv/attendance/run": str(tmp_path / "run"),
            "/etc/attendance/pool/pool.pem": str(tmp_path / "pool.pem"),
            "http://0.0.0.0:8000": f"http://127.0.0.1:{port}",
            "http://hub:8081": f"http://127.0.0.1:{free_port()}"}  # no hub there: nothing here needs it


def _service_container(name: str) -> dict:
    (deployment,) = [d for d in documents("services.yaml") if d["kind"] == "Deployment" and d["metadata"]["name"] == name]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _secrets(tmp_path: Path, service: str) -> dict[str, str]:
    return {"attendance-records/database-url": f"sqlite:///{tmp_path / 'records.db'}",
            f"hub/hub.services.{service}.apiToken": "a-service-token-of-this-test", "HOME": str(tmp_path / "home")}


def test_the_shared_dashboard_starts_as_its_pod_and_sends_teachers_to_the_hubs_login(tmp_path):
    port = free_port()
    places = _service_places(tmp_path, port)
    write_certificate(tmp_path / "pool.pem")
    # No preheated kernels here (a setting: ATTENDANCE_DASHBOARD_WARM_KERNELS): this checks the server, not them.
    env = {**_secrets(tmp_path, "dashboard"), "ATTENDANCE_DASHBOARD_WARM_KERNELS": "0"}
    argv, environment = _as_here(_service_container("attendance-dashboard"), places, env)
    assert argv[1:3] == ["-m", "attendance_core.hub.dashboard_service"] and Path(argv[3]).is_file()
    with _running(argv, environment, tmp_path / "home", tmp_path / "dashboard.log") as proc:
        wait_until_listening(proc, port, tmp_path / "dashboard.log", START_SECONDS, "the shared dashboard")
        status, headers, _ = _http(f"http://127.0.0.1:{port}/services/dashboard/")
    assert status == 302, (tmp_path / "dashboard.log").read_text()
    login = urllib.parse.unquote(headers["Location"])
    assert "/hub/api/oauth2/authorize?" in login and "client_id=service-dashboard" in login
    assert "redirect_uri=/services/dashboard/oauth_callback" in login


def test_the_attendance_api_starts_as_its_pod_and_asks_for_a_token(tmp_path):
    port = free_port()
    argv, environment = _as_here(_service_container("attendance-api"), _service_places(tmp_path, port),
                                 _secrets(tmp_path, "attendance-api"))
    assert argv[1:] == ["-m", "attendance_core.api"]
    with _running(argv, environment, tmp_path / "home", tmp_path / "api.log") as proc:
        wait_until_listening(proc, port, tmp_path / "api.log", START_SECONDS, "the attendance API")
        status, _, body = _http(f"http://127.0.0.1:{port}/services/attendance-api/v1/classes")
    assert status == 401 and "JupyterHub API token" in body, (tmp_path / "api.log").read_text()
