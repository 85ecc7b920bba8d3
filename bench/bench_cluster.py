"""`provenance check` on a Dask cluster vs the local run: 20,000 URLs over 400 loopback hosts.

Usage: .venv/bin/python bench/bench_cluster.py [--repeat 3] [--hosts 400] [--pages 50] [--write FILE]

Settings, each timed in every round (medians reported):

* local: ``provenance check`` as today (the engine forks its own worker processes);
* cluster-1 / cluster-2: the same command with ``--cluster``, on a standing
  cluster (tests/dask_cluster.py: one ``dask scheduler`` and 1 or 2
  ``dask worker --nthreads 1`` processes on this machine, started before
  the round and not timed, as a real cluster stands between nightly runs).

For each: wall time of the command; CPU seconds of the command (and its
children) plus what the scheduler and workers used during it (from /proc);
peak memory (PSS) of the command's process tree, and of the scheduler and
workers together; and from the server: requests and the most requests it
saw in flight on one host (the politeness limit must hold across workers).
The server is bench/check_server.py (a bare asyncio server, its own process,
~50 ms per answer), the URLs are interleaved by host as bench_check.py does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

from bench_check import Server, _memory, compile_bytecode, run_measured  # noqa: E402
from check_server import host_address  # noqa: E402
from dask_cluster import DaskCluster  # noqa: E402

CONCURRENCY = 256
HOST_CONCURRENCY = 4
HOST_INTERVAL = 0.05
#: Seconds between memory samples of the cluster's processes.
SAMPLE_EVERY = 0.05
TICKS = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) a live process has used."""
    with open(f"/proc/{pid}/stat", "rb") as fh:
        fields = fh.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            rss_pages = int(fh.read().rsplit(b")", 1)[1].split()[21])
    except OSError:
        return 0
    return _memory(pid, rss_pages)


def one_run(setting: str, dask: DaskCluster | None, hosts: int, pages: int, work: Path) -> dict:
    server = Server(hosts, pages)
    try:
        urls = [f"http://{host_address(h)}:{server.port}/p/{i}" for i in range(pages) for h in range(hosts)]
        url_file = work / "urls.txt"
        url_file.write_text("\n".join(urls) + "\n")
        cmd = [sys.executable, "-m", "provenance", "check", "--from", str(url_file), "--json", "--quiet",
               "--allow-private", "--concurrency", str(CONCURRENCY), "--host-concurrency", str(HOST_CONCURRENCY),
               "--host-interval", str(HOST_INTERVAL), "--retries", "2", "--timeout", "20"]
        if dask is not None:
            cmd += ["--cluster", dask.address]
        pids = [p.pid for p in ([dask.scheduler] + dask.alive_workers())] if dask else []
        before = {pid: _cpu(pid) for pid in pids}
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(SAMPLE_EVERY):
                peak[0] = max(peak[0], sum(_pss(pid) for pid in pids))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            wall, cpu, tree_mb, code, _launched = run_measured(cmd, work / f"{setting}.json")
        finally:
            done.set()
            sampler.join()
        cluster_cpu = sum(_cpu(pid) - before[pid] for pid in pids)
        scheduler_cpu = _cpu(pids[0]) - before[pids[0]] if pids else 0.0
        results = json.loads((work / f"{setting}.json").read_text() or "[]")
    finally:
        stats = server.stop()
    return {"setting": setting, "exit": code, "wall": wall, "cpu_caller": cpu, "cpu_cluster": cluster_cpu, "cpu_scheduler": scheduler_cpu,
            "cpu_total": cpu + cluster_cpu, "caller_mb": tree_mb, "cluster_mb": peak[0] / 1e6,
            "ok": sum(1 for r in results if r["verdict"] == "ok"), "urls": len(urls),
            "requests": stats.get("requests"), "host_peak": stats.get("host_peak_max")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--hosts", type=int, default=400)
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--workers", default="0,1,2", help="settings: 0 = local, N = a cluster of N workers")
    parser.add_argument("--write", type=Path, help="also write the rows as JSON lines here")
    args = parser.parse_args()
    compile_bytecode(ROOT / "provenance")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        work = Path(tmp)
        for workers in (int(n) for n in args.workers.split(",")):
            setting = f"cluster-{workers}" if workers else "local"
            if workers:
                with DaskCluster(workers=workers) as dask:
                    for _ in range(args.repeat):
                        rows.append(one_run(setting, dask, args.hosts, args.pages, work))
                        print(json.dumps(rows[-1]), flush=True)
            else:
                for _ in range(args.repeat):
                    rows.append(one_run(setting, None, args.hosts, args.pages, work))
                    print(json.dumps(rows[-1]), flush=True)
    if args.write:
        args.write.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print()
    print("| setting | wall | CPU (caller + cluster) | peak memory: caller / scheduler+workers | ok | "
          "server: requests, per-host peak |")
    print("|---|---|---|---|---|---|")
    local_wall = statistics.median(r["wall"] for r in rows if r["setting"] == "local")
    for setting in dict.fromkeys(r["setting"] for r in rows):
        mine = [r for r in rows if r["setting"] == setting]
        med = lambda key: statistics.median(r[key] for r in mine)  # noqa: E731
        print(f"| {setting} | {med('wall'):.2f} s ({med('wall') / local_wall:.2f}x) | {med('cpu_total'):.2f} s "
              f"({med('cpu_caller'):.2f} + {med('cpu_cluster'):.2f}) | {med('caller_mb'):.0f} MB / "
              f"{med('cluster_mb'):.0f} MB | {min(r['ok'] for r in mine)}/{mine[0]['urls']} | "
              f"{max(r['requests'] or 0 for r in mine)}, {max(r['host_peak'] or 0 for r in mine)} |")


if __name__ == "__main__":
    main()
