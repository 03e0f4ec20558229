"""Which run a command-line argument means: the one resolver every command and the TUI use.

A run is named by its full id or by any part of it that only one run's id contains, case
aside (`763nw`, `01KSNV`, the end a table shows). Runs are the ids of run records, of logged
events and of traced replays, so a run known only from its traces resolves too. Two or more
matches are a usage error listing them; none names the closest ids.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from heapq import nlargest
from typing import TYPE_CHECKING

from forensics.errors import InputError, UsageError

if TYPE_CHECKING:
    from forensics.store import Store

SHOWN = 10  # candidates an ambiguous argument lists
CLOSEST = 3  # ids a missing one suggests

_ALL_IDS = """
SELECT run_id FROM run_records UNION SELECT run_id FROM events{traces}
"""
_MATCHES = """
SELECT run_id, count(*) OVER () AS n FROM ({ids}) ids
WHERE contains(lower(run_id), lower($t)) ORDER BY lower(run_id) = lower($t) DESC, run_id
LIMIT {limit}
"""


def _ids_sql(store: Store) -> str:
    has_traces = store.con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'trace_replays'"
    ).fetchall()[0][0]
    return _ALL_IDS.format(traces=" UNION SELECT run_id FROM trace_replays" if has_traces else "")


def resolve_run(store: Store, text: str) -> str:
    """The full run id `text` names: a full id, or a part only one run id contains."""
    wanted = text.strip()
    if not wanted:
        raise UsageError("an empty run id names no run", hint="list runs with `forensics runs`")
    ids = _ids_sql(store)
    rows = store.con.execute(_MATCHES.format(ids=ids, limit=SHOWN + 1), {"t": wanted}).fetchall()
    if rows and str(rows[0][0]).lower() == wanted.lower():
        return str(rows[0][0])  # a full id, even when it is part of a longer one
    if len(rows) == 1:
        return str(rows[0][0])
    if rows:
        total = int(rows[0][1])
        shown = ", ".join(str(r[0]) for r in rows[:SHOWN])
        more = f" (first {SHOWN} of {total})" if total > SHOWN else ""
        raise UsageError(
            f"{text!r} matches {total} runs: {shown}{more}",
            hint="give more of the run id (any part of it that only one run has)",
        )
    known = [str(r[0]) for r in store.con.execute(ids).fetchall()]
    closest = closest_ids(known, wanted)
    if closest:
        said = f"; did you mean {' or '.join(closest)}?"
    else:
        said = "" if known else " (the store holds no runs)"
    raise InputError(
        f"no run {text!r} in the store{said}",
        hint="list runs with `forensics runs`",
    )


def run_ids_containing(store: Store, text: str, *, limit: int = 200) -> list[str]:
    """The run ids that contain `text` (any case), in order: what shell completion offers."""
    rows = store.con.execute(
        f"SELECT run_id FROM ({_ids_sql(store)}) ids WHERE contains(lower(run_id), lower($t))"
        f" ORDER BY run_id LIMIT {int(limit)}",
        {"t": text},
    ).fetchall()
    return [str(r[0]) for r in rows]


def closest_ids(ids: list[str], text: str, n: int = CLOSEST) -> list[str]:
    """The ids that look most like `text`: the longest stretch in common, then similarity
    (the kind prefix `wrun_` aside, which every run id shares)."""
    needle = _body(text)

    def score(run_id: str) -> tuple[int, float]:
        body = _body(run_id)
        matcher = SequenceMatcher(None, needle, body, autojunk=False)
        longest = matcher.find_longest_match(0, len(needle), 0, len(body)).size
        return longest, matcher.ratio()

    ranked = nlargest(n, ((score(i), i) for i in ids))
    return [run_id for (longest, _), run_id in ranked if longest >= min(3, len(needle))]


def _body(run_id: str) -> str:
    kind, sep, body = run_id.lower().partition("_")
    return body if sep and kind.isalpha() else run_id.lower()
