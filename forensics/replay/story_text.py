"""A `Story` as JSON data, plain text for the terminal and Markdown for a ticket or a chat.

Only rendering: every fact comes from the `Story` record. Text and Markdown have the same
sections in the same order (headline, root cause, writers, critical window, blast radius,
prevention, everything else); a healthy run is one line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from forensics.model import Story, StoryEvent, StoryWriter
from forensics.replay.names import short_step

ROLE_TITLES: Final = {
    "stale": "stale writer",
    "racing": "raced by",
    "other-branch": "took the other branch",
    "victim": "failed on it",
}


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _clock(at: datetime | None) -> str:
    return f"{at:%H:%M:%S}.{at.microsecond // 1000:03d}" if at else "?"


def _ev(e: StoryEvent | None) -> dict[str, Any] | None:
    if e is None:
        return None
    return {"position": e.position, "event_id": e.event_id, "event_type": e.event_type,
            "correlation_id": e.correlation_id, "label": e.label, "at": _iso(e.at)}  # fmt: skip


def story_json(s: Story) -> dict[str, Any]:
    """The JSON shape scripts rely on (see README, `forensics story`)."""
    cause = s.root_cause
    return {
        "run_id": s.run_id,
        "workflow_name": s.workflow_name,
        "status": s.status,
        "error_code": s.error_code,
        "error_message": s.error_message,
        "failed_at": _iso(s.failed_at),
        "verdict": s.verdict,
        "headline": s.headline,
        "exactness": s.exactness,
        "exactness_note": s.exactness_note,
        "root_cause": None
        if cause is None
        else {
            "code": cause.code,
            "severity": cause.severity,
            "finding_id": cause.finding_id,
            "event_id": cause.event.event_id,
            "position": cause.event.position,
            "label": cause.event.label,
            "summary": cause.summary,
            "witnesses": [_ev(w) for w in cause.witnesses],
        },
        "writers": [_writer_json(w) for w in s.writers],
        "window": [
            {
                "kind": m.kind,
                "at": _iso(m.at),
                "position": m.event.position if m.event else None,
                "event_id": m.event.event_id if m.event else None,
                "event_type": m.event.event_type if m.event and m.kind != "read" else "read",
                "correlation_id": m.event.correlation_id if m.event else None,
                "label": m.event.label if m.event else None,
                "writer": m.writer,
                "note": m.note,
            }
            for m in s.window
        ],
        "blast_radius": {
            "failed_replays": s.blast_radius.failed_replays,
            "first_failure_at": _iso(s.blast_radius.first_failure_at),
            "last_failure_at": _iso(s.blast_radius.last_failure_at),
            "similar_runs": list(s.blast_radius.similar_runs),
        },
        "prevention": [
            {
                "design": d.design,
                "would_reject": d.would_reject,
                "prevents": d.prevents,
                "rejects": [e.event_id for e in d.rejects],
            }
            for d in s.prevention
        ],
        "other_findings": [
            {"code": c, "severity": sev, "count": n} for c, sev, n in s.other_findings
        ],
        "event_count": s.event_count,
        "traced_replays": s.traced_replays,
    }


def _writer_json(w: StoryWriter) -> dict[str, Any]:
    return {
        "role": w.role,
        "replay": w.replay,
        "replays": list(w.replays),
        "source": w.source,
        "exact": w.exact,
        "event_ids": [e.event_id for e in w.writes],
        "writes": [_ev(e) for e in w.writes],
        "digest": w.digest,
        "loaded": w.loaded,
        "tail_event_id": w.tail.event_id if w.tail else None,
        "tail_position": w.tail.position if w.tail else None,
        "missed_event_ids": [e.event_id for e, _ in w.missed],
        "missed": [{**(_ev(e) or {}), "committed_ms_before_write": ms} for e, ms in w.missed],
        "identity": w.identity,
        "outcome": w.outcome,
        "note": w.note,
    }


def _ref(e: StoryEvent) -> str:
    return f"#{e.position} {e.label} ({e.event_id[-6:]})"


def _identity(w: StoryWriter) -> str:
    parts = [f"{k} {v}" for k, v in w.identity.items() if k != "inv" and v != ""]
    return f" [{', '.join(parts)}]" if parts else ""


def _writer_line(w: StoryWriter) -> str:
    how = "traced" if w.source == "trace" else "reconstructed"
    snap = "exact snapshot" if w.exact else "inferred snapshot"
    who = f"{w.replay} " if w.role in ("stale", "racing") else ""
    line = f"{ROLE_TITLES.get(w.role, w.role)}: {who}{w.note} ({how}, {snap})"
    if w.role == "stale" and w.tail:
        line += f"; its snapshot: {w.loaded} events, digest {w.digest}, tail {_ref(w.tail)}"
    return line + _identity(w)


def _sections(s: Story) -> list[tuple[str, list[str]]]:
    """(title, lines) per section; the renderers differ only in decoration."""
    cause = s.root_cause
    if cause is None:
        return []
    out: list[tuple[str, list[str]]] = []
    witnesses = [_ref(w) for w in cause.witnesses]
    out.append(("Root cause", [f"{cause.code} ({cause.severity}) at {_ref(cause.event)}",
                               cause.summary, "witnesses: " + ", ".join(witnesses)]))  # fmt: skip
    out.append(("Writers", [_writer_line(w) for w in s.writers] + [s.exactness_note]))
    window = []
    for m in s.window:
        what = _ref(m.event) if m.event and m.kind != "read" else "read"
        by = f" by {m.writer}" if m.writer else ""
        note = f": {m.note}" if m.note else ""
        window.append(f"{_clock(m.at)}  {what}{by}{note}")
    out.append(("Critical window (commit order)", window))
    b = s.blast_radius
    blast = [f"{b.failed_replays} replay(s) failed"
             + (f" between {_clock(b.first_failure_at)} and {_clock(b.last_failure_at)}"
                if b.first_failure_at else "")]  # fmt: skip
    blast.append(
        "similar runs (same root cause over the same event types, among checked runs): "
        + (", ".join(b.similar_runs) or "none")
    )
    out.append(("Blast radius", blast))
    prevention = []
    for d in s.prevention:
        if d.would_reject is None:
            verdict = "cannot tell (no write's snapshot is known)"
        elif d.prevents:
            verdict = "would have rejected the write and prevented it"
        elif d.would_reject:
            verdict = "rejects the write, but too late to prevent it"
        else:
            verdict = "would NOT have rejected the write"
        prevention.append(f"{d.design}: {verdict}")
    out.append(("What would have prevented it", prevention))
    others = [f"{c} ({sev}) x{n}" for c, sev, n in s.other_findings] or ["none"]
    out.append(("Everything else", others))
    return out


def story_text(s: Story) -> str:
    """The story for a terminal."""
    head = f"{s.run_id}  {short_step(s.workflow_name) or ''}".rstrip()
    lines = [head, s.headline]
    if s.error_message and s.root_cause is not None:
        lines.append(f"error: {s.error_message}")
    for title, body in _sections(s):
        lines += ["", title.upper()] + [f"  {line}" for line in body]
    return "\n".join(lines)


def story_markdown(s: Story) -> str:
    """The story for an issue or a chat: headings, bullets, ids in code spans."""
    lines = [f"### Run `{s.run_id}`", "", f"**{s.headline}**"]
    if s.error_message and s.root_cause is not None:
        lines += ["", f"> {s.error_message}"]
    for title, body in _sections(s):
        lines += ["", f"#### {title}", ""]
        if title.startswith("Critical window"):
            lines += ["```", *body, "```"]
        else:
            lines += [f"- {_md(line)}" for line in body]
    return "\n".join(lines) + "\n"


def _md(line: str) -> str:
    """Event ids and digests in code spans, so chat clients neither link nor wrap them."""
    words = []
    for word in line.split(" "):
        core = word.strip("(),;:[]")
        if core.startswith(("evnt_", "wevt_", "wrun_", "step_", "wait_", "hook_")) or (
            len(core) == 16 and all(c in "0123456789abcdef" for c in core)
        ):
            words.append(word.replace(core, f"`{core}`"))
        else:
            words.append(word)
    return " ".join(words)
