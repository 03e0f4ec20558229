"""Text output of `replays`, `diff` and `fences`: aligned tables and a readable diff.

Colour only when stdout is a terminal (rich decides); a pipe gets the same text without
escapes. JSON output does not come through here: it is the plain data of `replay.views`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from forensics.cli.render import _cell

FOLDED = frozenset({"detail", "wrote", "rejects", "verdict"})
VERDICT_STYLE = {
    "ok": "green",
    "unfenced-decision-write": "yellow",
    "stale-snapshot-write": "bold red",
    "fence-break": "bold red",
    "stuck-fence": "bold red",
}


def console() -> Console:
    """A terminal gets its own width; a pipe or file gets whole lines, never folded cells."""
    width = None if sys.stdout.isatty() else 100_000
    return Console(width=width, soft_wrap=False, highlight=False, markup=False)  # data is text


def _text(value: Any, whole: bool = False) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return _cell(value, 100_000 if whole else 80)


def grouped_table(
    title: str, columns: Sequence[str], rows: Sequence[dict[str, Any]], group: str
) -> None:
    """One table; a rule between rows whose `group` differs."""
    table = Table(title=title, header_style="bold", title_justify="left")
    for c in columns:
        folds = c in FOLDED
        table.add_column(c, overflow="fold" if folds else "ellipsis", no_wrap=not folds)
    for n, row in enumerate(rows):
        last = n + 1 == len(rows) or rows[n + 1].get(group) != row.get(group)
        cells = [_styled(c, row.get(c), c in FOLDED) for c in columns]
        table.add_row(*cells, end_section=last and bool(group))
    console().print(table)


def _styled(column: str, value: Any, whole: bool) -> Text:
    text = _text(value, whole)
    if column == "verdict":
        return Text(text, style=VERDICT_STYLE.get(text, ""))
    if column == "outcome" and value == "failed":
        return Text(text, style="red")
    if column == "mismatch" and value:
        return Text(text, style="red")
    return Text(text)


def diff_text(info: dict[str, Any]) -> None:
    """The diff for people: the two sides, what differs, and what it means."""
    out = console()
    out.print(
        Text(
            f"diff {info['run_id']}: A = {info['a']['label']}, B = {info['b']['label']}",
            style="bold",
        )
    )
    for name in ("a", "b"):
        side = info[name]
        who = f" ({', '.join(side['replays'][:3])})" if side["kind"] == "digest" else ""
        line = f"  {name.upper()} {side['label']}{who}: {side['events']} events"
        if side["digest"]:
            line += f", digest {side['digest']}"
        if side["mismatch"]:
            line += f", failed: {side['mismatch']}"
        out.print(line)
    first = info["first_divergence"]
    if first:
        a = first["a"]["label"] if first["a"] else "(ends)"
        b = first["b"]["label"] if first["b"] else "(ends)"
        out.print(f"\nfirst divergence at position {first['position']}: A {a} · B {b}")
    else:
        out.print("\nno divergence: the same events in the same order")
    _events(out, "only in A", "-", "red", info["only_in_a"])
    _events(out, "only in B", "+", "green", info["only_in_b"])
    if info["moved"]:
        out.print(Text(f"\nmoved ({len(info['moved'])}):", style="bold"))
        for m in info["moved"][:20]:
            out.print(
                Text(
                    f"  ~ {m['a']['label']}: A #{m['a']['position']}, B #{m['b']['position']}",
                    style="yellow",
                )
            )
    _conflicts(out, info["mapping_conflicts"])
    out.print(Text("\nwrites:", style="bold"))
    for name in ("a", "b"):
        writes = info[name]["writes"]
        out.print(f"  {name.upper()}: {', '.join(writes) if writes else '(none)'}")
    out.print(Text("\nwhat it means:", style="bold"))
    for sentence in info["explanation"]:
        out.print(f"  • {sentence}")


def _events(out: Console, title: str, mark: str, style: str, events: list[Any]) -> None:
    out.print(Text(f"\n{title} ({len(events)}):", style="bold"))
    for e in events[:40]:
        out.print(Text(f"  {mark} {e['position']:>5}  {e['label']}", style=style))
    if len(events) > 40:
        out.print(f"  … {len(events) - 40} more (use --format json)")


def _conflicts(out: Console, conflicts: list[dict[str, Any]]) -> None:
    if not conflicts:
        return
    out.print(Text("\ncorrelation mismatch (one id, different names):", style="bold"))
    for c in conflicts:
        at = f" (ordinal {c['ordinal']})" if c["ordinal"] is not None else ""
        a, b = (", ".join(n.rsplit("//", 1)[-1] for n in c[k]) for k in ("a", "b"))
        out.print(Text(f"  {c['short']}{at}  A: {a}  B: {b}", style="magenta"))
