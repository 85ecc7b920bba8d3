"""`provenance check` on its fast paths: the same URLs, the same JSON, all of it written."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from pathlib import Path

import pytest

from provenance.cli import _indented
from provenance.urls import InvalidURL, _normalize_fully, normalize_url

ROOT = Path(__file__).resolve().parent.parent

TRICKY_URLS = [
    "http://example.org/a", "https://example.org/", "http://127.0.0.1:8080/p/1", "https://a.b-c.example/x_y~z",
    "http://example.org:80/a", "https://example.org:443/a", "https://example.org:80/a", "http://example.org:443/a",
    "http://example.org:080/a", "http://example.org:0/a", "http://example.org:65535/a", "http://example.org:65536/a",
    "http://example.org:99999/a", "HTTP://example.org/a", "http://Example.org/a", "http://example.org./a",
    "http://example.org", "http://example.org/a?utm_source=x", "http://example.org/a?b=1", "http://example.org/a#f",
    "http://example.org/%7Ea", "http://example.org/a%2fb", "http://example.org/a b", "http://user@example.org/a",
    "http://example..org/a", "http://-x.example/a", "http://_x.example/a", "http://" + "a" * 63 + ".example/a",
    "http://" + "a" * 64 + ".example/a", "http://example.org/a/../b", "http://example.org/é", "ftp://example.org/a",
    "http://[::1]:8080/a", "http://example.org/a'(b)*!$&+,;=:@", "http://example.org//a", " http://example.org/a",
    "http://example.org/a\t", "http://1.2.3.4/a", "http://0x7f.1/a", "https://xn--bcher-kva.example/a",
]


BASES = (None, "https://site.example/dir/page.html", "http://other.example:8080/a/b/")


def _same(url: str) -> None:
    for base in BASES:
        try:
            expected = _normalize_fully(url, base)
        except InvalidURL:
            with pytest.raises(InvalidURL):
                normalize_url(url, base)
            continue
        assert normalize_url(url, base) == expected, (url, base)


def test_the_fast_path_normalises_exactly_like_the_full_path():
    for url in TRICKY_URLS + ["http://example.org/a/../b", "http://example.org/./a;p"]:
        _same(url)
    rng = random.Random(20261123)
    hosts = "abcXYZ019_-.%é"
    paths = "aZ09_.~/:@!$&'()*+,;=-%?# é\\\"<>^`{|}[]"
    for _ in range(3000):
        host = "".join(rng.choice(hosts) for _ in range(rng.randint(0, 12)))
        port = rng.choice(["", ":80", ":443", ":8080", ":0", ":070", ":65536", ":"])
        path = "".join(rng.choice(paths) for _ in range(rng.randint(0, 14)))
        _same(f"{rng.choice(['http', 'https', 'HTTP', 'ftp'])}://{host}{port}{path}")


def test_the_fast_path_takes_plain_urls_without_the_full_path(monkeypatch):
    import provenance.urls as urls

    def refuse(url: str, base: str | None):
        raise AssertionError(f"full normalisation for {url}")

    monkeypatch.setattr(urls, "_normalize_fully", refuse)
    assert normalize_url("http://127.77.0.1:8080/p/1") == ("http://127.77.0.1:8080/p/1", None)
    with pytest.raises(AssertionError):
        normalize_url("http://127.77.0.1:80/p/1")


@pytest.mark.parametrize("data", [
    [],
    [{}],
    [{"a": 1}, {}],
    [{"url": "http://x/a", "verdict": "ok", "status": 200, "final_url": None, "reason": "HTTP 200",
      "attempts": 1, "elapsed_ms": 12, "checked_at": "2026-11-23T18:00:00Z"}] * 3,
    [{"s": "},\n    {", "t": "quote \" back \\ tab \t nul \x00 é 漢字 \u2028", "b": True, "n": None, "f": 1.5,
      "big": 10 ** 30, "neg": -0.0, "nan": math.nan, "inf": -math.inf, "false": False}],
    [{"nested": {"a": [1, 2]}}, {"x": 1}],
    [{1: "int key"}],
    [{"a": 1}, ["not", "a", "dict"]],
    {"run": {"id": 1}, "articles": []},
    "just a string",
    [{"tuple": (1, 2)}],
])
def test_emit_json_writes_what_json_dumps_writes(data):
    assert _indented(data) == json.dumps(data, indent=2, ensure_ascii=False)


def _run_check(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    # -X importtime lists every module the command imported on stderr.
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "provenance", "check", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=timeout)


def test_quiet_json_check_writes_every_result_and_never_imports_rich(sim, tmp_path):
    site = sim.site()
    urls = [site.page(f"/p/{i}") for i in range(300)]  # ~75 KB of JSON: more than a pipe holds at once
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls + [site.url("/missing")]) + "\n")
    proc = _run_check("--from", str(listing), "--json", "--quiet", "--allow-private", "--host-concurrency", "10",
                      "--host-interval", "0", "--retries", "0", "--timeout", "10")
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout)
    assert [r["url"] for r in results] == urls + [site.url("/missing")]
    assert [r["verdict"] for r in results] == ["ok"] * 300 + ["dead"]
    assert proc.stdout == json.dumps(results, indent=2, ensure_ascii=False) + "\n"
    imported = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")]
    assert "provenance.check" in imported
    assert not [m for m in imported if m == "rich" or m.startswith("rich.")]
    assert len(site.stats.paths) >= 301


def test_a_skipped_line_still_exits_2_after_writing_everything(sim, tmp_path):
    site = sim.site()
    url = site.page("/a")
    listing = tmp_path / "urls.txt"
    listing.write_text(f"{url}\nnot a url\n")
    proc = _run_check("--from", str(listing), "--json", "--allow-private", "--host-interval", "0", "--retries", "0")
    assert proc.returncode == 2, proc.stderr[-2000:]
    # The bad line keeps its place as an unchecked row (the rows line up with the list).
    assert [(r["url"], r["verdict"]) for r in json.loads(proc.stdout)] == [(url, "ok"), ("not a url", "unchecked")]
    assert "skipped:" in proc.stderr and "check: 1/1" in proc.stderr
