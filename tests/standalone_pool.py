"""A pool on a cluster of its own, started by Dask's command-line tools as dask-kubernetes and Dask Gateway start
them: one `dask scheduler` with TLS, `dask worker` processes with the project's preload (`--preload
attendance_core.pool`), each with its own scratch folder. Used by tests/test_pool_cluster.py and
benchmarks/bench_pool.py.

The folders given as ``hide`` (the dashboards' ``data_dir`` and roster folder) are out of the workers' sight, as
from a worker pod: run as root (the test machine), each process of the cluster runs in a mount namespace of its
own (``unshare --mount``) where an empty file system covers them. Run as another user, the cluster's processes
have their own folders but could read those (``Cluster.isolated`` says which).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from attendance_core.pool import scheduler_environment, write_certificate

REPO = Path(__file__).resolve().parents[1]
DASK = str(Path(sys.executable).with_name("dask"))
#: Starting a worker (imports, models) on the shared 2-core machine under load can take a minute.
START_SECONDS = 180


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """The running cluster: ``address`` (``tls://127.0.0.1:PORT``), ``certificate`` (the dashboards' copy of the PEM
    file), ``workers`` (name -> process), ``start_worker()``, ``kill_worker(name)``, ``close()``."""

    def __init__(self, folder: Path, certificate: Path, niceness: int = 0, hide: tuple[Path, ...] = ()):
        self.folder, self.certificate, self.niceness, self.hide = folder, certificate, niceness, hide
        self.isolated = os.geteuid() == 0 and shutil.which("unshare") is not None
        self._own_pem = self._private_copy(certificate, folder / "pem")  # the cluster's own copy (a Secret)
        self.port = _free_port()
        self.address = f"tls://127.0.0.1:{self.port}"
        self.workers: dict[str, subprocess.Popen] = {}
        self.scratch: dict[str, Path] = {}
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("ATTENDANCE_", "DASK_"))}
        self.env.update(scheduler_environment(), PYTHONPATH=str(REPO), HOME=str(folder),
                        XDG_CACHE_HOME=str(folder / "cache"), DASK_TEMPORARY_DIRECTORY=str(folder / "tmp"))
        for sub in ("cache", "tmp"):
            self._folder(folder / sub)
        self.scheduler = self._start([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                                      "--no-dashboard", "--protocol", "tls", *self._tls()], "scheduler", folder)

    def _folder(self, path: Path) -> Path:
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def _private_copy(self, source: Path, folder: Path) -> Path:
        self._folder(folder)
        target = folder / "pool.pem"
        shutil.copyfile(source, target)
        os.chmod(target, 0o600)
        return target

    def _tls(self) -> list[str]:
        pem = str(self._own_pem)
        return ["--tls-ca-file", pem, "--tls-cert", pem, "--tls-key", pem]

    def _start(self, command: list[str], name: str, cwd: Path) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "wb")
        if self.isolated and self.hide:  # an empty file system over each hidden folder, in this process's sight only
            cover = 'while [ "$1" != -- ]; do mount -t tmpfs -o size=64k none "$1" || exit 1; shift; done; shift; exec "$@"'
            command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", cover, "sh",
                       *map(str, self.hide), "--", *command]
        try:
            return subprocess.Popen(command, cwd=cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        finally:
            log.close()

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start_worker(self, name: str | None = None) -> str:
        """Start one `dask worker` (one thread, its own scratch folder, the models preloaded); returns its name.
        It joins the scheduler once its models are loaded: wait for it with the client's ``wait_for_workers``."""
        name = name or f"worker-{len(self.scratch) + 1}"
        scratch = self._folder(self.folder / name)
        self.scratch[name] = scratch
        self.workers[name] = self._start(
            [DASK, "worker", self.address, "--name", name, "--nthreads", "1", "--no-dashboard",
             "--local-directory", str(scratch), *self._tls(), "--preload", "attendance_core.pool",
             "--attendance-niceness", str(self.niceness)], name, scratch)
        return name

    def kill_worker(self, name: str) -> None:
        """A node lost: the worker and its nanny killed at once (SIGKILL to the process group)."""
        proc = self.workers[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)

    def stop_worker(self, name: str, timeout: float = 60) -> None:
        """What Kubernetes does to a pod being removed: SIGTERM, then SIGKILL after ``timeout`` seconds."""
        proc = self.workers[name]
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def close(self) -> None:
        for name in list(self.workers):
            self.stop_worker(name, 30)
        if self.scheduler.poll() is None:
            self.scheduler.terminate()
            try:
                self.scheduler.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.scheduler.kill()
                self.scheduler.wait()


def client_of(cluster: Cluster, timeout: float = START_SECONDS):
    """A Dask client of the cluster (an operator's view: who runs what), with the dashboards' certificate."""
    from distributed import Client

    from attendance_core.pool import client_security

    deadline = time.monotonic() + timeout
    while True:
        try:
            return Client(cluster.address, security=client_security(cluster.certificate), timeout=30,
                          set_as_default=False)
        except (OSError, TimeoutError):
            if cluster.scheduler.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the dask scheduler did not answer:\n" + cluster.log("scheduler")) from None
            time.sleep(1)


@contextlib.contextmanager
def standalone_pool(workers: int = 2, niceness: int = 0, certificate: Path | None = None, hide: tuple[Path, ...] = ()):
    """A cluster of one `dask scheduler` and ``workers`` `dask worker` processes, in a folder of its own under
    the system's temporary folder (not the dashboards'); yields the :class:`Cluster` once every worker joined.

    certificate: where the dashboards' copy of the pool's key and certificate is written (default: in the
    cluster's folder); the cluster's processes read a copy of their own. hide: folders the cluster must not see.
    """
    folder = Path(tempfile.mkdtemp(prefix="attendance-pool-"))
    own_pem = certificate or folder / "dashboards.pem"
    write_certificate(own_pem)
    cluster = None
    try:
        cluster = Cluster(folder, own_pem, niceness, tuple(hide))
        for _ in range(workers):
            cluster.start_worker()
        with client_of(cluster) as client:
            try:
                client.wait_for_workers(workers, timeout=START_SECONDS)
            except TimeoutError:
                raise RuntimeError("the dask workers did not join:\n" + "\n".join(
                    cluster.log(name) for name in cluster.workers)) from None
        yield cluster
    finally:
        if cluster is not None:
            cluster.close()
        shutil.rmtree(folder, ignore_errors=True)
