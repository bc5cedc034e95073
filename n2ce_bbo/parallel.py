"""Run independent work items in parallel on Ray (a local Ray or a cluster), or sequentially without Ray.

:func:`parallel_map` is the one entry point most code needs::

    results = parallel_map(fn, items, workers=4)              # local Ray, at most 4 tasks in flight
    results = parallel_map(fn, items, workers=0)              # plain loop in this process (Ray not imported)
    results = parallel_map(fn, items, workers=8, address="ray://head:10001")   # a Ray cluster

:func:`iter_parallel` yields ``(index, outcome)`` pairs as items finish (completion order), which is what a
resumable runner needs to save each result the moment it exists.

Cluster address: ``address`` when given, else the environment variable ``RAY_ADDRESS``, else a local Ray
started in this process (or the Ray this process has already initialised).

Determinism is the caller's job: ``fn(item)`` must depend only on ``item`` (each item carries its own seed,
for example ``utils.derive_seed(seed, chunk_index)``) and the split into items must not depend on
``workers``. Then ``workers=0`` and ``workers=N`` give identical results, in item order.

Failures: a task whose worker process dies (crash, OOM kill) is resubmitted by Ray itself up to
``max_retries`` times; a task that raises (or whose worker died more often than Ray retries) is resubmitted
by this module up to ``max_retries`` times more. After that :class:`ParallelTaskError` names the item index.
The sequential path retries raised exceptions in the same way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, TypeVar

from tqdm.auto import tqdm

from n2ce_bbo.errors import N2CEBBOError

T = TypeVar("T")
R = TypeVar("R")

RAY_ADDRESS_ENV = "RAY_ADDRESS"


class ParallelTaskError(N2CEBBOError, RuntimeError):
    """A work item failed on every attempt.

    Attributes:
        index: position of the failed item in ``items``.
        attempts: how many times it was tried.
        cause: the last exception (the original one, unwrapped from Ray's wrapper when possible).
        remote_traceback: the formatted traceback of the last failure, as text.
    """

    def __init__(self, index: int, attempts: int, cause: BaseException, remote_traceback: str = "") -> None:
        self.index = index
        self.attempts = attempts
        self.cause = cause
        self.remote_traceback = remote_traceback
        first_line = (str(cause).strip().splitlines() or [""])[0]
        super().__init__(
            f"item {index} failed after {attempts} attempt{'s' if attempts != 1 else ''}: "
            f"{type(cause).__name__}: {first_line}"
        )


def resolve_address(address: str | None = None) -> str | None:
    """The Ray cluster address to use: ``address``, else ``$RAY_ADDRESS``, else ``None`` (local Ray)."""
    if address:
        return address
    env = os.environ.get(RAY_ADDRESS_ENV, "").strip()
    return env or None


def ray_init(address: str | None = None, num_cpus: int | None = None) -> None:
    """Connect to a Ray cluster, or start a local Ray; do nothing when Ray is already initialised.

    Args:
        address: cluster address (``"auto"``, ``"host:port"``, ``"ray://host:10001"``); default ``$RAY_ADDRESS``;
            ``None`` and no variable: a local Ray in this process.
        num_cpus: CPUs a local Ray may use (default: every core of this machine). Ignored for a cluster.
    """
    import ray

    if ray.is_initialized():
        return
    addr = resolve_address(address)
    if addr is not None:
        ray.init(address=addr, log_to_driver=False, ignore_reinit_error=True)
        return
    # Start a fresh local Ray; make sure an empty RAY_ADDRESS does not make ray.init look for a cluster.
    os.environ.pop(RAY_ADDRESS_ENV, None)
    ray.init(
        num_cpus=num_cpus or os.cpu_count() or 1,
        include_dashboard=False,
        log_to_driver=False,
        ignore_reinit_error=True,
    )


def ray_shutdown() -> None:
    """Disconnect from Ray (and stop a local Ray this process started); a no-op when Ray is not running."""
    if "ray" not in sys.modules:
        return
    import ray

    if ray.is_initialized():
        ray.shutdown()


def _format_exc(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


@contextlib.contextmanager
def _alarm(timeout_s: float | None) -> Iterator[None]:
    """Raise ``TimeoutError`` in this thread after ``timeout_s`` seconds (main thread on Unix only; else a no-op)."""
    usable = (
        timeout_s is not None and timeout_s > 0 and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def _raise(signum: int, frame: Any) -> None:
        raise TimeoutError(f"timed out after {timeout_s:g} s")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, float(timeout_s))  # type: ignore[arg-type]
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


def _iter_sequential(
    fn: Callable[[T], R], items: Sequence[T], max_retries: int, return_exceptions: bool, timeout_s: float | None
) -> Iterator[tuple[int, Any]]:
    for i, item in enumerate(items):
        attempts = 0
        while True:
            attempts += 1
            try:
                with _alarm(timeout_s):
                    result = fn(item)
            except Exception as exc:  # noqa: BLE001 - any failure of user code is retried, then reported
                if attempts <= max_retries:
                    continue
                err = ParallelTaskError(i, attempts, exc, _format_exc(exc))
                if return_exceptions:
                    yield i, err
                    break
                raise err from exc
            yield i, result
            break


def _call(fn: Callable[[Any], Any], item: Any) -> Any:
    """The body of every Ray task: ``fn(item)``."""
    return fn(item)


def _unwrap_ray_error(exc: BaseException) -> tuple[BaseException, str]:
    """The user's original exception inside a Ray error (when there is one) and the traceback text."""
    import ray.exceptions

    if isinstance(exc, ray.exceptions.RayTaskError):
        cause = exc.cause if isinstance(getattr(exc, "cause", None), BaseException) else exc
        return cause, str(exc)
    return exc, str(exc)


def _iter_ray(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    workers: int,
    address: str | None,
    gpus_per_task: float,
    max_retries: int,
    return_exceptions: bool,
    timeout_s: float | None,
) -> Iterator[tuple[int, Any]]:
    import ray

    ray_init(address)
    options: dict[str, Any] = {"num_cpus": 1, "max_retries": max(0, max_retries), "retry_exceptions": False}
    if gpus_per_task > 0 and ray.cluster_resources().get("GPU", 0) > 0:
        options["num_gpus"] = gpus_per_task
    remote = ray.remote(_call).options(**options)
    fn_ref = ray.put(fn)

    pending = list(range(len(items)))[::-1]  # a stack: pop() gives items in order
    attempts = [0] * len(items)
    in_flight: dict[Any, int] = {}
    deadline: dict[Any, float] = {}

    def submit(i: int) -> None:
        attempts[i] += 1
        ref = remote.remote(fn_ref, items[i])
        in_flight[ref] = i
        if timeout_s is not None and timeout_s > 0:
            deadline[ref] = time.monotonic() + timeout_s

    def expired() -> list[tuple[Any, BaseException]]:
        now = time.monotonic()
        late = [ref for ref, t in deadline.items() if t <= now and ref in in_flight]
        for ref in late:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
        return [(ref, TimeoutError(f"timed out after {timeout_s:g} s")) for ref in late]

    try:
        while pending or in_flight:
            while pending and len(in_flight) < workers:
                submit(pending.pop())
            wait_s = None
            if deadline:
                wait_s = max(0.0, min(deadline.values()) - time.monotonic())
            done, _ = ray.wait(list(in_flight), num_returns=1, timeout=wait_s)
            outcomes: list[tuple[Any, BaseException | None]] = [(ref, None) for ref in done[:1]]
            if not done:
                outcomes = list(expired())
            for ref, timeout_exc in outcomes:
                i = in_flight.pop(ref)
                deadline.pop(ref, None)
                try:
                    if timeout_exc is not None:
                        raise timeout_exc
                    result = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - task errors, worker deaths and timeouts alike
                    if attempts[i] <= max_retries:
                        submit(i)
                        continue
                    cause, tb = _unwrap_ray_error(exc)
                    err = ParallelTaskError(i, attempts[i], cause, tb)
                    if return_exceptions:
                        yield i, err
                        continue
                    raise err from cause
                yield i, result
    finally:
        for ref in in_flight:  # the caller stopped early or an item failed: do not leave work running
            with contextlib.suppress(Exception):  # best effort
                ray.cancel(ref, force=False)


def iter_parallel(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    workers: int = 0,
    address: str | None = None,
    gpus_per_task: float = 0.0,
    max_retries: int = 1,
    return_exceptions: bool = False,
    timeout_s: float | None = None,
) -> Generator[tuple[int, R | ParallelTaskError], None, None]:
    """Yield ``(index, result)`` for every item as it finishes (completion order; item order when sequential).

    Args:
        fn: a function of one item; with Ray it is serialised to the workers, so it must be importable or
            picklable by value (a module-level function, not a lambda that closes over unpicklable state).
        items: the work items.
        workers: 0: a plain loop in this process (Ray is not imported); N >= 1: at most N Ray tasks in flight.
        address: Ray cluster address (default ``$RAY_ADDRESS``, else a local Ray).
        gpus_per_task: GPU fraction requested per task, only when the cluster has GPUs.
        max_retries: extra attempts of a failed item (Ray retries worker deaths this often too).
        return_exceptions: yield ``(index, ParallelTaskError)`` for an item that failed every attempt instead
            of raising, so the other items go on.
        timeout_s: seconds one attempt may take before it counts as failed (``TimeoutError``) and is retried.
            With Ray the clock starts at submission and the task is cancelled (its worker killed); sequentially
            it uses ``SIGALRM`` and is enforced only in the main thread on Unix (elsewhere ignored).

    Raises:
        ParallelTaskError: an item failed every attempt (unless ``return_exceptions``).
        ValueError: ``workers`` or ``max_retries`` is negative.
    """
    if workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}.")
    if max_retries < 0:
        raise ValueError(f"max_retries must be >= 0, got {max_retries}.")
    items = list(items)
    if workers == 0:
        yield from _iter_sequential(fn, items, max_retries, return_exceptions, timeout_s)
        return
    yield from _iter_ray(
        fn, items, workers=workers, address=address, gpus_per_task=gpus_per_task,
        max_retries=max_retries, return_exceptions=return_exceptions, timeout_s=timeout_s,
    )


def parallel_map(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    workers: int = 0,
    address: str | None = None,
    gpus_per_task: float = 0.0,
    max_retries: int = 1,
    progress: bool = False,
    desc: str = "",
    timeout_s: float | None = None,
) -> list[R]:
    """``[fn(item) for item in items]``, spread over Ray tasks when ``workers >= 1``; results in item order.

    See :func:`iter_parallel` for the arguments. ``progress`` shows a tqdm bar (stderr) labelled ``desc``.
    For identical results whatever ``workers`` is, each item must carry its own seed (module docstring).

    Raises:
        ParallelTaskError: an item failed on every attempt; ``.index`` names it, ``.cause`` is its last error.
    """
    items = list(items)
    results: list[Any] = [None] * len(items)
    stream = iter_parallel(
        fn, items, workers=workers, address=address, gpus_per_task=gpus_per_task, max_retries=max_retries,
        timeout_s=timeout_s,
    )
    bar = None
    if progress:
        bar = tqdm(total=len(items), desc=desc, leave=False, dynamic_ncols=True)
    try:
        for i, result in stream:
            results[i] = result
            if bar is not None:
                bar.update(1)
    finally:
        stream.close()
        if bar is not None:
            bar.close()
    return results
