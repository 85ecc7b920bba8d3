"""What a check run is told: :class:`CheckOptions` and the request defaults every stage reads.

Kept apart from the engine so that every stage (names and the address
policy, the fetch layer, the engine, the CLI) can import them without an
import circle: ``resolve`` once imported ``CheckOptions`` back from ``check``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
#: Headers a browser sends; some bot walls refuse requests without them.
BROWSER_HEADERS: dict[str, str] = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-US,en;q=0.9",
    # Every coding a browser offers; libcurl decodes each, and the engine caps the decoded size.
    "Accept-Encoding": "gzip, deflate, br, zstd",
}
#: When a bot wall answers: "auto" asks once more as a browser would (curl_cffi's Chrome profile),
#: "always" asks as a browser from the first request, "never" does not.
IMPERSONATE_MODES: tuple[str, ...] = ("auto", "always", "never")

#: An async DNS lookup: name -> addresses; raises OSError when the name does not exist.
ResolverFunc = Callable[[str], Awaitable[list[str]]]


@dataclass
class CheckOptions:
    concurrency: int = 64
    host_concurrency: int = 4
    host_interval: float = 0.2
    timeout: float = 20.0
    retries: int = 2
    allow_private: bool = False
    user_agent: str = DEFAULT_USER_AGENT
    #: Set by the run once it knows; None: detect once per run (only when some URL needs DNS).
    offline: bool | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)
    #: Hard cap in seconds on one URL's total time; None: max(DEFAULT_URL_DEADLINE, 3 x timeout).
    url_deadline: float | None = None
    #: Async DNS lookup to use instead of the system's (tests, custom DNS).
    resolver: ResolverFunc | None = None
    #: Worker processes; None: automatic (several only for big runs with many hosts).
    workers: int | None = None
    #: Probe a random sibling URL once per host+directory to catch sites that answer 200 to anything.
    probe_catch_all: bool = True
    #: Keep the decoded start of live HTML bodies on results (the drift judge needs it).
    keep_body: bool = True
    #: With keep_body: keep only these URLs' bodies (None: every URL's). The audit names the URLs that have
    #: a snapshot to compare with, so the per-run body budget goes to pages that will be judged.
    keep_body_for: frozenset[str] | None = None
    #: Networks (CIDR) the address policy lets through without allow_private, e.g. one intranet.
    allowed_networks: tuple[str, ...] = ()
    #: A proxy for every URL (``--proxy``); None: HTTP_PROXY / HTTPS_PROXY / ALL_PROXY / NO_PROXY as curl reads them.
    proxy: str | None = None
    #: A CA bundle (PEM) to trust instead of the default store (``--ca-bundle``); None: $SSL_CERT_FILE, else the
    #: system's store, else certifi's.
    ca_bundle: str | None = None
    #: Proxies read from the environment of the process that planned the run, as (http, https, no_proxy):
    #: set when the run is carried out elsewhere (a cluster's workers, whose environment is not the
    #: caller's); None: read this process's environment.
    proxy_env: tuple[str | None, str | None, tuple[str, ...]] | None = None
    #: One of IMPERSONATE_MODES (``--impersonate``).
    impersonate: str = "auto"
    #: A Dask scheduler (tcp://host:8786) whose workers run the host shards (provenance.cluster); None: local.
    cluster: str | None = None
