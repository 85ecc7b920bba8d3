"""JUnit XML for CI dashboards (``--junit FILE`` on ``check`` and ``audit``).

Every CI system reads this one format (GitHub via test-reporter actions,
GitLab's ``artifacts:reports:junit``, Jenkins, Buildkite): a link that
fails becomes a red test with the claim it supports, so an editor sees
which sentence lost its source without reading a log.

Mapping: one ``testsuite`` per article (one for ``check``), one
``testcase`` per cited link claim, named by its URL; the ``--fail-on``
verdicts (``dead`` and ``soft404`` when none are given) are failures; the
other problem verdicts (blocked, error, unchecked, the rest of dead and
soft404) and drift are ``skipped`` with the reason; ok and redirect pass.
A drifted claim on a page that answers (ok, redirect) is skipped with
``type="drift"``, never ``type="ok"``: drift is not a verdict, so it is not
a ``--fail-on`` word in ``audit`` either, and JUnit mirrors that.
"""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .models import CheckResult

if TYPE_CHECKING:  # the audit module is heavy; `check --junit` never needs it
    from .audit import AuditResult

#: Failures when no --fail-on is given: the link is gone for a reader.
DEFAULT_FAIL_ON = frozenset({"dead", "soft404"})
#: Verdicts that are a problem (skipped when not failing).
PROBLEM_VERDICTS = frozenset({"dead", "soft404", "blocked", "error", "unchecked"})


@dataclass
class Case:
    """One cited link claim (or one URL for ``check``)."""

    name: str
    classname: str
    verdict: str
    reason: str = ""
    sentence: str = ""
    seconds: float = 0.0
    #: "failure", "skipped" or "" (passed).
    outcome: str = ""
    message: str = ""
    #: The ``type`` of the failure or skip: the verdict, or "drift" for a drifted claim whose page answers.
    kind: str = ""


@dataclass
class Suite:
    name: str
    cases: list[Case] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return sum(1 for c in self.cases if c.outcome == "failure")

    @property
    def skipped(self) -> int:
        return sum(1 for c in self.cases if c.outcome == "skipped")


def judge(case: Case, fail_on: frozenset[str] | set[str], drift: bool | None = None) -> Case:
    """Set the case's outcome from its verdict (and drift) under ``fail_on``."""
    what = f"{case.verdict}: {case.reason}" if case.reason else case.verdict
    if case.verdict in fail_on:
        case.outcome, case.message = "failure", what
    elif case.verdict in PROBLEM_VERDICTS:
        case.outcome, case.message = "skipped", what
    elif drift:
        case.outcome, case.message = "skipped", "drifted: the snapshot carries the claim, the live page no longer does"
        case.kind = "drift"
    return case


def check_suite(results: Iterable[CheckResult], fail_on: set[str] | None = None) -> Suite:
    """``provenance check``: one suite, a case per URL."""
    fail = frozenset(fail_on or DEFAULT_FAIL_ON)
    suite = Suite("provenance check")
    for r in results:
        suite.cases.append(judge(Case(r.url, "provenance.check", r.verdict, r.reason or "",
                                      seconds=(r.elapsed_ms or 0) / 1000), fail))
    return suite


def audit_suites(result: "AuditResult", fail_on: set[str] | None = None) -> list[Suite]:
    """``provenance audit``: a suite per article, a case per cited link claim (attributions have no link)."""
    fail = frozenset(fail_on or DEFAULT_FAIL_ON)
    suites = []
    for article, claims in result.articles:
        suite = Suite(article.title or article.path)
        for cr in claims:
            if cr.claim.kind != "link" or not cr.claim.url:
                continue
            check = cr.check
            verdict = check.verdict if check else "unchecked"
            case = Case(cr.claim.url, article.path, verdict, (check.reason if check else "") or "",
                        cr.claim.sentence, ((check.elapsed_ms or 0) / 1000) if check and cr.checked_now else 0.0)
            suite.cases.append(judge(case, fail, cr.drift.drift if cr.drift else None))
        suites.append(suite)
    return suites


def to_xml(suites: list[Suite]) -> bytes:
    """The JUnit document: ``testsuites`` > ``testsuite`` > ``testcase`` (> ``failure`` | ``skipped``)."""
    root = ET.Element("testsuites", name="provenance", tests=str(sum(len(s.cases) for s in suites)),
                      failures=str(sum(s.failures for s in suites)), errors="0",
                      skipped=str(sum(s.skipped for s in suites)))
    for suite in suites:
        node = ET.SubElement(root, "testsuite", name=suite.name, tests=str(len(suite.cases)),
                             failures=str(suite.failures), errors="0", skipped=str(suite.skipped),
                             time=f"{sum(c.seconds for c in suite.cases):.3f}")
        for case in suite.cases:
            item = ET.SubElement(node, "testcase", name=case.name, classname=case.classname, time=f"{case.seconds:.3f}")
            if case.outcome:
                child = ET.SubElement(item, case.outcome, message=_clean(case.message), type=case.kind or case.verdict)
                child.text = _clean(case.sentence) if case.outcome == "failure" else None
            if case.sentence:
                ET.SubElement(item, "system-out").text = _clean(case.sentence)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write_junit(path: Path, suites: list[Suite]) -> None:
    """Write atomically (a CI step never reads half a file); OSError for the caller to report."""
    path = Path(path)
    data = to_xml(suites)
    folder = path.parent if str(path.parent) else Path(".")
    handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def check_writable(path: Path) -> str | None:
    """Why ``path`` cannot take the JUnit file (asked before the run, not after an hour of checks), or None."""
    path = Path(path)
    if path.is_dir():
        return f"--junit {path} is a folder"
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        return f"--junit {path}: folder {folder} does not exist"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"--junit {path}: folder {folder} is not writable"
    return None


def _clean(text: str) -> str:
    """Text XML 1.0 can carry: control characters other than tab and newline dropped."""
    return "".join(ch for ch in text or "" if ch in "\t\n" or ord(ch) >= 32 and ch not in "\ufffe\uffff"
                   and not 0xD800 <= ord(ch) <= 0xDFFF)
