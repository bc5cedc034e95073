"""parallel_map: sequential vs Ray equivalence, error reporting, retries after a worker death, a real Ray head."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from n2ce_bbo.parallel import ParallelTaskError, iter_parallel, parallel_map, ray_shutdown, resolve_address


def _square_noise(item: tuple[int, int]) -> float:
    """A seeded computation: the result depends on the item (index, seed) only."""
    import numpy as np

    index, seed = item
    rng = np.random.default_rng(seed)
    return float(index * index + rng.standard_normal())


def _fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError(f"bad item {x}")
    return x + 1


def _flaky(args: tuple[int, str]) -> int:
    """Raise on the first attempt of each item (marker file absent), succeed on the second."""
    x, marker_dir = args
    marker = Path(marker_dir) / f"seen-{x}"
    if not marker.exists():
        marker.write_text("1")
        raise RuntimeError(f"transient failure of {x}")
    return x * 10


def _die_once(args: tuple[int, str]) -> int:
    """Kill the worker process on the first attempt of item 1 (marker file absent)."""
    x, marker_dir = args
    marker = Path(marker_dir) / f"died-{x}"
    if x == 1 and not marker.exists():
        marker.write_text("1")
        os._exit(1)
    return x * 100


def _pid(x: int) -> tuple[int, int]:
    return x, os.getpid()


@pytest.fixture
def ray_clean():
    """Make this module's functions picklable by value for Ray workers; shut Ray down after the test."""
    pytest.importorskip("ray")
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray_shutdown()
    yield
    ray_shutdown()


def test_sequential_does_not_import_ray_and_keeps_order():
    had_ray = "ray" in sys.modules
    items = [(i, 100 + i) for i in range(6)]
    out = parallel_map(_square_noise, items, workers=0)
    assert out == [_square_noise(it) for it in items]
    if not had_ray:
        assert "ray" not in sys.modules


def test_sequential_error_names_item_index():
    with pytest.raises(ParallelTaskError, match="item 3 failed after 2 attempts: ValueError: bad item 3") as info:
        parallel_map(_fail_on_three, list(range(5)), workers=0, max_retries=1)
    assert info.value.index == 3
    assert isinstance(info.value.cause, ValueError)


def test_sequential_retries_transient_failure(tmp_path):
    out = parallel_map(_flaky, [(i, str(tmp_path)) for i in range(3)], workers=0, max_retries=1)
    assert out == [0, 10, 20]
    with pytest.raises(ParallelTaskError):
        parallel_map(_flaky, [(7, str(tmp_path / "missing"))], workers=0, max_retries=0)


def test_iter_parallel_return_exceptions_sequential():
    got = dict(iter_parallel(_fail_on_three, list(range(5)), workers=0, max_retries=0, return_exceptions=True))
    assert got[0] == 1 and got[4] == 5
    assert isinstance(got[3], ParallelTaskError) and got[3].index == 3


def test_negative_workers_rejected():
    with pytest.raises(ValueError, match="workers"):
        parallel_map(_pid, [1], workers=-1)


def test_resolve_address_env(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    assert resolve_address(None) == "10.0.0.1:6379"
    assert resolve_address("auto") == "auto"
    monkeypatch.delenv("RAY_ADDRESS")
    assert resolve_address(None) is None


@pytest.mark.ray
def test_ray_matches_sequential(ray_clean):
    items = [(i, 7 * i + 1) for i in range(8)]
    seq = parallel_map(_square_noise, items, workers=0)
    par = parallel_map(_square_noise, items, workers=2)
    assert par == seq
    pids = {pid for _, pid in parallel_map(_pid, list(range(6)), workers=2)}
    assert os.getpid() not in pids  # the work really ran in Ray worker processes


@pytest.mark.ray
def test_ray_error_names_item_index(ray_clean):
    with pytest.raises(ParallelTaskError, match="item 3 failed after 2 attempts") as info:
        parallel_map(_fail_on_three, list(range(5)), workers=2, max_retries=1)
    assert info.value.index == 3
    assert isinstance(info.value.cause, ValueError)
    assert "bad item 3" in str(info.value)


@pytest.mark.ray
def test_ray_retries_application_error(ray_clean, tmp_path):
    out = parallel_map(_flaky, [(i, str(tmp_path)) for i in range(4)], workers=2, max_retries=1)
    assert out == [0, 10, 20, 30]


@pytest.mark.ray
def test_ray_worker_killed_mid_task_is_retried(ray_clean, tmp_path):
    items = [(i, str(tmp_path)) for i in range(4)]
    out = parallel_map(_die_once, items, workers=2, max_retries=1)
    assert out == [0, 100, 200, 300]
    assert (tmp_path / "died-1").exists()  # the worker really died once


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop_head(temp_dir: str, port: int) -> None:
    """Kill only the Ray processes of the head this test started (and their children), by pid.

    ``ray stop --force`` would kill every Ray on the machine, including other users' and sessions', so the
    processes are found by the head's unique temp folder or its GCS port in their command lines.
    """
    import signal

    import psutil

    me = os.getpid()
    roots = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if proc.info["pid"] != me and (temp_dir in cmd or ("ray" in cmd and f":{port} " in cmd + " ")):
            roots.append(proc)
    victims = {}
    for root in roots:
        victims[root.pid] = root
        with contextlib.suppress(psutil.NoSuchProcess):
            victims.update({c.pid: c for c in root.children(recursive=True)})
    victims.pop(me, None)
    for proc in victims.values():
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(signal.SIGKILL)
    psutil.wait_procs(list(victims.values()), timeout=10)


@pytest.mark.ray
@pytest.mark.slow
def test_real_ray_head_by_address(ray_clean):
    pytest.importorskip("psutil")
    ray_exe = Path(sys.executable).with_name("ray")
    if not ray_exe.exists():
        pytest.skip("the `ray` executable is not installed next to the Python interpreter")
    port = _free_port()
    # A short, unique temp folder: Ray's unix socket paths must stay under ~107 characters.
    temp_dir = tempfile.mkdtemp(prefix="n2ce-rayhead-", dir="/tmp")
    # Ray >= 2.5x enables token authentication on `ray start` by default; this loopback-only test head opts out
    # so that the driver (auth disabled) can connect without a shared token.
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled")
    env.pop("RAY_ADDRESS", None)
    start = [
        str(ray_exe), "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=2",
        "--disable-usage-stats", "--include-dashboard=false", f"--temp-dir={temp_dir}",
        f"--ray-client-server-port={_free_port()}", f"--dashboard-port={_free_port()}",
        f"--dashboard-agent-listen-port={_free_port()}",
    ]
    try:
        proc = subprocess.run(start, env=env, capture_output=True, text=True, timeout=90)
        if proc.returncode != 0:
            pytest.fail(f"ray start failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        address = f"127.0.0.1:{port}"
        # A small but real optimisation whose chain chunks run as Ray tasks on that head.
        from n2ce_bbo import optimize
        from n2ce_bbo.methods.base import ParallelSpec

        small = {
            "model": {"latent_dim": 2, "hidden": 32},
            "train": {"epochs": 2, "batch_size": 256},
            "prior": {"K": 1, "M": 10},
            "propose": {"n_chains": 64, "chain_chunk": 16, "sampler": {"n_steps": 10}},
        }
        on_head = optimize("Branin-Exact-v0", "n2ce", budget=8, seed=3, config=small,
                           parallel=ParallelSpec(workers=2, address=address))
        local = optimize("Branin-Exact-v0", "n2ce", budget=8, seed=3, config=small)
        np.testing.assert_allclose(on_head.x, local.x, rtol=1e-5, atol=1e-5)
        assert on_head.oracle_scores is not None and np.isfinite(on_head.oracle_scores).all()
        import ray

        assert ray.is_initialized()
        assert ray.get_runtime_context().gcs_address.endswith(f":{port}")  # the head above, not a local Ray
    finally:
        ray_shutdown()
        _stop_head(temp_dir, port)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _sleepy(x: float) -> float:
    time.sleep(x)
    return x


def test_sequential_timeout_counts_as_failure():
    with pytest.raises(ParallelTaskError, match="item 1 failed after 1 attempt: TimeoutError") as info:
        parallel_map(_sleepy, [0.0, 5.0], workers=0, max_retries=0, timeout_s=0.2)
    assert isinstance(info.value.cause, TimeoutError)
    assert parallel_map(_sleepy, [0.0, 0.01], workers=0, timeout_s=2.0) == [0.0, 0.01]


@pytest.mark.ray
def test_ray_timeout_cancels_and_reports(ray_clean):
    t0 = time.perf_counter()
    # 10 s: starting a Ray worker on a loaded 2-core machine has taken more than 3 s (item 0 then timed out too)
    got = dict(iter_parallel(_sleepy, [0.0, 60.0], workers=2, max_retries=0, timeout_s=10.0, return_exceptions=True))
    assert got[0] == 0.0
    assert isinstance(got[1], ParallelTaskError) and isinstance(got[1].cause, TimeoutError)
    assert time.perf_counter() - t0 < 45  # cancelled, not waited for
