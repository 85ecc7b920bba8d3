"""The command line: parse options, call the library, print. Nothing else."""

from __future__ import annotations

import gc

# Importing the command line's ~500 modules allocates a great many objects and frees almost none:
# the collector's passes over them are wasted (~10% of the import time). Back on at the end of this module.
_gc_was_on = gc.isenabled()
gc.disable()

import json
import math
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from . import __version__
from .options import DEFAULT_USER_AGENT, CheckOptions
from .options import IMPERSONATE_MODES
from .defaults import DEFAULT_DB, DEFAULT_INPUT, DEFAULT_REPORTS
from .models import VERDICTS, CheckResult, iso_z, utc_now
from .urls import InvalidURL, normalize_url

# The pipeline's heavier stages (extraction, the store, the Wayback client,
# reports) are imported inside the commands that use them: `provenance check`
# in a tight cron loop should not pay for sqlite-utils or markdown-it.

app = typer.Typer(
    help="Audit where an article's claims come from.\n\n"
    "Example: provenance audit seeds/ --fail-on dead,soft404",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class _LazyConsole:
    """rich's stderr Console, built on first use: `provenance check --quiet` never imports rich (~30 ms)."""

    _console = None

    def __getattr__(self, name: str):
        if _LazyConsole._console is None:
            from rich.console import Console

            _LazyConsole._console = Console(stderr=True, soft_wrap=True, highlight=False)
        return getattr(_LazyConsole._console, name)


err = _LazyConsole()

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine output on stdout (logs stay on stderr).")]
DbOpt = Annotated[Path, typer.Option("--db", help="SQLite database path.")]
ConcurrencyOpt = Annotated[int, typer.Option("--concurrency", min=1, help="Requests in flight at once, all hosts.")]
HostConcurrencyOpt = Annotated[int, typer.Option("--host-concurrency", min=1, help="Requests in flight at once per host.")]
HostIntervalOpt = Annotated[float, typer.Option("--host-interval", min=0.0, help="Seconds between request starts to one host (a schedule; a late start never lets the next come sooner than 80% of it).")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds allowed per request.")]
RetriesOpt = Annotated[int, typer.Option("--retries", min=0, max=10, help="Retries for timeouts, 429 and 5xx.")]
AllowPrivateOpt = Annotated[bool, typer.Option("--allow-private", help="Permit loopback and private addresses (tests, intranets).")]
WaybackOpt = Annotated[Optional[str], typer.Option("--wayback-url", envvar="PROVENANCE_WAYBACK_URL", help="Wayback Machine base URL.")]
UserAgentOpt = Annotated[Optional[str], typer.Option("--user-agent", help="User-Agent header (default: a current desktop browser's for checks; an identifying one for the Wayback).")]
ArchivesOpt = Annotated[Optional[str], typer.Option("--archives", envvar="PROVENANCE_ARCHIVES", help="Memento TimeMap bases of other web archives, comma-separated (BASE + URL is a TimeMap; an aggregator is one more base); asked when the Wayback has no good capture on or before the date. Default: $PROVENANCE_ARCHIVES, else a documented list of public archives ('default'); '' turns them off.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary on stderr.")]
ProxyOpt = Annotated[Optional[str], typer.Option("--proxy", help="Proxy for every request (http://, https://, socks5://, socks5h://); default: HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY.")]
CaBundleOpt = Annotated[Optional[str], typer.Option("--ca-bundle", help="CA certificates (PEM) to trust, e.g. a TLS-inspecting firewall's; default: SSL_CERT_FILE, else the system's store.")]
ImpersonateOpt = Annotated[str, typer.Option("--impersonate", help="When a bot wall answers: auto (ask once more as a browser), always, never.")]
ClusterOpt = Annotated[Optional[str], typer.Option("--cluster", envvar="PROVENANCE_CLUSTER", help="Dask scheduler (e.g. tcp://scheduler:8786) whose workers check the host shards; needs provenance[cluster].")]
ExcludeOpt = Annotated[Optional[list[str]], typer.Option("--exclude", metavar="REGEX", help="Leave out links matching this regular expression (searched anywhere in the URL; repeatable; wins over --include). Left out: 'unchecked', never requested.")]
IncludeOpt = Annotated[Optional[list[str]], typer.Option("--include", metavar="REGEX", help="Check only links matching one of these regular expressions (repeatable).")]
JunitOpt = Annotated[Optional[Path], typer.Option("--junit", metavar="FILE", help="Also write JUnit XML for CI: a testcase per cited link, failures = the --fail-on verdicts (default dead,soft404).")]
FailOnOpt = Annotated[Optional[str], typer.Option("--fail-on", help="Exit 1 if any claim has one of these verdicts, e.g. dead,soft404.")]
SitemapOpt = Annotated[Optional[list[str]], typer.Option("--sitemap", help="Sitemap, sitemap index or site root (its robots.txt Sitemap: lines) listing articles; repeatable.")]
FeedOpt = Annotated[Optional[list[str]], typer.Option("--feed", help="RSS or Atom feed listing articles; repeatable.")]
SinceOpt = Annotated[Optional[str], typer.Option("--since", help="YYYY-MM-DD: only listed articles last modified or published on or after it.")]
LimitOpt = Annotated[Optional[int], typer.Option("--limit", min=1, help="Most web articles one run takes.")]
IgnoreRobotsOpt = Annotated[bool, typer.Option("--ignore-robots", help="Fetch articles robots.txt disallows (your own site).")]


def fail(message: str, code: int = 2) -> None:
    from rich.markup import escape  # the message quotes user input verbatim: "[bold]" in a file name is not markup

    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


#: Value types a flat JSON record may hold for emit_json's fast path.
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _indented(data: object) -> str:
    """``json.dumps(data, indent=2, ensure_ascii=False)``, byte for byte.

    The standard library indents with its pure-Python encoder (~8 us per
    value: 40 ms for `provenance check --json` on 5,000 URLs). A list of
    flat records (the check command's output) goes through the C encoder
    instead, with the indentation as separators: a raw newline only ever
    appears in a separator (strings escape theirs), so the one seam between
    records, "},<newline>    {", can be re-indented safely.
    """
    if (type(data) is list and data
            and all(type(d) is dict and d and all(type(k) is str for k in d) for d in data)
            and all(type(v) in _SCALARS for d in data for v in d.values())):
        text = json.dumps(data, ensure_ascii=False, separators=(",\n    ", ": "))
        return "[\n  {\n    " + text[2:-2].replace("},\n    {", "\n  },\n  {\n    ") + "\n  }\n]"
    return json.dumps(data, indent=2, ensure_ascii=False)


def emit_json(data: object) -> None:
    sys.stdout.write(_indented(data) + "\n")


def check_options(concurrency: int, host_concurrency: int, host_interval: float, timeout: float, retries: int,
                  allow_private: bool, user_agent: Optional[str], proxy: Optional[str] = None,
                  ca_bundle: Optional[str] = None, impersonate: str = "auto") -> CheckOptions:
    for name, value in (("--host-interval", host_interval), ("--timeout", timeout)):
        if not math.isfinite(value):
            fail(f"{name} must be a finite number of seconds, not {value}")
    network_settings(proxy, ca_bundle)
    if impersonate not in IMPERSONATE_MODES:
        fail(f"--impersonate must be one of {', '.join(IMPERSONATE_MODES)}, not {impersonate!r}")
    return CheckOptions(concurrency=concurrency, host_concurrency=host_concurrency, host_interval=host_interval,
                        timeout=timeout, retries=retries, allow_private=allow_private,
                        user_agent=user_agent or DEFAULT_USER_AGENT, proxy=proxy, ca_bundle=ca_bundle,
                        impersonate=impersonate)


def network_settings(proxy: Optional[str], ca_bundle: Optional[str]) -> None:
    """The proxy (option or environment) and the CA bundle must be usable: a one-line error (exit 2) if not."""
    from .network import Proxies, ProxyError, ca_bundle as find_ca_bundle

    try:
        Proxies.from_env(proxy)
        find_ca_bundle(ca_bundle)
    except (ProxyError, ValueError) as exc:
        fail(str(exc))


@contextmanager
def cluster_session(address: Optional[str]):
    """Connect to the Dask scheduler before anything is checked (exit 2 in one line if it cannot be used, then
    or later), yield its address for CheckOptions.cluster, and disconnect afterwards. No address: local, no Dask."""
    if not address:
        yield None
        return
    from .cluster import ClusterError, connect, disconnect, parse_address, quiet_dask_logs

    quiet_dask_logs()
    try:
        connect(address)
        try:
            yield parse_address(address)
        finally:
            disconnect()
    except ClusterError as exc:  # at the start, or the scheduler lost for good between audit batches
        fail(str(exc))


def link_filter(include: Optional[list[str]], exclude: Optional[list[str]]):
    """--include / --exclude compiled; a bad pattern is one line and exit 2."""
    from .filters import LinkFilter

    try:
        return LinkFilter.from_patterns(include or (), exclude or ())
    except ValueError as exc:
        fail(str(exc))


def junit_target(path: Optional[Path]) -> Optional[Path]:
    """--junit checked before the run: finding an unwritable path after an hour of checks is too late."""
    if path is None:
        return None
    from .junit import check_writable

    problem = check_writable(path)
    if problem:
        fail(problem)
    return path


def write_junit(path: Optional[Path], suites) -> None:
    if path is None:
        return
    from .junit import write_junit as write

    try:
        write(path, suites)
    except OSError as exc:
        fail(f"cannot write --junit {path}: {exc.strerror or exc}")


def wayback_options(wayback_url: Optional[str], timeout: float, retries: int, user_agent: Optional[str],
                    proxy: Optional[str] = None, ca_bundle: Optional[str] = None):
    """Wayback options from the shared flags; the Archive gets an identifying agent unless one is given."""
    from .wayback import WaybackOptions

    extra = {"user_agent": user_agent} if user_agent else {}
    return WaybackOptions(base_url=wayback_url or "", timeout=timeout, retries=retries, proxy=proxy,
                          ca_bundle=ca_bundle, **extra)


def memento_options(archives: Optional[str], timeout: float, retries: int, user_agent: Optional[str],
                    proxy: Optional[str] = None, ca_bundle: Optional[str] = None):
    """Other archives' options from the shared flags; a bad --archives value is a one-line error."""
    from .memento import MementoOptions, parse_archives

    try:
        bases = parse_archives(archives)
    except ValueError as exc:
        fail(str(exc))
    extra = {"user_agent": user_agent} if user_agent else {}
    return MementoOptions(archives=bases, timeout=timeout, retries=min(retries, 1), proxy=proxy, ca_bundle=ca_bundle,
                          **extra)
def _split_inputs(items: list[str] | None) -> tuple[list[Path], list[str]]:
    """Command-line inputs: http(s) URLs are article URLs, anything else a file or folder."""
    paths: list[Path] = []
    urls: list[str] = []
    for item in items or []:
        if item.lower().startswith(("http://", "https://")):
            urls.append(_web_url(item, "article URL"))
        else:
            paths.append(Path(item))
    return paths, urls


def _web_url(text: str, what: str) -> str:
    """A normalised http(s) URL, or a one-line error naming the option."""
    if not text.lower().startswith(("http://", "https://")):
        fail(f"{what} must be an http(s) URL: {text!r}")
    try:
        return normalize_url(text)[0]
    except InvalidURL as exc:
        fail(f"bad {what}: {exc}")
    raise AssertionError  # fail() always exits


def _web_inputs(sitemap: Optional[list[str]], feed: Optional[list[str]], since: Optional[str]):
    """--sitemap, --feed and --since, validated."""
    from .sources import parse_since

    try:
        since = parse_since(since)
    except ValueError as exc:
        fail(str(exc))
    return ([_web_url(u, "--sitemap") for u in sitemap or []], [_web_url(u, "--feed") for u in feed or []], since)


@app.command()
def extract(paths: Annotated[Optional[list[str]], typer.Argument(help="Article files, directories or article URLs.")] = None,
            json_out: JsonOpt = False,
            text: Annotated[bool, typer.Option("--text", help="With --json: add each article's main text as \"text\".")] = False,
            sitemap: SitemapOpt = None, feed: FeedOpt = None, since: SinceOpt = None,
            limit: LimitOpt = None, ignore_robots: IgnoreRobotsOpt = False,
            timeout: TimeoutOpt = 20.0, retries: RetriesOpt = 2, allow_private: AllowPrivateOpt = False,
            user_agent: UserAgentOpt = None, proxy: ProxyOpt = None, ca_bundle: CaBundleOpt = None,
            impersonate: ImpersonateOpt = "auto", host_concurrency: HostConcurrencyOpt = 4,
            host_interval: HostIntervalOpt = 0.2, quiet: QuietOpt = False) -> None:
    """Claims per article; files need no network, article URLs, sitemaps and feeds are fetched.

    Example: provenance extract seeds/ --json | jq '.[0].claims | length'
    """
    from .extract import extract_file
    from .ingest import InputError, InputScan, scan_inputs

    files, urls = _split_inputs(paths)
    sitemaps, feeds, since = _web_inputs(sitemap, feed, since)
    if not files and not (urls or sitemaps or feeds):
        fail("no input given (pass files, folders or article URLs, or --sitemap / --feed)")
    try:
        scan = scan_inputs(files) if files else InputScan()
    except InputError as exc:
        fail(str(exc))
    for problem in scan.errors:  # an unlistable folder: say so, extract the rest, exit 2
        err.print(f"skipped: {problem}", markup=False)
    articles, failed = [], bool(scan.errors)
    for path in scan.files:
        try:
            articles.append(extract_file(path))
        except InputError as exc:
            err.print(f"skipped: {exc}", markup=False)
            failed = True
    if urls or sitemaps or feeds:
        from .sources import Robots, list_articles
        from .webarticles import extract_urls

        # Articles and lists are a few pages per site: as many in flight overall as one host may take.
        options = check_options(max(4, host_concurrency), host_concurrency, host_interval, timeout, retries, allow_private,
                                user_agent, proxy, ca_bundle, impersonate)
        robots = Robots(options, ignore=ignore_robots)
        listing = list_articles(urls, sitemaps, feeds, options, since=since, limit=limit, robots=robots)
        fetched, problems = extract_urls(listing.entries, options, robots)
        articles += fetched
        for problem in [*listing.errors, *problems]:
            err.print(f"skipped: {problem}", markup=False)
        for note in listing.notes if not quiet else []:
            err.print(f"note: {note}", markup=False)
        if listing.bad_entries and not quiet:
            err.print(f"sitemaps and feeds: {listing.bad_entries} bad entries skipped", markup=False)
        failed = failed or bool(listing.errors or problems)
    for a in articles:
        for note in a.notes if not quiet else []:  # claims past MAX_CLAIMS, an article page read only in part
            err.print(f"note: {note}", markup=False)
        if not a.claims and not quiet:
            what = "no article text recognised" if not a.text.strip() else "no cited links or attributions in its text"
            err.print(f"note: {a.path}: 0 claims ({what})", markup=False)
    if json_out:
        emit_json([a.to_dict(include_text=text) for a in articles])
    else:
        for a in articles:
            links = sum(1 for c in a.claims if c.kind == "link")
            typer.echo(f"{a.path}: {a.title or '(no title)'} — {links} links, {len(a.claims) - links} attributions")
    if failed:
        raise typer.Exit(2)


def _read_url_list(urls: list[str], from_file: Optional[str], order: list | None = None) -> tuple[list[str], int]:
    """URLs from arguments and ``--from``, normalised; bad lines are reported and skipped.

    Returns the URLs and how many were skipped (the command then exits 2
    after checking the rest: one junk line must not throw away a list).
    ``order``, when given, gets every input in turn: its URL, or for a bad
    line an ``unchecked`` result saying why (check's rows line up with the list).
    """
    items = list(urls)
    if from_file:
        try:
            text = sys.stdin.read() if from_file == "-" else Path(from_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read URL list {from_file}: {getattr(exc, 'strerror', None) or exc}")
        items.extend(line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))
    if not items:
        fail("no URLs given (pass URLs or --from FILE, - for stdin)")
    out: list[str] = []
    problems: list[str] = []
    for item in items:
        try:
            out.append(normalize_url(item)[0])
        except InvalidURL as exc:
            problems.append(str(exc))
            if order is not None:
                order.append(CheckResult(url=item, verdict="unchecked", reason=f"not checked: {exc}",
                                         checked_at=iso_z(utc_now())))
        else:
            if order is not None:
                order.append(out[-1])
    if not out:
        fail(problems[0] if len(problems) == 1 else f"no valid URLs ({len(problems)} rejected; first: {problems[0]})")
    for problem in problems:
        err.print(f"skipped: {problem}", markup=False)
    return out, len(problems)


@app.command()
def check(urls: Annotated[Optional[list[str]], typer.Argument(help="URLs to check.")] = None,
          from_file: Annotated[Optional[str], typer.Option("--from", help="File with one URL per line, - for stdin.")] = None,
          json_out: JsonOpt = False,
          db: Annotated[Optional[Path], typer.Option("--db", help="An audit's database: show each URL's last recorded verdict beside the new one (read only; default: none).")] = None,
          concurrency: ConcurrencyOpt = 64, host_concurrency: HostConcurrencyOpt = 4, host_interval: HostIntervalOpt = 0.2,
          timeout: TimeoutOpt = 20.0, retries: RetriesOpt = 2, allow_private: AllowPrivateOpt = False,
          wayback_url: WaybackOpt = None, user_agent: UserAgentOpt = None,
          quiet: QuietOpt = False, exclude: ExcludeOpt = None, include: IncludeOpt = None,
          junit: JunitOpt = None, fail_on: FailOnOpt = None, cluster: ClusterOpt = None, proxy: ProxyOpt = None,
          ca_bundle: CaBundleOpt = None, impersonate: ImpersonateOpt = "auto") -> None:
    """Liveness verdicts for URLs.

    Example: provenance check https://example.org/a https://example.org/b --json
    """
    fail_set = _parse_verdicts(fail_on)
    links = link_filter(include, exclude)
    junit = junit_target(junit)
    order: list = []
    targets, skipped = _read_url_list(urls or [], from_file, order)
    history = _url_history(db, targets)
    options = check_options(concurrency, host_concurrency, host_interval, timeout, retries, allow_private, user_agent,
                            proxy, ca_bundle, impersonate)
    options.keep_body = False  # only the audit's drift judge reads page bodies
    with cluster_session(cluster) as options.cluster:
        if quiet:  # no view at all: its terminal test alone would import rich
            results = _check_some(targets, options, links)
        else:
            with _ProgressView() as view:
                results = _check_some(targets, options, links, view.counter("check", len(set(targets))))
    if junit is not None:
        from .junit import check_suite

        write_junit(junit, [check_suite(results, fail_set)])  # a testcase per URL: a CI name is unique
    rows = _per_input(order, results)
    if json_out:
        if history is None:
            emit_json([r.to_dict() for r in rows])
        else:
            emit_json([{**r.to_dict(), "previous": history.get(r.url)} for r in rows])
    else:
        for r in rows:
            typer.echo(f"{r.verdict:9} {r.status or '-':>3} {r.url}  {r.reason}{_was(history, r)}")
    _skip_teardown[0] = True
    if skipped:
        raise typer.Exit(2)
    if fail_set and any(r.verdict in fail_set for r in results):
        raise typer.Exit(1)


def _url_history(db: Path | None, urls: list[str]) -> dict[str, dict] | None:
    """``check --db``: what the audit's database last recorded for these URLs, or None when no database is named.

    Only a database named with --db is read (a one-off check does not look
    at the project's behind the user's back), and nothing is written: a
    check is not one of the audit's runs, whose rot counts need runs days apart.
    """
    if db is None:
        return None
    if not db.exists():
        fail(f"no database at {db}: check --db reads an audit's database ('provenance audit --db {db}' makes one)")
    from .store import StoreError, read_url_history

    try:
        return read_url_history(db, urls)
    except StoreError as exc:
        fail(str(exc))
    return None


def _was(history: dict[str, dict] | None, result) -> str:
    """ "  (was ok, 2026-11-30)" when the database last recorded another verdict for the URL."""
    row = (history or {}).get(result.url)
    if not row or not row.get("verdict") or row["verdict"] == result.verdict:
        return ""
    return f"  (was {row['verdict']}, {(row.get('last_checked') or '')[:10]})"


def _per_input(order: list, results: list) -> list:
    """One row per input given, in the order given: a URL listed twice is checked once and shown twice, and a
    line that is no URL is an ``unchecked`` row saying why, so the output lines up with the input
    (``paste urls.txt <(provenance check --from urls.txt)``)."""
    targets = [u for u in order if isinstance(u, str)]
    by_url = {r.url: r for r in results}
    if not all(u in by_url for u in targets):  # check_urls: one result per distinct URL, in input order
        by_url = dict(zip(dict.fromkeys(targets), results))
    rows = [by_url.get(u) if isinstance(u, str) else u for u in order]
    return [row for row in rows if row is not None]


def _check_some(targets: list[str], options: CheckOptions, links, progress=None):
    """check_urls, with the links --exclude/--include leave out answered 'unchecked' and never requested."""
    from .check import check_urls  # libcurl is loaded only by the commands that go online (~80 ms)

    if not links:
        return check_urls(targets, options, progress)
    from .filters import check_filtered

    return check_filtered(targets, links, lambda keep: check_urls(keep, options, progress), progress)


@app.command()
def snapshot(urls: Annotated[list[str], typer.Argument(help="URLs to look up.")],
             date: Annotated[Optional[str], typer.Option("--date", help="YYYY-MM-DD: prefer the capture on or before it.")] = None,
             json_out: JsonOpt = False,
             db: Annotated[Optional[Path], typer.Option("--db", help="Answer from and add to this database's snapshot cache, the audit's (created if missing; default: none).")] = None,
             timeout: TimeoutOpt = 20.0,
             retries: RetriesOpt = 2, wayback_url: WaybackOpt = None, user_agent: UserAgentOpt = None,
             allow_private: AllowPrivateOpt = False, archives: ArchivesOpt = None, proxy: ProxyOpt = None,
             ca_bundle: CaBundleOpt = None, impersonate: ImpersonateOpt = "auto") -> None:
    """Closest good snapshot for URLs: the Wayback's, else another web archive's (Memento).

    Example: provenance snapshot https://example.org/a --date 2024-11-20 --json
    """
    from .memento import find_snapshots
    from .store import cached_snapshots, save_snapshots
    from .wayback import parse_date, validate_base_url

    targets, skipped = _read_url_list(urls, None)
    try:
        date = parse_date(date)
        wayback_url = validate_base_url(wayback_url) if wayback_url else None
    except ValueError as exc:
        fail(str(exc))
    network_settings(proxy, ca_bundle)
    options = wayback_options(wayback_url, timeout, retries, user_agent, proxy, ca_bundle)
    pairs = list(dict.fromkeys((u, date) for u in targets))
    with _snapshot_db(db) as cache:
        found = cached_snapshots(cache, pairs) if cache is not None else {}
        asked = [pair for pair in pairs if pair not in found]
        if asked:
            looked = find_snapshots(asked, options, memento_options(archives, timeout, retries, user_agent, proxy, ca_bundle))
            if cache is not None:
                save_snapshots(cache, looked)
            found.update(looked)
    snaps = [found[(u, date)] for u in targets]
    if json_out:
        emit_json([s.to_dict() for s in snaps])
        for s in snaps:
            if not s.timestamp:
                err.print(f"no snapshot: {s.url}: {s.reason}", highlight=False, soft_wrap=True, markup=False)
    else:
        for s in snaps:
            typer.echo(f"{s.timestamp or '-':14} {s.snapshot_url or s.reason}  {s.url}")
    if skipped:
        raise typer.Exit(2)


@contextmanager
def _snapshot_db(db: Path | None):
    """The database named with --db, open as the lookups' cache (created if missing), or None; none by default:
    a lookup asked by hand gets the archives' answer of now, not a week-old "no capture"."""
    if db is None:
        yield None
        return
    from .store import StoreError, close_store, open_store

    try:
        handle = open_store(db)
    except StoreError as exc:
        fail(str(exc))
    try:
        yield handle
    finally:
        close_store(handle)


@app.command()
def audit(paths: Annotated[Optional[list[str]], typer.Argument(help="Articles, directories or article URLs (default: seeds/, unless URLs, --sitemap or --feed are given).")] = None,
          json_out: JsonOpt = False, db: DbOpt = DEFAULT_DB,
          reports: Annotated[Path, typer.Option("--reports", help="Directory for Markdown reports.")] = DEFAULT_REPORTS,
          concurrency: ConcurrencyOpt = 64, host_concurrency: HostConcurrencyOpt = 4, host_interval: HostIntervalOpt = 0.2,
          timeout: TimeoutOpt = 20.0, retries: RetriesOpt = 2, allow_private: AllowPrivateOpt = False,
          wayback_url: WaybackOpt = None, user_agent: UserAgentOpt = None,
          recheck_after: Annotated[Optional[str], typer.Option("--recheck-after", help="Re-check URLs older than this (e.g. 1d, 12h).")] = None,
          force: Annotated[bool, typer.Option("--force", help="Re-check everything now.")] = False,
          fail_on: FailOnOpt = None,
          save: Annotated[bool, typer.Option("--save", help="Ask Save Page Now to archive live pages with no snapshot.")] = False,
          quiet: QuietOpt = False, exclude: ExcludeOpt = None, include: IncludeOpt = None, junit: JunitOpt = None,
          confirm_after: Annotated[int, typer.Option("--confirm-after", min=1, metavar="N", help="Failing checks (dead or soft404) before a link is confirmed dead.")] = 3,
          confirm_days: Annotated[float, typer.Option("--confirm-days", min=0.0, metavar="D", help="Days at least between two failing checks that count towards --confirm-after.")] = 3.0,
          wait: Annotated[float, typer.Option("--wait", min=0.0, metavar="SECONDS", help="How long to wait for another audit on the same database before giving up (exit 2).")] = 5.0,
          archives: ArchivesOpt = None,
          cluster: ClusterOpt = None,
          sitemap: SitemapOpt = None, feed: FeedOpt = None, since: SinceOpt = None,
          limit: LimitOpt = None, ignore_robots: IgnoreRobotsOpt = False,
          proxy: ProxyOpt = None, ca_bundle: CaBundleOpt = None, impersonate: ImpersonateOpt = "auto") -> None:
    """The whole job: extract, check, snapshot, judge drift, store, report.

    Example: provenance audit seeds/ --fail-on dead,soft404
    """
    from .audit import AuditOptions, run_audit
    from datetime import timedelta

    from .ingest import InputError
    from .store import RotPolicy, StoreError

    fail_set = _parse_verdicts(fail_on)
    junit = junit_target(junit)
    for name, value, most in (("--confirm-days", confirm_days, 36500), ("--wait", wait, 86400)):
        if not math.isfinite(value) or value > most:
            fail(f"{name} must be a finite number, at most {most}, not {value}")
    files, urls = _split_inputs(paths)
    sitemaps, feeds, since = _web_inputs(sitemap, feed, since)
    web = dict(urls=urls, sitemaps=sitemaps, feeds=feeds, since=since, limit=limit, ignore_robots=ignore_robots)
    options = AuditOptions(**web,
        db_path=db, reports_dir=reports, force=force, save=save, recheck_after=recheck_after,
        check=check_options(concurrency, host_concurrency, host_interval, timeout, retries, allow_private, user_agent,
                            proxy, ca_bundle, impersonate),
        wayback=wayback_options(wayback_url, timeout, retries, user_agent, proxy, ca_bundle),
        links=link_filter(include, exclude), rot=RotPolicy(confirm_after, timedelta(days=confirm_days)), lock_wait=wait,
        memento=memento_options(archives, timeout, retries, user_agent, proxy, ca_bundle),
    )
    log = (lambda message: None) if quiet else (lambda message: err.print(message, highlight=False, soft_wrap=True))
    view = _ProgressView()
    try:
        with cluster_session(cluster) as options.check.cluster, view:
            result = run_audit(files or ([] if options.web else [DEFAULT_INPUT]), options,
                               progress=None if quiet else view, log=log)
    except (InputError, StoreError) as exc:
        fail(str(exc))
    if json_out:
        emit_json(result.to_dict())
    elif not quiet:
        run = result.to_dict()["run"]
        missed = result.not_checked()
        offline = run["offline"] and sum(missed.values()) >= run["urls_checked"]  # "offline" only if nothing was checked
        where = f"reports in {reports}/" if result.reports_dir is not None else "no reports written"
        err.print(f"run {run['id']}: {run['articles']} articles, {run['claims']} claims, {run['urls']} URLs"
                  f"{' (offline)' if offline else ''}: {_verdict_summary(run)}; {where}")
        if missed and not offline:
            why = "; ".join(f"{reason} ({n})" for reason, n in missed.most_common())
            err.print(f"not checked: {sum(missed.values())} of {run['urls_checked']} URLs due this run: {why}",
                      markup=False)
    if junit is not None:
        from .junit import audit_suites

        write_junit(junit, audit_suites(result, fail_set))
    if result.errors:
        if quiet:  # --quiet drops progress and notes, never the reason for exit 2 (a cron log must say why)
            for message in result.errors:
                err.print(f"error: {message}", highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(2)
    if fail_set and result.has_verdicts(fail_set):
        raise typer.Exit(1)


def _verdict_summary(run: dict) -> str:
    """The stderr line's verdicts, saying what they count: URLs (each once), then link claims (a URL cited
    twice counts twice there), so "50 URLs: 40 ok" never reads as per-URL when the numbers are per claim."""
    def counts(verdicts: dict[str, int]) -> str:
        return ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items(), key=lambda kv: VERDICTS.index(kv[0])))

    if not run["url_verdicts"]:
        return "no links"
    links = sum(run["verdicts"].values())
    return f"per URL: {counts(run['url_verdicts'])}; per link claim ({links}): {counts(run['verdicts'])}"


def _parse_verdicts(text: Optional[str]) -> set[str]:
    if not text:
        return set()
    words = {w.strip() for w in text.split(",") if w.strip()}
    unknown = words - set(VERDICTS)
    if unknown:
        fail(f"unknown verdict(s) for --fail-on: {', '.join(sorted(unknown))} (use: {', '.join(VERDICTS)})")
    return words


class _ProgressView:
    """Progress on stderr: live bars on a terminal, a few plain lines in cron/CI logs."""

    def __init__(self) -> None:
        self.live = err.is_terminal
        self.bars = None
        self.tasks: dict[str, int] = {}
        self.last: dict[str, int] = {}
        if self.live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bars = Progress(TextColumn("{task.description:>9}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=err, transient=True)

    def __enter__(self) -> "_ProgressView":
        if self.bars is not None:
            self.bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bars is not None:
            self.bars.stop()

    def counter(self, stage: str, total: int):
        """A per-item callback that advances ``stage`` by one each call."""
        done = 0

        def advance(_item: object) -> None:
            nonlocal done
            done += 1
            self(stage, done, total)

        return advance

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.bars is not None:
            if stage not in self.tasks:
                self.tasks[stage] = self.bars.add_task(stage, total=total)
            self.bars.update(self.tasks[stage], completed=done, total=total)
            return
        step = max(1, total // 10)
        if done == total or done - self.last.get(stage, 0) >= step:
            self.last[stage] = done
            err.print(f"{stage}: {done}/{total}")


@app.command()
def report(db: DbOpt = DEFAULT_DB,
           reports: Annotated[Path, typer.Option("--reports", help="Directory for Markdown reports.")] = DEFAULT_REPORTS,
           json_out: JsonOpt = False) -> None:
    """Re-render Markdown reports from the database, without the network.

    Example: provenance report --db db/provenance.db --reports reports/
    """
    from .report import render_reports
    from .store import StoreError

    if not db.exists():
        fail(f"no database at {db}: run 'provenance audit' first")
    try:
        written = render_reports(db, reports)
    except StoreError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write reports to {reports}: {exc.strerror or exc}")
    from .charts import chart_files

    charts = chart_files(reports)
    if json_out:  # the Markdown files, then the SVG charts beside index.md
        emit_json([str(p) for p in [*written, *charts]])
    else:
        drawn = f" and {len(charts)} chart{'s' if len(charts) != 1 else ''}" if charts else ""
        err.print(f"wrote {len(written) - 2} article reports, index.md and changes.md{drawn} to {reports}/",
                  highlight=False)


@app.command()
def browse(db: DbOpt = DEFAULT_DB,
           port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port for datasette.")] = 8001,
           host: Annotated[str, typer.Option("--host", help="Address for datasette.")] = "127.0.0.1",
           json_out: JsonOpt = False) -> None:
    """Open the database in datasette with db/metadata.yml.

    Example: provenance browse --port 8001
    """
    import signal
    import subprocess
    import tempfile

    from .report import BrowseError, prepare_browse

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    with tempfile.TemporaryDirectory(prefix="provenance-browse-") as work:
        try:
            cmd, url = prepare_browse(db, host, port, Path(work))
        except BrowseError as exc:
            fail(str(exc))
        if json_out:
            emit_json({"url": url, "db": str(db)})
            sys.stdout.flush()
        else:
            typer.echo(f"datasette: {url}  (Ctrl-C to stop)")
        signal.signal(signal.SIGTERM, stop)
        child = subprocess.Popen(cmd)
        try:
            code = child.wait()
        except KeyboardInterrupt:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            code = 0
    raise typer.Exit(code)


def _setting_commands(group) -> dict:
    """The commands whose options are config keys (every one but ``config`` itself)."""
    return {name: cmd for name, cmd in group.commands.items() if name != "config"}


@app.command("config")
def config_command(ctx: typer.Context,
                   commands: Annotated[Optional[list[str]], typer.Argument(help="Commands to show (default: all).")] = None,
                   json_out: JsonOpt = False) -> None:
    """Print the effective settings of each command and where each came from.

    Sources, strongest first: the command line, the environment, the config
    file, the default. Example: provenance config audit --config ci.toml
    """
    from .config import Config, effective_settings

    known = _setting_commands(ctx.parent.command if ctx.parent else typer.main.get_command(app))
    unknown = [c for c in commands or [] if c not in known]
    if unknown:
        fail(f"unknown command(s): {', '.join(unknown)} (use: {', '.join(known)})")
    loaded = _loaded_config[0] or Config()
    chosen = {name: cmd for name, cmd in known.items() if not commands or name in commands}
    settings = effective_settings(chosen, loaded)
    if json_out:
        emit_json({"config_file": str(loaded.path) if loaded.path else None,
                   "settings": [s.to_dict() for s in settings]})
        return
    if loaded.path:
        typer.echo(f"# config file: {loaded.path}" + (f" [{loaded.table}]" if loaded.table else ""))
    else:
        typer.echo("# no config file (looked for --config, $PROVENANCE_CONFIG, ./provenance.toml, "
                   "[tool.provenance] in ./pyproject.toml)")
    current = None
    for s in settings:
        if s.command != current:
            current = s.command
            typer.echo(f"\n[{current}]")
        typer.echo(f"{s.key} = {_toml_value(s.value)}  # {s.source}")


def _toml_value(value: object) -> str:
    """A setting as TOML would write it (None, which TOML lacks, as a comment-like word)."""
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"provenance {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(version: Annotated[bool, typer.Option("--version", callback=version_callback, is_eager=True,
                                                        help="Show the version.")] = False,
                 config: Annotated[Optional[Path], typer.Option(
                     "--config", help="Config file (TOML; default ./provenance.toml, else [tool.provenance] in "
                     "./pyproject.toml; also $PROVENANCE_CONFIG). Accepted before or after the command.")] = None) -> None:
    """Audit where an article's claims come from.

    Example: provenance audit seeds/ --fail-on dead,soft404
    """


#: Set by a command once all its output is written and nothing is left to close (see main).
_skip_teardown = [False]


def _exit_at_once(code: int) -> None:
    """Flush and leave without the interpreter's teardown.

    Freeing ~600 modules (typer pulls in pydantic) and thousands of results
    costs ~75 ms of a `provenance check` run that cron repeats; a command
    sets ``_skip_teardown`` only when its output is written and every
    worker, file and connection it opened is closed already.
    """
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader left: as in main, not an error of ours
        os._exit(0)
    except OSError:
        return  # let the normal exit report it
    os._exit(code)


#: The config file main() read (the config command shows it).
_loaded_config: list = [None]


def _take_config_arg(args: list[str]) -> tuple[list[str], Optional[str]]:
    """``--config PATH`` (or ``--config=PATH``) taken out of the arguments wherever it stands.

    The file must be read before click parses anything, because its values
    become the options' defaults; ``--`` ends the search.
    """
    out: list[str] = []
    found: Optional[str] = None
    rest = iter(range(len(args)))
    for i in rest:
        arg = args[i]
        if arg == "--":
            out += args[i:]
            break
        if arg == "--config":
            if i + 1 >= len(args):
                err.print("error: --config needs a file path", markup=False)
                sys.exit(2)
            found = args[i + 1]
            next(rest, None)
        elif arg.startswith("--config="):
            found = arg.split("=", 1)[1]
        else:
            out.append(arg)
    return out, found


def main() -> None:
    """Entry point: usage errors become one line on stderr and exit 2, as the contract says."""
    try:  # typer >= 0.20 vendors click as typer._click; older releases use click itself
        from typer._click import exceptions as click
    except ImportError:  # pragma: no cover - depends on the installed typer
        from click import exceptions as click  # type: ignore[no-redef]

    from .config import ConfigError, load_config

    args, config_path = _take_config_arg(sys.argv[1:])
    command = typer.main.get_command(app)
    try:
        settings = load_config(_setting_commands(command), config_path)
    except ConfigError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(2)
    _loaded_config[0] = settings
    try:
        code = command.main(args, prog_name="provenance", standalone_mode=False, default_map=settings.default_map)
    except click.NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx else "usage: provenance --help")
        sys.exit(2)
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        err.print(f"error: {exc.format_message()}{hint}", markup=False)
        sys.exit(2)
    except typer.Abort:
        err.print("interrupted", markup=False)
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)
    except BrokenPipeError:
        # `provenance extract seeds --json | head`: the reader left; not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    code = code if isinstance(code, int) else 0
    if _skip_teardown[0]:
        _exit_at_once(code)
    sys.exit(code)


if _gc_was_on:
    gc.enable()  # see the top of this module
