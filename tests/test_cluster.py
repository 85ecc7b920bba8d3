"""Host shards on a Dask cluster (provenance/cluster.py): a real scheduler and real worker processes on loopback.

The cluster (one `dask scheduler`, two one-thread `dask worker` processes) is
started once for this file; the simulated web runs in its own process
(tests/process_sim.py) so the servers' view of concurrency is the truth.
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from dataclasses import fields
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from dask_cluster import DaskCluster  # noqa: E402
from process_sim import Page, ProcessSim  # noqa: E402
from provenance import cluster  # noqa: E402
from provenance.check import CheckOptions, check_urls  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
#: Seconds any wait in these tests may take.
WAIT = 30.0

ARTICLE = ("<html><head><title>Harbour report</title></head><body><article><h1>Harbour report</h1>"
           + "<p>The council found that the harbour wall needs repair before the winter storms arrive. </p>" * 20
           + "</article></body></html>")
GONE = "<html><head><title>Page not found</title></head><body><h1>Sorry, this page could not be found</h1></body></html>"
CHALLENGE = "<html><head><title>Just a moment...</title></head><body><div id='challenge-platform'></div></body></html>"


@pytest.fixture(scope="module")
def dask():
    with DaskCluster(workers=2) as c:
        yield c


@pytest.fixture
def web():
    with ProcessSim() as w:
        yield w


@pytest.fixture(autouse=True)
def _disconnect():
    yield
    cluster.disconnect()


def options(dask_: DaskCluster | None = None, **kw) -> CheckOptions:
    base = dict(allow_private=True, retries=0, timeout=10, host_interval=0.0, offline=False)
    base.update(kw)
    return CheckOptions(cluster=dask_.address if dask_ else None, **base)


def slim(results):
    return [(r.url, r.verdict, r.status, r.final_url, r.reason, r.signature) for r in results]


# ---------------------------------------------------------------- shards, without a cluster


def test_every_host_in_one_shard_a_huge_host_alone_small_ones_packed():
    urls = [f"http://big.example/p{i}" for i in range(600)]
    urls += [f"http://h{h}.example/p{i}" for h in range(40) for i in range(10)]
    shards = cluster.plan_shards(urls, 4)
    owner: dict[str, int] = {}
    for n, shard in enumerate(shards):
        for url in shard:
            host = url.split("/")[2]
            assert owner.setdefault(host, n) == n, f"{host} split over shards"
    assert sorted(u for s in shards for u in s) == sorted(urls)  # every URL once
    assert ["http://big.example/p0" in s for s in shards].count(True) == 1
    big = next(s for s in shards if "http://big.example/p0" in s)
    assert len(big) == 600  # alone: 600 >= the share of 250
    small = [s for s in shards if s is not big]
    assert len(small) == 3 and max(map(len, small)) - min(map(len, small)) <= 10  # packed evenly


def test_shards_never_outnumber_the_hosts_or_the_slots_when_hosts_are_small():
    urls = [f"http://h{h}.example/p{i}" for h in range(3) for i in range(5)]
    assert len(cluster.plan_shards(urls, 8)) == 3
    assert len(cluster.plan_shards(urls * 2, 1)) == 1
    assert cluster.plan_shards([], 4) == []


def test_a_shard_carries_its_urls_and_the_run_options_and_nothing_else():
    assert [f.name for f in fields(cluster.Shard)] == ["run", "index", "urls", "options", "version"]
    shard = cluster.Shard("r", 0, ["http://a.example/"], options(host_concurrency=3))
    back = pickle.loads(pickle.dumps(shard))
    assert back.options.host_concurrency == 3 and back.options.allow_private


@pytest.mark.parametrize("given, expected", [("tcp://sched:8786", "tcp://sched:8786"),
                                             ("sched:8786", "tcp://sched:8786"),
                                             ("tls://10.0.0.5:8786", "tls://10.0.0.5:8786")])
def test_addresses(given, expected):
    assert cluster.parse_address(given) == expected


@pytest.mark.parametrize("bad", ["banana", "http://sched:8786", "tcp://sched", "tcp://:8786", "tcp://s:99999"])
def test_bad_addresses_are_one_line_errors(bad):
    with pytest.raises(cluster.ClusterError, match="bad cluster address"):
        cluster.parse_address(bad)


# ---------------------------------------------------------------- on the cluster


def test_verdicts_identical_to_a_local_run(dask, web):
    urls = []
    for _ in range(4):
        site = web.site()
        urls += [site.page("/article", ARTICLE), site.page("/gone", status=404), site.page("/removed", status=410),
                 site.page("/old", status=301, headers={"Location": site.url("/article")}),
                 site.page("/broken", status=500), site.page("/notfound", GONE),
                 site.page("/wall", CHALLENGE, status=403)]
    seen: list[str] = []
    local = check_urls(urls, options())
    remote = check_urls(urls, options(dask), lambda r: seen.append(r.url))
    assert slim(remote) == slim(local)
    assert {r.verdict for r in remote} >= {"ok", "dead", "redirect", "error", "soft404", "blocked"}
    assert sorted(seen) == sorted(urls)  # progress: each URL once, in the caller


def test_per_host_peak_stays_within_host_concurrency_across_workers(dask, web):
    sites = [web.site(default=Page(ARTICLE, delay=0.15)) for _ in range(6)]
    urls = [s.url(f"/a/{i}") for s in sites for i in range(10)]
    from distributed import get_task_stream

    with get_task_stream(dask.client) as stream:
        results = check_urls(urls, options(dask, host_concurrency=2, concurrency=64))
    assert len(results) == len(urls)
    ran_on = {t["worker"] for t in stream.data if str(t["key"]).startswith("provenance-shard-")}
    assert len(ran_on) == 2, "the run was not split over both workers"
    peaks = {url: s.peak for url, s in web.stats().sites.items()}
    assert max(peaks.values()) <= 2, peaks
    assert max(peaks.values()) == 2  # the limit was reached, so it was what held


def test_a_worker_killed_mid_run_costs_only_time(dask, web):
    sites = [web.site(default=Page(ARTICLE, delay=0.05)) for _ in range(4)]
    urls = [s.url(f"/k/{i}") for s in sites for i in range(12)]
    told: list[str] = []
    killed: list[str] = []

    def kill_once(result) -> None:
        told.append(result.url)
        if len(told) == 6 and not killed:
            victim = sorted(dask.client.nthreads())[0]
            dask.kill_worker(victim)
            killed.append(victim)

    try:
        results = check_urls(urls, options(dask, host_concurrency=1, host_interval=0.05,
                                                probe_catch_all=False), kill_once)
        assert killed and len(told) == len(urls) and sorted(told) == sorted(urls)  # progress once per URL
        assert [r.url for r in results] == urls  # each URL once, in order
        assert {r.verdict for r in results} == {"ok"}, {r.reason for r in results}
        # The lost shard ran again: its hosts were asked for some URLs twice.
        assert sum(s.requests for s in web.stats().sites.values()) > len(urls)
    finally:
        dask.wait_for_workers(1)
        dask.add_worker()


def test_a_scheduler_lost_mid_run_cuts_the_run_short_in_one_line(web, tmp_path):
    import json

    sites = [web.site(default=Page(ARTICLE)) for _ in range(2)]
    urls = [s.url(f"/l/{i}") for s in sites for i in range(40)]
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n", encoding="utf-8")
    with DaskCluster(workers=1) as own:
        proc = subprocess.Popen([sys.executable, "-m", "provenance", "check", "--from", str(listing), "--json",
                                 "--allow-private", "--host-concurrency", "1", "--host-interval", "0.1",
                                 "--retries", "0", "--cluster", own.address],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + WAIT
            while sum(s.requests for s in web.stats().sites.values()) < 6:
                assert time.monotonic() < deadline and proc.poll() is None, "the run never got going"
                time.sleep(0.1)
            own.scheduler.kill()
            out, err = proc.communicate(timeout=WAIT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=WAIT)
    assert proc.returncode == 0, err
    results = json.loads(out)
    assert [r["url"] for r in results] == urls
    cut = [r for r in results if r["verdict"] == "unchecked"]
    assert cut and {r["reason"] for r in cut} == {"run cut short: lost the Dask scheduler"}
    assert "Traceback" not in err and "distributed" not in err, err
    assert f"check: {len(urls)}/{len(urls)}" in err.splitlines()


def _failing_shard(shard):
    raise RuntimeError("boom")


def test_a_shard_that_fails_leaves_its_urls_unchecked_and_says_why(dask, web, monkeypatch):
    site = web.site(default=Page(ARTICLE))
    urls = [site.url(f"/f/{i}") for i in range(3)]
    monkeypatch.setattr(cluster, "_run_shard", _failing_shard)
    told: list[str] = []
    results = check_urls(urls, options(dask), lambda r: told.append(r.url))
    assert [r.verdict for r in results] == ["unchecked"] * 3
    assert all(r.reason.startswith("run cut short: cluster shard failed (") for r in results), results[0].reason
    assert sorted(told) == sorted(urls)
    assert web.stats().sites[site.base_url].requests == 0


def test_a_worker_refuses_a_shard_from_another_version(dask):
    shard = cluster.Shard("r", 0, ["http://127.0.0.1:9/"], options(), version="0.0.0")
    future = dask.client.submit(cluster._run_shard, shard, pure=False)
    with pytest.raises(cluster.ShardRefused, match="the caller 0.0.0"):
        future.result(timeout=WAIT)


def test_audit_on_the_cluster_writes_each_url_once_though_a_worker_dies(dask, web, sim, tmp_path):
    import sqlite3

    from fake_wayback import FakeWayback
    from provenance.audit import AuditOptions, run_audit
    from provenance.wayback import WaybackOptions

    sites = [web.site(default=Page(ARTICLE, delay=0.02)) for _ in range(3)]
    docs = tmp_path / "articles"
    docs.mkdir()
    urls = [s.url(f"/story/{i}") for s in sites for i in range(12)]
    (docs / "a.md").write_text("---\ntitle: A\ndate: 2024-03-01\n---\n\n"
                               + "\n\n".join(f"The council said so, [source {i}]({u})." for i, u in enumerate(urls)),
                               encoding="utf-8")
    db = tmp_path / "p.db"
    killed: list[str] = []

    def progress(stage: str, done: int, _total: int) -> None:
        if stage == "check" and done == 4 and not killed:
            killed.append(sorted(dask.client.nthreads())[0])
            dask.kill_worker(killed[0])

    fw = FakeWayback(sim)  # the archive is asked by the caller, never by the workers
    try:
        audit_options = AuditOptions(db_path=db, reports_dir=tmp_path / "reports",
                                     check=options(dask, probe_catch_all=False, host_concurrency=1, host_interval=0.05),
                                     wayback=WaybackOptions(base_url=fw.base_url, retries=0, timeout=10))
        result = run_audit([docs], audit_options, progress=progress)
    finally:
        fw.close()
        if killed:
            dask.wait_for_workers(1)
            dask.add_worker()
    assert killed, "the run ended before a worker could be killed"
    assert result.verdicts["ok"] == len(urls)
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("select url, count(*) from checks group by url").fetchall()
    finally:
        conn.close()
    assert sorted(u for u, _n in rows) == sorted(urls) and {n for _u, n in rows} == {1}
    assert sum(s.requests for s in web.stats().sites.values()) > len(urls)  # a shard ran twice


# ---------------------------------------------------------------- the command line


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = WAIT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "provenance", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env={**os.environ, **(env or {})})


def test_check_command_on_the_cluster_prints_progress_on_stderr_and_json_on_stdout(dask, web):
    import json

    sites = [web.site(default=Page(ARTICLE)) for _ in range(3)]
    urls = [s.url(f"/cli/{i}") for s in sites for i in range(4)]
    done = run_cli("check", *urls, "--allow-private", "--json", "--retries", "0", env={"PROVENANCE_CLUSTER": dask.address})
    assert done.returncode == 0, done.stderr
    assert [r["url"] for r in json.loads(done.stdout)] == urls
    assert f"check: {len(urls)}/{len(urls)}" in done.stderr.splitlines()


def test_unreachable_scheduler_is_exit_2_in_one_line_before_any_check(web, tmp_path):
    site = web.site(default=Page(ARTICLE))
    port = cluster_free_port()
    done = run_cli("check", site.url("/x"), "--allow-private", env={"PROVENANCE_CLUSTER": f"tcp://127.0.0.1:{port}"})
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "cannot reach the Dask scheduler" in done.stderr
    articles = tmp_path / "a"
    articles.mkdir()
    (articles / "a.md").write_text(f"The council said so, [source]({site.url('/y')}).\n", encoding="utf-8")
    done = run_cli("audit", str(articles), "--db", str(tmp_path / "p.db"), "--reports", str(tmp_path / "r"),
                   "--allow-private", "--cluster", f"127.0.0.1:{port}")
    assert done.returncode == 2 and "cannot reach the Dask scheduler" in done.stderr, done.stderr
    assert not (tmp_path / "p.db").exists()
    assert web.stats().sites[site.base_url].requests == 0


def test_a_scheduler_that_never_answers_times_out_in_one_line():
    with socket.socket() as silent:  # listens, never accepts: the handshake never comes
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        with pytest.raises(cluster.ClusterError, match="cannot reach the Dask scheduler") as caught:
            cluster.connect(f"tcp://127.0.0.1:{silent.getsockname()[1]}", timeout=2.0)
    assert "\n" not in str(caught.value)


def test_a_scheduler_without_workers_is_one_line(monkeypatch):
    monkeypatch.setattr(cluster, "WORKER_WAIT", 1.0)
    with DaskCluster(workers=0) as empty:
        with pytest.raises(cluster.ClusterError, match="has no workers"):
            cluster.connect(empty.address)


def test_workers_of_another_version_are_refused_before_any_check(dask, monkeypatch):
    monkeypatch.setattr(cluster, "__version__", "9.9.9")
    with pytest.raises(cluster.ClusterError, match="run provenance .*, this is 9.9.9"):
        cluster.connect(dask.address)


def test_without_the_cluster_extra_the_error_says_what_to_install():
    code = ("import sys; sys.modules['distributed'] = None\n"
            "from provenance import cluster\n"
            "try:\n    cluster.connect('tcp://127.0.0.1:1')\n"
            "except cluster.ClusterError as exc:\n    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=WAIT)
    assert "pip install 'provenance[cluster]'" in done.stdout, done.stderr


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGKILL, -signal.SIGKILL)],
                         ids=["ctrl-c", "caller-killed"])
def test_ctrl_c_or_a_dead_caller_cancels_the_cluster_tasks(dask, web, tmp_path, sig, code):
    sites = [web.site(default=Page(ARTICLE)) for _ in range(2)]
    urls = [s.url(f"/c/{i}") for s in sites for i in range(100)]
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "provenance", "check", "--from", str(listing), "--allow-private",
                             "--host-concurrency", "1", "--host-interval", "0.2", "--retries", "0",
                             "--cluster", dask.address, "--quiet"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        requests = lambda: sum(s.requests for s in web.stats().sites.values())  # noqa: E731
        deadline = time.monotonic() + WAIT
        while requests() < 10:
            assert time.monotonic() < deadline and proc.poll() is None, "the run never got going"
            time.sleep(0.1)
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=WAIT)
        assert proc.returncode == code, err
        # The workers stop asking: the count settles well before the 200 URLs (20 s at 0.2 s apart) are done.
        deadline = time.monotonic() + WAIT
        last, since = requests(), time.monotonic()
        while time.monotonic() - since < 1.5:
            assert time.monotonic() < deadline, "the workers kept checking"
            time.sleep(0.1)
            now = requests()
            if now != last:
                last, since = now, time.monotonic()
        assert last < len(urls)
        tasks = dask.client.run_on_scheduler(lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks])
        assert not [k for k in tasks if k.startswith("provenance-shard-")]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=WAIT)


def cluster_free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_callers_proxy_and_ca_bundle_travel_with_the_shards(monkeypatch, tmp_path):
    """A worker's environment is not the caller's: HTTPS_PROXY and SSL_CERT_FILE go as values."""
    from provenance import network
    from provenance.check import CheckOptions
    from provenance.cluster import _caller_network

    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.9:3128")
    monkeypatch.setenv("NO_PROXY", "intranet.example")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    shipped = _caller_network(CheckOptions())
    assert shipped == {"proxy_env": (None, "http://127.0.0.9:3128", ("intranet.example",)), "ca_bundle": str(ca)}
    # on the worker, with none of those variables, the shipped values decide
    for name in ("HTTPS_PROXY", "NO_PROXY", "SSL_CERT_FILE"):
        monkeypatch.delenv(name)
    proxies = network.run_proxies(None, shipped["proxy_env"])
    assert proxies.for_url("https", "news.example") == "http://127.0.0.9:3128"
    assert proxies.for_url("https", "intranet.example") is None
    assert proxies.for_url("http", "news.example") is None
    # an explicit --proxy / --ca-bundle already travels; nothing is added
    assert _caller_network(CheckOptions(proxy="http://127.0.0.9:1", ca_bundle=str(ca))) == {}
