"""Run the liveness engine on a URL file and report how long the checking itself took.

Usage: check_engine_run.py URL_FILE CONCURRENCY HOST_CONCURRENCY INTERVAL [noprobe]

Used by bench_check.py to split ``provenance check``'s wall time into
interpreter start-up + imports and the engine's own work (and, with
PROVENANCE_SRC set, to time another version of the engine the same way). Prints one JSON
line: {"engine_wall": seconds, "import_wall": seconds, "ok": count}.
"""

from __future__ import annotations

import time

_started = time.monotonic()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

if os.environ.get("PROVENANCE_SRC"):
    # bench_check.py --baseline: time an older engine (its package exported to this directory).
    sys.path.insert(0, os.environ["PROVENANCE_SRC"])

from provenance.check import CheckOptions, check_urls  # noqa: E402


def main() -> None:
    path, concurrency, host_concurrency, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    # "noprobe": no catch-all probe, so exactly the requests lychee sends (one per URL).
    probe = not (len(sys.argv) > 5 and sys.argv[5] == "noprobe")
    urls = [line.strip() for line in open(path, encoding="utf-8") if line.strip()]
    imported = time.monotonic()
    options = CheckOptions(concurrency=concurrency, host_concurrency=host_concurrency, host_interval=interval,
                           allow_private=True, keep_body=False, probe_catch_all=probe)
    results = check_urls(urls, options)
    done = time.monotonic()
    print(json.dumps({"engine_wall": round(done - imported, 3), "import_wall": round(imported - _started, 3),
                      "ok": sum(1 for r in results if r.verdict == "ok")}))


if __name__ == "__main__":
    main()
