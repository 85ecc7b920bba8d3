"""A real Dask cluster on loopback for tests and benchmarks: `dask scheduler` and `dask worker` processes.

Not distributed's LocalCluster: real, separate processes (as on other
machines), started the way docs/scaling.md tells operators to, so a test can
kill one worker with SIGKILL and watch the scheduler run its shard again
elsewhere. Workers run without a nanny (a killed worker stays dead) and with
one thread each (one shard at a time). Every wait is bounded; every process
started is stopped and reaped.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

#: Seconds to wait for the scheduler to listen and for workers to join (imports take ~1-3 s on a busy box).
START_TIMEOUT = 60.0
#: Seconds to wait for a process to exit after SIGTERM (then SIGKILL).
STOP_TIMEOUT = 10.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class DaskCluster:
    """A scheduler and ``workers`` worker processes on 127.0.0.1. Use as a context manager."""

    def __init__(self, workers: int = 2, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_port(host)
        self.address = f"tcp://{host}:{self.port}"
        self.wanted = workers
        self.scheduler: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self._logs = tempfile.TemporaryFile()
        self._client = None

    def __enter__(self) -> "DaskCluster":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _spawn(self, module: str, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", f"distributed.cli.{module}", *args],
                                stdin=subprocess.DEVNULL, stdout=self._logs, stderr=self._logs,
                                start_new_session=True)  # a Ctrl-C sent to a test's command group never reaches them

    def start(self) -> None:
        self.scheduler = self._spawn("dask_scheduler", "--host", self.host, "--port", str(self.port),
                                     "--dashboard-address", f"{self.host}:0", "--no-show")
        for _ in range(self.wanted):
            self.add_worker(wait=False)
        self.wait_for_workers(self.wanted)

    def add_worker(self, wait: bool = True) -> subprocess.Popen:
        """Start one more worker (one thread, no nanny, no dashboard); with ``wait``, until it has joined."""
        proc = self._spawn("dask_worker", self.address, "--nthreads", "1", "--nworkers", "1", "--no-nanny",
                           "--no-dashboard", "--host", self.host, "--death-timeout", "60")
        self.workers.append(proc)
        if wait:
            self.wait_for_workers(len(self.alive_workers()))
        return proc

    def alive_workers(self) -> list[subprocess.Popen]:
        return [w for w in self.workers if w.poll() is None]

    @property
    def client(self):
        """A client of this cluster for the test's own questions (task streams, the scheduler's state)."""
        if self._client is None:
            from distributed import Client

            self._client = Client(self.address, timeout=START_TIMEOUT, set_as_default=False)
        return self._client

    def wait_for_workers(self, count: int, timeout: float = START_TIMEOUT) -> None:
        """Until exactly ``count`` workers are registered with the scheduler (bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.scheduler is not None and self.scheduler.poll() is not None:
                raise RuntimeError(f"the scheduler exited:\n{self.logs()}")
            try:
                if len(self.client.nthreads()) == count:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{count} workers did not join within {timeout} s:\n{self.logs()}")
            time.sleep(0.1)

    def worker_pids(self) -> dict[str, int]:
        """Worker address -> its process id, as the workers themselves say."""
        return self.client.run(os.getpid)

    def kill_worker(self, address: str) -> None:
        """SIGKILL one worker: no goodbye to the scheduler, as when a machine dies."""
        os.kill(self.worker_pids()[address], signal.SIGKILL)

    def logs(self) -> str:
        self._logs.seek(0)
        return self._logs.read()[-6000:].decode(errors="replace")

    def close(self) -> None:
        if self._client is not None:
            alive = self.scheduler is not None and self.scheduler.poll() is None
            try:
                self._client.close(timeout=STOP_TIMEOUT if alive else 1.0)  # no scheduler: no goodbye to wait for
            except Exception:  # noqa: BLE001 - stopping must not raise in teardown
                pass
            self._client = None
        for proc in self.workers + ([self.scheduler] if self.scheduler else []):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.workers + ([self.scheduler] if self.scheduler else []):
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT)
        self.workers.clear()
        self.scheduler = None
        self._logs.close()
