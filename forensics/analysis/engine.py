"""`check`: analyse what is stale, store findings and verdicts, return what was asked for.

Each run's fingerprint (its events' content, conflicts, run record and entity rows, and the
detector settings) is compared with the one stored beside its verdict; only runs whose
fingerprint changed are analysed again: sieve, detectors, explanations, verdict. Results go
to the store through `forensics.store.findings` and are then read back, filtered by run,
code and date, so every caller sees the same stored findings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from forensics.analysis import scan as scanning
from forensics.analysis.hits import Hit
from forensics.analysis.scan import Settings
from forensics.analysis.versions import Judgement, run_judgements
from forensics.model import Finding, RunVerdict
from forensics.store import Store
from forensics.store.findings import replace_findings

_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class CheckResult:
    """Verdicts of the selected runs and their findings (after the code filter)."""

    runs: tuple[RunVerdict, ...]
    findings: tuple[Finding, ...]
    analysed: int

    @property
    def anomalous(self) -> bool:
        return any(f.severity in ("error", "warning") for f in self.findings)


def check(
    store: Store,
    *,
    run_ids: Sequence[str] | None = None,
    codes: Sequence[str] | None = None,
    since: datetime | None = None,
    settings: Settings | None = None,
) -> CheckResult:
    """Bring the stored results of the selected runs up to date and return them."""
    settings = settings or Settings()
    con = store.cursor()
    con.execute("SET enable_progress_bar = false")  # stderr is for our one summary line
    try:
        scanning.facts(con, settings, list(run_ids) if run_ids is not None else None)
        facts = {r["run_id"]: r for r in _rows(con, "SELECT * FROM _fx_facts")}
        stale = _stale(con, facts)
        if stale:
            every = run_ids is None and len(stale) == len(facts)
            findings, verdicts = _analyse(con, stale, facts, settings, every)
            replace_findings(store.con, stale, findings, verdicts)
        if run_ids is None:
            _forget_vanished(store, facts)
        selected = [r for r, f in facts.items() if since is None or _since(f, since)]
        return _read(store, selected, codes, len(stale))
    finally:
        scanning.drop(con)
        con.close()


def _rows(con: Any, sql: str, params: Any = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params) if params is not None else con.execute(sql)
    names = [d[0] for d in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _since(f: dict[str, Any], since: datetime) -> bool:
    return f["last_at"] is not None and f["last_at"] >= since


def _stale(con: Any, facts: dict[str, dict[str, Any]]) -> list[str]:
    stored = dict(con.execute("SELECT run_id, fingerprint FROM run_verdicts").fetchall())
    return sorted(r for r, f in facts.items() if stored.get(r) != f["fingerprint"])


def _forget_vanished(store: Store, facts: dict[str, dict[str, Any]]) -> None:
    stored = [r[0] for r in store.con.execute("SELECT run_id FROM run_verdicts").fetchall()]
    gone = [r for r in stored if r not in facts]
    if gone:
        replace_findings(store.con, gone, [], [])


def _analyse(
    con: Any, runs: list[str], facts: dict[str, dict[str, Any]], settings: Settings, every: bool
) -> tuple[list[Finding], list[RunVerdict]]:
    # the detectors load only when a run is stale: a check of current runs starts faster
    from forensics.analysis.catalogue import Context, all_detectors
    from forensics.analysis.explain import explain

    ctx = Context(scanning.stage(con, runs, settings, every=every))
    hits: list[Hit] = []
    for detector in all_detectors():
        hits.extend(detector.run(ctx))
    hits = _link_blamed_events(hits)
    judged = run_judgements(ctx.scan) if hits else {}
    hits = [_judged_in(h, judged.get(h.run_id)) for h in hits]
    witnesses = _witness_facts(con, hits)
    findings = []
    for h in sorted(hits, key=_order):
        known = witnesses.get(h.run_id, {})
        evidence = {**h.evidence, "events": _events_of(h, known)}
        findings.append(h.finding(explain(h, known), evidence))
    by_run: dict[str, list[Hit]] = {}
    for h in hits:
        by_run.setdefault(h.run_id, []).append(h)
    verdicts = [_verdict(facts[r], by_run.get(r, [])) for r in runs]
    return findings, verdicts


def _judged_in(h: Hit, judged: Judgement | None) -> Hit:
    """The hit with the era its run is judged in (`evidence.judged_in`), for every output."""
    if judged is None:
        return h
    return dataclasses.replace(h, evidence={**h.evidence, "judged_in": judged.describe()})


def _order(h: Hit) -> tuple[str, int, str, tuple[str, ...]]:
    return (h.run_id, _SEVERITY_ORDER.get(h.severity, 3), h.code, h.event_ids)


def _link_blamed_events(hits: list[Hit]) -> list[Hit]:
    """Tell each `corrupted-log-error` what the other detectors found on the event it blames."""
    out = []
    for hit in hits:
        blamed = hit.evidence.get("blamed_event") if hit.code == "corrupted-log-error" else None
        if not blamed:
            out.append(hit)
            continue
        codes = sorted(
            {
                o.code
                for o in hits
                if o is not hit and o.run_id == hit.run_id and blamed in o.event_ids
            }
        )
        out.append(dataclasses.replace(hit, evidence={**hit.evidence, "findings_on_event": codes}))
    return out


_WITNESS_SQL = """
SELECT run_id, event_id, event_type, correlation_id, created_at, pos FROM (
    SELECT run_id, event_id, event_type, correlation_id, created_at,
        row_number() OVER (PARTITION BY run_id ORDER BY event_id) AS pos
    FROM (SELECT DISTINCT ON (run_id, event_id) run_id, event_id, event_type, correlation_id,
              created_at
          FROM events WHERE NOT staged AND run_id IN (SELECT unnest($runs::VARCHAR[]))
          ORDER BY run_id, event_id, import_id) d
) p
WHERE event_id IN (SELECT unnest($ids::VARCHAR[]))
"""


def _witness_facts(con: Any, hits: list[Hit]) -> dict[str, dict[str, dict[str, Any]]]:
    """Type, time and log position of every witness event, per run, for explanations and
    evidence. Keyed by run first: slot ids (`evnt_000…01`) repeat in every run."""
    ids = sorted({e for h in hits for e in h.event_ids})
    if not ids:
        return {}
    runs = sorted({h.run_id for h in hits if h.event_ids})
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for r in _rows(con, _WITNESS_SQL, {"runs": runs, "ids": ids}):
        at = r["created_at"]
        out.setdefault(r["run_id"], {})[r["event_id"]] = {
            "event_type": r["event_type"],
            "correlation_id": r["correlation_id"],
            "created_at": _iso_ms(at),
            "at": at.strftime("%H:%M:%S.%f")[:-3] if at else None,
            "position": int(r["pos"]),
        }
    return out


def _iso_ms(at: datetime | None) -> str | None:
    """ISO-8601 UTC with milliseconds, as the runtime writes times."""
    if at is None:
        return None
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _events_of(h: Hit, facts: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    keep = ("event_type", "correlation_id", "created_at", "position")
    return [{"event_id": e, **{k: facts.get(e, {}).get(k) for k in keep}} for e in h.event_ids]


def verdict_without_findings(f: dict[str, Any]) -> RunVerdict:
    """The verdict of a run (a `_fx_facts` row) no detector found anything in."""
    return _verdict(f, [])


def _verdict(f: dict[str, Any], hits: list[Hit]) -> RunVerdict:
    reason = _partial(f)
    severities = {h.severity for h in hits}
    if f["n_events"] == 0:
        verdict, reason = "inconclusive", "no events of this run are in the store"
    elif "error" in severities:
        verdict = "anomalous"
    elif reason is not None:
        verdict = "inconclusive"
    elif "warning" in severities:
        verdict = "anomalous"
    else:
        verdict = "ok"
    return RunVerdict(f["run_id"], verdict, reason, f["fingerprint"])


def _partial(f: dict[str, Any]) -> str | None:
    """Why only part of the run's log may be here (None when nothing says so)."""
    if f["n_analytics"]:
        return (
            f"{f['n_analytics']} events are analytics rows without eventData"
            " (re-export with `workflow inspect events --withData`)"
        )
    if f["n_events"] and f["opening_id"] is None:
        return "the log has no run_created: only part of the run was imported"
    if f["n_slot_rows"] and f["slot_hi"] is not None and f["n_slot_rows"] < f["slot_hi"]:
        return "slots are missing from the log"
    return None


_READ_FINDINGS = """
SELECT finding_id, code, severity, run_id, correlation_id, event_ids, fatal_in,
    replay_message, evidence, explanation
FROM findings
WHERE run_id IN (SELECT unnest($runs::VARCHAR[]))
ORDER BY run_id, CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, code,
    event_ids
"""


def _read(store: Store, runs: list[str], codes: Sequence[str] | None, analysed: int) -> CheckResult:
    params = {"runs": runs}
    verdicts = store.con.execute(
        "SELECT run_id, verdict, reason, fingerprint FROM run_verdicts"
        " WHERE run_id IN (SELECT unnest($runs::VARCHAR[])) ORDER BY run_id",
        params,
    ).fetchall()
    findings = [
        Finding(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            tuple(r[5]),
            tuple(r[6]),
            r[7],
            orjson.loads(r[8]) if r[8] else {},
            r[9] or "",
        )
        for r in store.con.execute(_READ_FINDINGS, params).fetchall()
        if codes is None or r[1] in codes
    ]
    runs_out = tuple(RunVerdict(str(v[0]), str(v[1]), v[2], str(v[3])) for v in verdicts)
    return CheckResult(runs_out, tuple(findings), analysed)


def explain_run(store: Store, run_id: str, settings: Settings | None = None) -> CheckResult:
    """`check` of one run: its verdict and every finding, recomputed if stale."""
    return check(store, run_ids=[run_id], settings=settings)
