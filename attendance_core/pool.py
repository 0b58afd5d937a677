"""Recognition as a shared service: a pool of workers that every dashboard of the machine (or district) uses.

``attendance serve`` and ``attendance hub`` start a :func:`start_pool` (a Dask ``LocalCluster``: worker
processes on 127.0.0.1, sized for the machine, each with dlib's models loaded once by
:class:`ModelPreload`) and give its address to the dashboards' kernels (the ``pool_address`` setting,
``ATTENDANCE_POOL_ADDRESS``). A district's cluster is started by Dask's own command-line tools instead:
``dask scheduler`` with :func:`scheduler_environment`, and ``dask worker --preload attendance_core.pool``
(:func:`dask_setup`: the models loaded before the worker joins); nothing of the dashboards' folders is
needed there: a photo's bytes, or a reference photo's, travel with its task. A kernel's :class:`PoolRecognizer` sends a photo's bytes and receives its
boxes, encodings and display copy (:func:`recognition.analyse_photo`, run on a worker): the kernel never
loads dlib. Reference photos missing from the roster's encoding cache are encoded there too; the
cache on disk stays the source of truth.

A worker that dies while it analyses a photo (killed, out of memory) is restarted by its nanny, and
the photo comes back with an error naming it, to try again. While photos wait for a free worker,
the caller's progress hears its place in the queue and an estimate, from the scheduler's task states.
The pool knows nothing of widgets; the dashboard nothing of workers.
"""
from __future__ import annotations

import contextlib
import gc
import math
import os
import threading
import time
import uuid
import warnings
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from .files import write_new_private
from .images import ImageError, PhotoFile
from .recognition import (AnalysisOptions, PhotoAnalysis, PhotoProgress, RecognitionError, Recognizer, analyse_photo,
                          display_copy_of, reference_faces)

if TYPE_CHECKING:
    from distributed import LocalCluster

    from .config import Settings
    from .encoding_cache import CachedFaces

#: Names of the pool's tasks (Dask's key prefix): the scheduler's queue is counted by them.
PHOTO_TASK = "analyse_photo"
REFERENCE_TASK = "reference_faces"
FRAME_TASK = "analyse_frame"
#: A camera's frame (small: about 0.2 s of a worker) goes before the photos waiting in the queue, so that a face at
#: the door is named within a second or two; it cannot starve them: a page has one frame in flight at most, frames
#: hold at most half of the workers at once (:func:`_frame_room`), and one not analysed within
#: FRAME_WAIT_SECONDS is dropped, not kept waiting.
FRAME_PRIORITY = 10
FRAME_WAIT_SECONDS = 3.0
#: Memory one worker needs, in MB: models (~100 MB) and a 12 MP photo's working copies (measured peak ~280 MB),
#: with room to spare; the machine's available memory over this bounds the number of workers.
WORKER_MB = 500
#: How often a waiting caller asks the scheduler where its photos are, in seconds.
POLL_SECONDS = 1.0
#: Estimate of one photo's time on a worker before the pool has finished any, in seconds.
DEFAULT_PHOTO_SECONDS = 4.0
#: How long to wait for the pool's scheduler to answer a new connection, in seconds.
CONNECT_SECONDS = 10


#: The pool's scheduler settings (Dask configuration). A task whose worker dies is not tried on another (a photo
#: that kills a worker must not kill them all). ``worker-saturation`` 1.0: in a rush (more photos than twice the
#: workers' threads) a worker is handed a photo only when its thread is free, the others wait at the scheduler in
#: the order they came, so a worker that joins takes the next one at once and one that retires hands back no more
#: than the one it runs; fewer photos go straight to a worker, and work stealing (Dask's default, kept) moves a
#: photo waiting behind another to a free worker. No web pages on the HTTP ports (task names, metrics).
SCHEDULER_CONFIG = {"distributed.scheduler.allowed-failures": 0, "distributed.scheduler.worker-saturation": 1.0,
                    "distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}


def scheduler_environment() -> dict[str, str]:
    """:data:`SCHEDULER_CONFIG` as the environment variables Dask reads (``DASK_DISTRIBUTED__SCHEDULER__...``):
    what a district's ``dask scheduler`` and ``dask worker`` processes are started with."""
    return {"DASK_" + key.upper().replace(".", "__").replace("-", "_"): repr(value)
            for key, value in SCHEDULER_CONFIG.items()}


class PoolError(RecognitionError):
    """The recognition pool cannot be reached or lost a job; the message says what to do."""


def pool_size(requested: int = 0) -> int:
    """Worker processes for this machine: ``requested``, or (0) one per core, at most one per
    :data:`WORKER_MB` of available memory, at least one."""
    if requested > 0:
        return requested
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, _available_mb() // WORKER_MB))


def _available_mb() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return 10**6  # unknown: cores decide


def __getattr__(name: str):
    # ModelPreload subclasses distributed's WorkerPlugin, dask_setup is a click command: made on first use, so that
    # importing this module (a dashboard kernel does) imports neither distributed (0.5 s) nor click.
    made = {"ModelPreload": _model_preload_class, "dask_setup": _dask_setup_command}.get(name)
    if made is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = made()
    return globals()[name]


def _model_preload_class():
    from distributed import WorkerPlugin

    class ModelPreload(WorkerPlugin):
        """Loads dlib's models (the detector ``model``, landmarks, encoder) and the proposal networks once, when
        a worker starts (a worker restarted by its nanny gets them again); on a machine shared with the
        dashboards (``niceness`` > 0), makes the worker yield the cores to them when both want them."""

        name = "attendance-models"

        def __init__(self, model: str = "hog", niceness: int = 0):
            self.model, self.niceness = model, niceness

        def setup(self, worker) -> None:
            from . import proposals
            from .faces import check_models

            if self.niceness:
                os.nice(self.niceness)  # this thread, and the threads started after it (the task's)
            check_models(self.model)
            proposals.available()

    ModelPreload.__module__, ModelPreload.__qualname__ = __name__, "ModelPreload"  # pickled by reference
    return ModelPreload


def _dask_setup_command():
    import click

    @click.command(name="attendance_core.pool")
    @click.option("--attendance-detector", type=click.Choice(["hog", "cnn"]), default="hog", show_default=True,
                  help="the face detector whose models the worker loads before it joins")
    @click.option("--attendance-niceness", type=int, default=0, show_default=True,
                  help="yield the cores to other processes of the machine by this much (0 on a node of its own)")
    def dask_setup(worker, attendance_detector: str, attendance_niceness: int) -> None:
        """``dask worker SCHEDULER --preload attendance_core.pool``: the worker loads the models before it
        joins the scheduler, so that the first photo it takes does not wait for them."""
        __getattr__("ModelPreload")(attendance_detector, attendance_niceness).setup(worker)

    return dask_setup


#: How much a pool worker on the dashboards' own machine yields to them: a teacher's page loading (the server
#: and the kernel answering) goes before a photo being analysed, which waits a little longer instead.
WORKER_NICENESS = 10


def start_pool(workers: int = 0, model: str = "hog", certificate: Path | None = None) -> "LocalCluster":
    """Start a pool on this machine: ``pool_size(workers)`` worker processes of one thread each, on
    127.0.0.1, no web dashboard; the models are preloaded on each. Close it with ``cluster.close()``.

    certificate: where to write a new private key and certificate (one PEM file, owner-only): the pool then
    speaks TLS and answers only a client holding that file (``tls://`` address); None: plain TCP, which
    any account of the machine can reach (tests). The scheduler runs with :data:`SCHEDULER_CONFIG`.
    """
    import dask
    from distributed import Client, LocalCluster

    security = None
    if certificate is not None:
        security = client_security(write_certificate(certificate))
    with dask.config.set(SCHEDULER_CONFIG):
        cluster = LocalCluster(n_workers=pool_size(workers), threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None, silence_logs=40, security=security,
                               protocol="tls://" if security else None)
    try:
        with Client(cluster, set_as_default=False, security=security) as client:
            client.register_plugin(__getattr__("ModelPreload")(model, WORKER_NICENESS))
    except BaseException:
        cluster.close()
        raise
    return cluster


def write_certificate(path: Path) -> Path:
    """Write a new private key and self-signed certificate (valid 365 days) into ``path``, owner-only, as one PEM
    file: the pool's scheduler, its workers and its clients all use it (``python -m attendance_core.pool
    certificate FILE`` for a district's cluster). Returns ``path``."""
    from distributed.security import Security

    made = Security.temporary()  # made in memory, written once
    return write_new_private(Path(path), made.tls_client_key + made.tls_client_cert)


def client_security(certificate: Path):
    """Dask's TLS settings for a pool whose key and certificate are in the PEM file ``certificate``."""
    from distributed.security import Security

    path = str(certificate)
    return Security(tls_ca_file=path, tls_client_cert=path, tls_client_key=path, tls_scheduler_cert=path,
                    tls_scheduler_key=path, tls_worker_cert=path, tls_worker_key=path, require_encryption=True)


#: The environment variables that tell a dashboard's kernel where the pool is (settings pool_address, pool_certificate).
ADDRESS_ENV, CERTIFICATE_ENV = "ATTENDANCE_POOL_ADDRESS", "ATTENDANCE_POOL_CERTIFICATE"


@contextlib.contextmanager
def shared_pool(settings: "Settings", folder: Path, log: Callable[[str], None] = print) -> Iterator[dict[str, str]]:
    """The pool ``attendance serve`` and ``attendance hub`` give their dashboards: the one the settings name
    (``pool_address``: a district's cluster), else a new one on this machine, its certificate in the private
    ``folder``, closed on exit (none when ``recognition_pool`` is off). Yields the environment variables for
    the dashboards' kernels."""
    if settings.pool_address:
        log(f"recognition pool: {settings.pool_address} (from the settings)")
        env = {ADDRESS_ENV: settings.pool_address}
        if settings.pool_certificate:
            env[CERTIFICATE_ENV] = str(Path(settings.pool_certificate).resolve())
        yield env
        return
    if not settings.recognition_pool:
        log("recognition pool: none (recognition_pool is off): each dashboard analyses its photos itself")
        yield {}
        return
    cluster = start_pool(settings.pool_workers, settings.detector, Path(folder) / "pool.pem")
    try:
        log(f"recognition pool: {len(cluster.workers)} worker processes at {cluster.scheduler_address}")
        yield {ADDRESS_ENV: cluster.scheduler_address, CERTIFICATE_ENV: str(Path(folder) / "pool.pem")}
    finally:
        cluster.close()


def _queue_places(dask_scheduler=None, keys: Sequence[str] = ()) -> dict:
    """On the scheduler: for each of ``keys``, how many pool photos (of every caller) are ahead of it and
    not done; plus the threads of the workers there are now (not those retiring) and the average seconds of a
    photo so far."""
    from distributed.core import Status

    unfinished = ("released", "waiting", "queued", "no-worker", "processing")
    pending = sorted((str(ts.key) for ts in dask_scheduler.tasks.values()
                      if ts.prefix.name == PHOTO_TASK and ts.state in unfinished), key=_submitted)
    rank = {key: k for k, key in enumerate(pending)}
    prefix = dask_scheduler.task_prefixes.get(PHOTO_TASK)
    average = prefix.duration_average if prefix is not None else -1
    threads = sum(ws.nthreads for ws in dask_scheduler.workers.values() if ws.status == Status.running)
    return {"ahead": {key: rank[key] for key in keys if key in rank}, "threads": threads,
            "seconds": average if average and average > 0 else DEFAULT_PHOTO_SECONDS}


def _frame_room(dask_scheduler=None) -> bool:
    """On the scheduler: whether one more camera frame may go to the pool (frames unfinished < half the threads)."""
    unfinished = ("released", "waiting", "queued", "no-worker", "processing")
    frames = sum(1 for ts in dask_scheduler.tasks.values() if ts.prefix.name == FRAME_TASK and ts.state in unfinished)
    threads = sum(ws.nthreads for ws in dask_scheduler.workers.values())
    return frames < max(1, threads // 2)


def _submitted(key: str) -> int:
    """When a pool task was submitted (nanoseconds, from its key)."""
    try:
        return int(key.split("-")[1])
    except (IndexError, ValueError):
        return 0


def _task_key(prefix: str) -> str:
    return f"{prefix}-{time.time_ns()}-{uuid.uuid4().hex}"


def queue_message(ahead: int, threads: int, seconds: float) -> str | None:
    """What a caller whose photo has ``ahead`` unfinished photos before it is told (None: it is being
    analysed now). seconds: one photo's average time on a worker."""
    threads = max(1, threads)
    if ahead < threads:
        return None
    rounds = ahead // threads + 1  # this photo's turn comes after these many rounds of the workers
    estimate = max(1, math.ceil(rounds * seconds))
    return (f"waiting for a free worker: {ahead} photo{'s' if ahead != 1 else ''} ahead of it, "
            f"about {estimate} s")


class _DisplayCopies:
    """The display copies of photos sent to the pool, made in a thread of this process meanwhile (reading a JPEG
    at a reduced size is quick, and mostly outside the GIL)."""

    def __init__(self, files: Sequence[PhotoFile], options: AnalysisOptions):
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="display-copies")
        self._copies = [self._thread.submit(display_copy_of, f.data, f.name, options) for f in files]
        self._thread.shutdown(wait=False)

    def attach(self, results: list[PhotoAnalysis]) -> list[PhotoAnalysis]:
        """Each analysed photo with its display copy (``image``, ``image_scale``: display pixels per photo pixel)."""
        out = []
        for result, copy in zip(results, self._copies):
            if result.error:
                copy.cancel()
            else:
                try:
                    image = copy.result()
                except ImageError as err:  # read by the worker, not here: said as the worker would have
                    result = PhotoAnalysis.failed(result.name, result.sha256, str(err))
                else:
                    result.image, result.image_scale = image, image.shape[1] / max(1, result.size[0])
            out.append(result)
        return out


class PoolRecognizer(Recognizer):
    """Runs photo and reference-photo analysis on the pool at ``address`` (``tls://127.0.0.1:PORT``; the PEM file
    ``certificate`` holds its key and certificate).

    The connection is made on first use and kept. Photos are sent as bytes, in memory; nothing is written
    to disk on either side.
    """

    def __init__(self, address: str, certificate: str | Path | None = None):
        self.address = address
        self.certificate = Path(certificate) if certificate else None
        self.where = f"on the pool at {address}"
        self._client = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Connect in the background now (importing distributed and the TLS handshake take about a second),
        so that the first photo does not wait for it; a failure is reported when the pool is first used."""
        def connect():
            try:
                self.client()
            except PoolError:
                pass

        threading.Thread(target=connect, name="pool-connect", daemon=True).start()

    def client(self):
        """The Dask client, connected on first use; raises :class:`PoolError` when the pool does not answer."""
        with self._lock:
            return self._connect()

    def _connect(self):
        if self._client is not None:
            return self._client
        insecure = PoolError(f"the recognition pool at {self.address} cannot be reached securely: "
                             "set pool_certificate to the file of its key and certificate")
        if self.address.startswith("tls://") and self.certificate is None:
            raise insecure  # before any client is made (see below)
        from distributed import Client

        failure = None
        try:
            security = client_security(self.certificate) if self.certificate else None
            self._client = Client(self.address, timeout=CONNECT_SECONDS, set_as_default=False, security=security)
        except (OSError, TimeoutError) as err:
            failure = PoolError(f"the recognition pool at {self.address} does not answer ({err}); "
                                "is `attendance serve` (or `attendance hub`) running? Try again in a minute")
        except (TypeError, ValueError):  # a bad certificate file
            failure = insecure
        if failure is not None:
            # A Client that failed in its constructor has started its IO loop and is left in reference cycles (its
            # traceback). Closed by the garbage collector in whichever thread allocates next, it takes LoopRunner's
            # process-wide lock: in the IO loop thread of the next Client starting (which holds that lock while it
            # waits for the thread), that start fails after 10 s ("assert loop is not None"). Closed here, now.
            gc.collect()
            raise failure
        return self._client

    def analyse(self, files: Sequence[PhotoFile], options: AnalysisOptions,
                progress: PhotoProgress | None = None) -> list[PhotoAnalysis]:
        """Every photo sent to the pool at once; results in order. A photo whose worker died, or that the
        pool could not take, comes back with an ``error`` naming it. The display copies (``keep_image``) are
        made here while the workers analyse: they need not wait for the analysis, nor travel back (9 MB for a
        12 MP photo)."""
        try:
            client = self.client()
        except PoolError as err:
            return [PhotoAnalysis.failed(f.name, f.sha256, f"{f.name}: not marked: {err}") for f in files]
        futures = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "large object in task graph": the photo's bytes, on purpose
            for f in files:
                futures.append(client.submit(analyse_photo, f.data, f.name, replace(options, keep_image=False),
                                             key=_task_key(PHOTO_TASK), pure=False, retries=0))
        copies = _DisplayCopies(files, options) if options.keep_image else None
        try:
            self._wait(client, files, futures, progress)
            results = [self._result(f, future) for f, future in zip(files, futures)]
            return copies.attach(results) if copies else results
        finally:
            for future in futures:
                future.release()

    def analyse_if_free(self, file: PhotoFile, options: AnalysisOptions) -> PhotoAnalysis | None:
        """A camera's frame, analysed on the pool if it has room for it now (see :data:`FRAME_PRIORITY`), else
        dropped (None); dropped too when not done within :data:`FRAME_WAIT_SECONDS`. An unreachable pool
        raises :class:`PoolError`."""
        from distributed.scheduler import KilledWorker

        client = self.client()
        try:
            if not client.run_on_scheduler(_frame_room):
                return None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                future = client.submit(analyse_photo, file.data, file.name, options, key=_task_key(FRAME_TASK),
                                       pure=False, retries=0, priority=FRAME_PRIORITY)
        except (OSError, TimeoutError) as err:
            raise PoolError(f"the recognition pool at {self.address} stopped answering ({err})") from None
        try:
            return future.result(timeout=FRAME_WAIT_SECONDS)
        except TimeoutError:
            future.cancel()
            return None
        except (KilledWorker, OSError):
            return None  # a frame is not worth a message: the next one comes in a second
        finally:
            future.release()

    def _wait(self, client, files: Sequence[PhotoFile], futures, progress: PhotoProgress | None) -> None:
        """Until every future is done, tell ``progress`` where each waiting photo is in the queue."""
        told: dict[str, str] = {}
        finished = threading.Event()
        for future in futures:
            future.add_done_callback(lambda _: finished.set())
        while True:
            pending = [(f, fut) for f, fut in zip(files, futures) if not fut.done()]
            if not pending:
                return
            unknown = False
            if progress:
                try:
                    places = client.run_on_scheduler(_queue_places, keys=[fut.key for _, fut in pending])
                except Exception:  # noqa: BLE001 - the queue's place is a courtesy; the result still comes
                    places = None
                unknown = places is not None and any(fut.key not in places["ahead"] for _, fut in pending)
                for f, fut in pending:
                    if places is None or fut.key not in places["ahead"]:
                        continue
                    stage = queue_message(places["ahead"][fut.key], places["threads"], places["seconds"]) \
                        or "detecting"
                    if told.get(f.name) != stage or stage != "detecting":
                        progress(f.name, stage, 0.1 if stage == "detecting" else 0.0)
                        told[f.name] = stage
            finished.clear()
            if not any(fut.done() for _, fut in pending):  # back at once when a photo is done
                # A photo sent a moment ago may not be at the scheduler yet (its bytes come by another connection
                # than this question): ask again soon, so that its page says where it is at once.
                finished.wait(POLL_SECONDS / 10 if unknown else POLL_SECONDS)

    def _result(self, file: PhotoFile, future) -> PhotoAnalysis:
        from distributed.scheduler import KilledWorker

        try:
            return future.result()
        except KilledWorker:
            reason = ("the recognition worker stopped while it read this photo (it may be too large for the "
                      "server's memory); nothing else was lost: try this photo again")
        except (OSError, TimeoutError) as err:
            reason = f"the recognition pool at {self.address} stopped answering ({err}); try this photo again"
        except Exception as err:  # noqa: BLE001 - a bug on the worker must reach the teacher as a message
            reason = f"the recognition pool failed on this photo ({type(err).__name__}: {err}); try it again"
        return PhotoAnalysis.failed(file.name, file.sha256, f"{file.name}: not marked: {reason}")

    def reference_faces(self, path: Path) -> "CachedFaces":
        """The faces of a reference photo, encoded on the pool; raises :class:`PoolError` when it cannot be
        (a failure is not cached as the photo's problem)."""
        path = Path(path)
        data = path.read_bytes()
        client = self.client()  # first: distributed is imported once, here or by warm_up's thread, not by both
        from distributed.scheduler import KilledWorker

        try:
            return client.submit(reference_faces, data, path.name, key=_task_key(REFERENCE_TASK), pure=False,
                                 retries=0).result()
        except KilledWorker:
            raise PoolError(f"{path.name}: the recognition worker stopped while it encoded this reference photo; "
                            "choose the class again to retry") from None
        except (OSError, TimeoutError) as err:
            raise PoolError(f"{path.name}: the recognition pool at {self.address} stopped answering ({err}); "
                            "choose the class again to retry") from None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


if __name__ == "__main__":  # python -m attendance_core.pool certificate FILE
    import sys

    if len(sys.argv) != 3 or sys.argv[1] != "certificate":
        sys.exit("usage: python -m attendance_core.pool certificate FILE   (a new key and certificate for a pool)")
    print(f"{write_certificate(Path(sys.argv[2]))}: the pool's key and certificate (owner-only; valid 365 days)")
