"""Host shards on a Dask cluster: the engine's per-host split, run by Dask's ``distributed``.

Why Dask and not a home-made pool: a scheduler, workers on any number of
machines, a task run again elsewhere when its worker dies, a dashboard,
and the Helm chart and ``dask scheduler`` / ``dask worker`` commands
operators already know (docs/scaling.md).

How a cluster run goes (:func:`check_on_cluster`, called by
``check.check_urls`` when ``CheckOptions.cluster`` names a scheduler):

* The caller plans shards (:func:`plan_shards`): every URL of a host in one
  shard, so each host's politeness (permits, schedule, ``Retry-After``
  pauses, catch-all probes) is kept by one event loop exactly as in a local
  run; a host with at least a slot's share of the URLs goes alone, the rest
  are packed together, biggest first onto the lightest shard.
* Each shard is one Dask task (:func:`_run_shard`) carrying its URLs and the
  run's :class:`~provenance.check.CheckOptions` (limits, address policy,
  headers): no database path, no article, no Wayback setting, no
  environment. On the worker it runs the engine's own
  ``check.check_urls_async`` in an event loop of its own.
* Progress: a shard sends what it finished in batches as Dask events on one
  topic (PROGRESS_TOPIC), each URL as its index in the shard (4 bytes) and
  its verdict (1 byte): the scheduler keeps a topic's last events (Dask's
  ``events-log-length``), so they must stay small. The caller reports each
  URL once. The results themselves (with page bodies for the drift judge) come back
  as the task's value, and only a finished task's value counts: a shard
  whose worker died and ran again elsewhere gives each URL once.
* Faults: Dask re-runs a lost worker's tasks (up to its
  ``distributed.scheduler.allowed-failures``); a shard that still fails
  leaves its URLs ``unchecked`` ("run cut short"), as a dead local worker
  process does. Ctrl-C (or any exception in the caller) cancels the
  run's tasks; a running shard notices within STOP_POLL_SECONDS (its task
  was cancelled, or the run's stop event was set) and stops its requests.
* Wayback and other archive lookups never run here: they stay on the
  caller, whose rate limit toward each archive is then global.
"""

from __future__ import annotations

import asyncio
import os
import queue
import socket
import time
import uuid
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from . import __version__, check
from .models import VERDICTS, CheckResult, iso_z, utc_now
from .resolve import url_host

#: Seconds to reach the scheduler (and for its workers to answer) before the run gives up, exit 2.
CONNECT_TIMEOUT = 10.0
#: Seconds the caller waits for at least one worker to join a scheduler that has none.
WORKER_WAIT = 10.0
#: Shards per worker thread. One: a shard is one event loop over many hosts, so a second wave of
#: shards would only wait for the first (per-host politeness, not CPU, sets most runs' pace).
SHARDS_PER_SLOT = 1
#: Results a shard sends per progress event, and the longest it holds one back (seconds).
PROGRESS_BATCH = 256
PROGRESS_EVERY = 0.5
#: The Dask event topic of every run's progress (one topic: the scheduler keeps each topic it ever saw).
PROGRESS_TOPIC = "provenance-progress"
#: Seconds between a running shard's looks at whether it was cancelled.
STOP_POLL_SECONDS = 0.5
#: Seconds between the caller's looks at its tasks (progress is drained at least this often).
TICK_SECONDS = 0.2
#: Seconds the caller tolerates a lost connection to the scheduler before it cuts the run short.
LOST_SCHEDULER_GRACE = 30.0
#: Address schemes Dask's comms speak that a user may name (tls:// takes its certificates from Dask's config).
SCHEMES = ("tcp", "tls", "ws", "wss")


class ClusterError(Exception):
    """The cluster cannot be used (bad address, unreachable scheduler, workers without provenance): one line."""


@dataclass
class Shard:
    """One Dask task's work: a run's token, the shard's number, its hosts' URLs and the run's options."""

    #: Names the run's tasks and its stop event, and marks its progress events.
    run: str
    index: int
    urls: list[str]
    options: check.CheckOptions
    #: provenance's version on the caller: a worker with another one refuses (verdicts would differ).
    version: str = __version__


def plan_shards(urls: Sequence[str], slots: int) -> list[list[str]]:
    """Hosts dealt to shards: a host never splits; one with a slot's share or more goes alone.

    ``slots`` is how many shards may run at once (the cluster's worker
    threads). Smaller hosts are packed biggest first onto the lightest
    shard, so shards end up about equal and a huge host does not drag a
    crowd of small ones behind it while the other workers sit idle.
    """
    by_host: dict[str, list[str]] = {}
    for url in dict.fromkeys(urls):
        by_host.setdefault(url_host(url), []).append(url)
    if not by_host:
        return []
    slots = max(1, slots)
    share = -(-sum(len(u) for u in by_host.values()) // slots)  # ceil
    ordered = sorted(by_host.values(), key=len, reverse=True)
    alone = [host_urls for host_urls in ordered if len(host_urls) >= share]
    packed: list[list[str]] = [[] for _ in range(max(1, min(slots - len(alone), len(ordered) - len(alone))))]
    for host_urls in ordered[len(alone):]:
        min(packed, key=len).extend(host_urls)
    return [list(s) for s in alone] + [s for s in packed if s]


def parse_address(address: str) -> str:
    """A scheduler address as Dask wants it: ``host:port`` becomes ``tcp://host:port``; ClusterError otherwise."""
    text = address.strip()
    if "://" not in text:
        text = "tcp://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ClusterError(f"bad cluster address {address!r}: use e.g. tcp://scheduler:8786") from None
    if parts.scheme not in SCHEMES or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise ClusterError(f"bad cluster address {address!r}: use e.g. tcp://scheduler:8786")
    return f"{parts.scheme}://{parts.netloc}"


_clients: dict[str, object] = {}


def connect(address: str, timeout: float = CONNECT_TIMEOUT):
    """A client of the scheduler at ``address`` (one per address per process), checked before any work.

    Raises ClusterError, in one line, when the address is malformed, nothing
    answers there within ``timeout``, no worker joins within WORKER_WAIT, or
    the workers cannot run provenance (not installed, another version).
    """
    address = parse_address(address)
    client = _clients.get(address)
    if client is not None and getattr(client, "status", "") == "running":
        return client
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError("--cluster needs Dask's distributed: pip install 'provenance[cluster]'") from None
    parts = urlsplit(address)
    if parts.scheme in ("tcp", "tls"):
        # Dask retries a refused connection until its timeout; a plain connect says "nobody there" at once.
        try:
            socket.create_connection((parts.hostname, parts.port), timeout=timeout).close()
        except OSError as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {address}: "
                               f"{getattr(exc, 'strerror', None) or exc}") from None
    try:
        # distributed's Client bounds its connect but not the scheduler's first answer (a port that accepts
        # and never speaks hangs it): ask for the scheduler's identity first, every step under one deadline.
        asyncio.run(asyncio.wait_for(_identity(address, timeout), timeout))
        client = Client(address, timeout=timeout, set_as_default=False)
    except ClusterError:
        raise
    except (OSError, TimeoutError, asyncio.TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: "
                           f"{_one_line(exc) if str(exc).strip() else f'no answer in {timeout:g} s'}") from None
    except Exception as exc:  # noqa: BLE001 - a foreign server on that port answers garbage
        raise ClusterError(f"no Dask scheduler at {address}: {_one_line(exc)}") from None
    try:
        if not client.nthreads():
            try:
                client.wait_for_workers(1, timeout=WORKER_WAIT)
            except (OSError, TimeoutError):
                raise ClusterError(f"the Dask scheduler at {address} has no workers "
                                   f"(start some with: dask worker {address})") from None
        try:
            versions = client.run(_worker_version)
        except Exception as exc:  # noqa: BLE001 - whatever the worker raised, the cause is the same
            raise ClusterError(f"the Dask workers at {address} cannot run provenance "
                               f"(install it on every worker): {_one_line(exc)}") from None
        other = sorted({v for v in versions.values() if v != __version__})
        if other:
            raise ClusterError(f"the Dask workers at {address} run provenance {', '.join(other)}, "
                               f"this is {__version__}: install the same version everywhere")
    except BaseException:
        _close(client)
        raise
    _clients[address] = client
    return client


async def _identity(address: str, timeout: float) -> dict:
    """The scheduler's answer to "identity": proof that a Dask scheduler, not just a socket, is there."""
    from distributed.comm import connect as comm_connect
    from distributed.security import Security

    comm = await comm_connect(address, timeout=timeout, **Security().get_connection_args("client"))
    try:
        await comm.write({"op": "identity", "reply": True})
        answer = await comm.read()
    finally:
        comm.abort()
    if not isinstance(answer, dict) or answer.get("type") != "Scheduler":
        raise ClusterError(f"no Dask scheduler at {address} (something else answers there)")
    return answer


def quiet_dask_logs() -> None:
    """Keep Dask's own log records (reconnect tracebacks, warnings) off a command's stderr: the command says
    what went wrong in one line. For the command line; a library user keeps Dask's logging as configured."""
    import logging

    try:
        import distributed  # noqa: F401 - importing it configures its loggers; set them after that
    except ImportError:
        return
    names = [n for n in logging.root.manager.loggerDict if n == "distributed" or n.startswith("distributed.")]
    for name in names or ["distributed"]:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def disconnect() -> None:
    """Close every client this process opened (the scheduler then forgets their tasks)."""
    while _clients:
        _close(_clients.popitem()[1])


def _close(client) -> None:
    try:
        # A client that lost its scheduler would spend the whole timeout trying to say goodbye.
        client.close(timeout=CONNECT_TIMEOUT if client.status == "running" else 1.0)
    except Exception:  # noqa: BLE001 - closing must not mask the run's own outcome
        pass


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _worker_version() -> str:
    """Run on each worker by :func:`connect`: importing this module there proves provenance is installed."""
    return __version__


# ---------------------------------------------------------------- the caller


def _caller_network(options: check.CheckOptions) -> dict:
    """The caller's proxy and trust settings from its environment, fixed into the shard's options.

    A worker's environment is not the caller's: HTTPS_PROXY or SSL_CERT_FILE set where the command runs
    must reach the workers as values, or they would go direct and trust another store. A CA bundle
    path must then exist on every worker (docs/scaling.md).
    """
    from . import network

    out: dict = {}
    if not options.proxy and options.proxy_env is None:
        proxies = network.Proxies.from_env()
        out["proxy_env"] = (proxies.http, proxies.https, proxies.no_proxy)
    if not options.ca_bundle and os.environ.get("SSL_CERT_FILE"):
        out["ca_bundle"] = os.environ["SSL_CERT_FILE"]
    return out


def check_on_cluster(urls: Sequence[str], options: check.CheckOptions,
                     progress: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    """Check each distinct URL once on the cluster ``options.cluster``; results in input order.

    ``progress`` is called here, in the caller's thread, once per URL, as
    the workers report. Raises ClusterError when the cluster cannot be used.
    """
    unique = list(dict.fromkeys(urls))
    if not unique:
        return []
    if not options.cluster:
        raise ClusterError("no cluster address given")
    client = connect(options.cluster)
    from distributed import Event

    slots = sum(client.nthreads().values()) or 1
    run = uuid.uuid4().hex[:16]
    planned = plan_shards(unique, slots * SHARDS_PER_SLOT)
    # The shard carries the run's options and nothing else of the caller's. --concurrency keeps its meaning
    # (in flight at once, all hosts) and is shared out as the local engine shares it over its processes.
    shard_options = replace(options, cluster=None, workers=1,
                            concurrency=max(1, options.concurrency // min(len(planned), slots)),
                            **_caller_network(options))
    shards = [Shard(run, i, urls_, shard_options) for i, urls_ in enumerate(planned)]
    events: queue.SimpleQueue = queue.SimpleQueue()
    topic = PROGRESS_TOPIC
    client.subscribe_topic(topic, events.put)
    told: set[str] = set()

    def tell(result: CheckResult) -> None:
        if result.url not in told:
            told.add(result.url)
            if progress is not None:
                progress(result)

    def drain(wait: float) -> None:
        try:
            event = events.get(timeout=wait) if wait > 0 else events.get_nowait()
        except queue.Empty:
            return
        while True:
            _stamp, message = event
            if isinstance(message, dict) and message.get("run") == run:  # other callers' runs share the topic
                shard = shards[message["shard"]]
                for at, code in zip(array("I", message["at"]), message["verdicts"]):
                    tell(CheckResult(url=shard.urls[at], verdict=VERDICTS[code]))
            try:
                event = events.get_nowait()
            except queue.Empty:
                return

    results: dict[str, CheckResult] = {}
    failed: dict[str, str] = {}
    futures = {client.submit(_run_shard, shard, key=f"provenance-shard-{run}-{shard.index}", pure=False): shard
               for shard in shards}
    pending = dict(futures)
    lost_since: float | None = None
    try:
        while pending:
            drain(TICK_SECONDS)
            for future in [f for f in pending if f.done()]:
                shard = pending.pop(future)
                try:
                    finished = future.result() if future.status == "finished" else None
                except Exception:  # noqa: BLE001 - lost on the way back (its worker died): judged below
                    finished = None
                if finished is None:
                    why = _failure(future, client)
                    for url in shard.urls:
                        failed[url] = why
                else:
                    for result in finished:
                        results[result.url] = result
                        tell(result)  # the shard is done: its URLs count now, not when the last event comes
                future.release()
            if client.status == "running":
                lost_since = None
            elif lost_since is None:
                lost_since = time.monotonic()
            elif time.monotonic() - lost_since > LOST_SCHEDULER_GRACE:
                for shard in pending.values():
                    for url in shard.urls:
                        failed[url] = "run cut short: lost the Dask scheduler"
                pending.clear()
        drain(0)
    except BaseException:
        # Ctrl-C or a failure here: the cluster must not go on checking for nobody.
        _cancel(client, Event, run, list(futures))
        raise
    finally:
        try:
            client.unsubscribe_topic(topic)
        except Exception:  # noqa: BLE001 - a lost scheduler: nothing to unsubscribe from
            pass
    now = iso_z(utc_now())
    out = []
    for url in unique:
        result = results.get(url)
        if result is None:
            result = CheckResult(url=url, verdict="unchecked", checked_at=now,
                                 reason=failed.get(url, "run cut short: cluster shard failed"))
        tell(result)
        out.append(result)
    return out


def _failure(future, client) -> str:
    """Why a shard's URLs are unchecked, in one line."""
    if client.status != "running":
        return "run cut short: lost the Dask scheduler"
    if future.status == "cancelled":
        return "run cut short: cluster task cancelled"
    try:
        exc = future.exception(timeout=CONNECT_TIMEOUT)
    except Exception as lost:  # noqa: BLE001 - the scheduler itself went away
        exc = lost
    if exc is None:
        return "run cut short: the cluster shard's results were lost on the way back"
    return f"run cut short: cluster shard failed ({_one_line(exc)})"


def _cancel(client, event_type, run: str, futures: list) -> None:
    """Tell running shards to stop (the stop event) and drop the run's tasks; bounded, never raises."""
    try:
        event_type(_stop_name(run), client=client).set()
    except Exception:  # noqa: BLE001 - best effort: cancelling the tasks below also stops the shards
        pass
    try:
        client.cancel(futures, force=True)
    except Exception:  # noqa: BLE001
        pass


def _stop_name(run: str) -> str:
    return f"provenance-stop-{run}"


# ---------------------------------------------------------------- the worker


class ShardRefused(RuntimeError):
    """A worker will not run a shard from another provenance version (verdicts could differ)."""


class ShardCancelled(RuntimeError):
    """The caller cancelled the run while this shard was checking."""


def _run_shard(shard: Shard) -> list[CheckResult]:
    """A Dask task: check one shard with the engine, sending progress; stop when the run is cancelled."""
    from distributed import Event, get_worker

    if shard.version != __version__:
        raise ShardRefused(f"this worker runs provenance {__version__}, the caller {shard.version}")
    worker = get_worker()
    key = worker.get_current_task()
    stop = Event(_stop_name(shard.run))
    index = {url: i for i, url in enumerate(shard.urls)}
    codes = {verdict: i for i, verdict in enumerate(VERDICTS)}
    batch, verdicts = array("I"), bytearray()
    sent = [time.monotonic()]

    def flush() -> None:
        if batch:
            worker.log_event(PROGRESS_TOPIC, {"run": shard.run, "shard": shard.index, "at": batch.tobytes(),
                                              "verdicts": bytes(verdicts)})
            del batch[:]
            verdicts.clear()
        sent[0] = time.monotonic()

    def report(result: CheckResult) -> None:
        batch.append(index[result.url])
        verdicts.append(codes[result.verdict])
        if len(batch) >= PROGRESS_BATCH or time.monotonic() - sent[0] >= PROGRESS_EVERY:
            flush()

    def unwanted() -> bool:
        # The worker's own record of this task: cancelled or forgotten when the caller cancelled or left.
        # (Internal state, read defensively; the stop event is the public signal.)
        state = getattr(getattr(worker, "state", None), "tasks", {}).get(key)
        if state is not None and getattr(state, "state", "executing") in ("cancelled", "released", "forgotten"):
            return True
        try:
            return bool(stop.is_set())
        except Exception:  # noqa: BLE001 - the scheduler is unreachable: keep going, Dask decides
            return False

    async def main() -> list[CheckResult]:
        task = asyncio.ensure_future(check.check_urls_async(shard.urls, shard.options, report))
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=STOP_POLL_SECONDS)
                if done:
                    return task.result()
                if batch and time.monotonic() - sent[0] >= PROGRESS_EVERY:
                    flush()
                if await asyncio.to_thread(unwanted):
                    raise ShardCancelled(f"shard {shard.index} of run {shard.run} cancelled")
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    results = check.run_loop(main())
    flush()
    return results
