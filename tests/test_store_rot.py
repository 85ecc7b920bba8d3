"""The rot rule (InternetArchiveBot's): confirmed dead only after 3 failing checks at least 3 days apart;
a success resets; error, blocked and unchecked never count and never erase what is known."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from provenance import store
from provenance.models import CheckResult
from provenance.store import RotPolicy, next_url_state

T0 = datetime(2026, 1, 1, 2, 0, tzinfo=timezone.utc)
URL = "https://example.org/page"


def replay(steps: list[tuple[float, str]], policy: RotPolicy | None = None) -> list[tuple[dict, dict]]:
    """Apply (days since T0, verdict) checks in order; return each (row after, history)."""
    row: dict = {"url": URL}
    out = []
    for days, verdict in steps:
        update, history = next_url_state(row, CheckResult(url=URL, verdict=verdict, status=404 if verdict == "dead" else 200),
                                         T0 + timedelta(days=days), policy or RotPolicy())
        row = {**row, **update}
        out.append((row, history))
    return out


def test_three_failures_three_days_apart_confirm_on_the_third():
    states = replay([(0, "dead"), (3, "dead"), (6, "dead")])
    assert [s["failures"] for s, _h in states] == [1, 2, 3]
    assert [s.get("confirmed_dead_at") for s, _h in states] == [None, None, "2026-01-07T02:00:00Z"]
    assert [h["change"] for _s, h in states] == ["newly_failing", None, "newly_confirmed_dead"]
    assert states[-1][0]["first_failed"] == "2026-01-01T02:00:00Z"


def test_failures_too_close_together_do_not_count():
    states = replay([(0, "dead"), (1, "dead"), (2, "soft404"), (2.9, "dead")])
    assert [s["failures"] for s, _h in states] == [1, 1, 1, 1]
    assert [h["counted"] for _s, h in states] == [1, 0, 0, 0]
    assert all(s.get("confirmed_dead_at") is None for s, _h in states)
    # Gaps are measured from the last failure that counted: day 3 counts, day 5 does not, day 6 confirms.
    states = replay([(0, "dead"), (1, "dead"), (3, "dead"), (5, "dead"), (6, "dead")])
    assert [s["failures"] for s, _h in states] == [1, 1, 2, 2, 3]
    assert states[-1][0]["confirmed_dead_at"] == "2026-01-07T02:00:00Z"


def test_success_resets_and_is_reported_as_recovery():
    states = replay([(0, "dead"), (3, "dead"), (6, "dead"), (7, "ok"), (8, "dead")])
    after_ok, history = states[3]
    assert after_ok["failures"] == 0 and after_ok["confirmed_dead_at"] is None and after_ok["first_failed"] is None
    # It had been confirmed dead: answering again is a resurrection, "back", and its rot state starts over.
    assert history["change"] == "back" and history["previous_verdict"] == "dead"
    assert after_ok["back_at"] == states[3][0]["last_checked"] and after_ok["last_failed"] is None
    assert states[4][0]["failures"] == 1 and states[4][1]["change"] == "newly_failing"
    # Failing but never confirmed dead: an ordinary recovery.
    failing_then_ok = replay([(0, "dead"), (3, "dead"), (4, "ok")])
    assert failing_then_ok[2][1]["change"] == "recovered" and "back_at" not in failing_then_ok[2][0]
    # A redirect is a success too.
    assert replay([(0, "dead"), (3, "redirect")])[1][0]["failures"] == 0


@pytest.mark.parametrize("neutral", ["error", "blocked", "unchecked"])
def test_inconclusive_verdicts_never_count_nor_reset(neutral):
    states = replay([(0, "dead"), (3, neutral), (6, neutral), (9, neutral), (12, "dead")])
    assert [s["failures"] for s, _h in states] == [1, 1, 1, 1, 2]
    assert all(s.get("confirmed_dead_at") is None for s, _h in states)
    assert [h["counted"] for _s, h in states] == [1, 0, 0, 0, 1]


def test_unchecked_keeps_known_verdict_and_dates():
    states = replay([(0, "dead"), (1, "unchecked")])
    row, history = states[1]
    assert row["verdict"] == "dead" and row["last_checked"] == "2026-01-01T02:00:00Z"
    assert row["last_attempt_verdict"] == "unchecked" and row["last_attempt"] == "2026-01-02T02:00:00Z"
    assert history["change"] is None
    ok_then_offline = replay([(0, "ok"), (1, "unchecked")])[1][0]
    assert ok_then_offline["verdict"] == "ok" and ok_then_offline["status"] == 200


def test_soft404_counts_like_dead_and_policy_is_configurable():
    states = replay([(0, "soft404"), (1, "dead")], RotPolicy(checks=2, gap=timedelta(hours=12)))
    assert states[1][0]["confirmed_dead_at"] == "2026-01-02T02:00:00Z"
    assert replay([(0, "dead")], RotPolicy(checks=1))[0][0]["confirmed_dead_at"] == "2026-01-01T02:00:00Z"


def test_save_checks_applies_the_rule_and_keeps_history(tmp_path):
    db = store.open_store(tmp_path / "p.db")
    for day, verdict in [(0, "dead"), (3, "error"), (4, "dead"), (7, "dead"), (8, "unchecked")]:
        now = T0 + timedelta(days=day)
        run_id = store.start_run(db, {}, False, now)
        store.save_checks(db, run_id, [CheckResult(url=URL, verdict=verdict, status=404 if verdict == "dead" else None)],
                          now=now)
        store.finish_run(db, run_id, 1, 1, 1, {verdict: 1}, now)
    row = db["urls"].get(URL)
    assert row["verdict"] == "dead" and row["failures"] == 3
    assert row["confirmed_dead_at"] == "2026-01-08T02:00:00Z" and row["last_attempt_verdict"] == "unchecked"
    history = [(r["verdict"], r["failures"], r["counted"], r["change"]) for r in db.query("select * from checks order by id")]
    assert history == [("dead", 1, 1, "newly_failing"), ("error", 1, 0, "changed"), ("dead", 2, 1, "changed"),
                       ("dead", 3, 1, "newly_confirmed_dead"), ("unchecked", 3, 0, None)]
    assert [r["change"] for r in db.query("select change from url_changes order by run_id")] == \
        ["newly_failing", "changed", "changed", "newly_confirmed_dead"]
