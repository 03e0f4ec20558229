"""Ctrl+P: the command palette, with every run of the store and the screens of the current one.

Typing part of a run id, a workflow, a status or an error code finds the run; choosing it
opens the run (on its story, when it failed). The run list is read once per palette, in a
thread with a cursor of its own.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from forensics.tui import format as fmt

if TYPE_CHECKING:
    from forensics.tui.app import ForensicsApp

_RUNS = (
    "SELECT run_id, status, coalesce(error_code, '') AS error_code,"
    " coalesce(workflow_name, '') AS workflow FROM runs ORDER BY last_event_at DESC NULLS LAST"
)
_SCREENS = (
    ("replays", "the current run's replays, grouped by digest"),
    ("fences", "the current run's fence chain and what-if per design"),
    ("runs", "back to the runs list"),
    ("sql", "the SQL screen"),
)


class RunsProvider(Provider):
    """Runs by id, workflow, status and error code; screens of the current run."""

    async def startup(self) -> None:
        app = cast("ForensicsApp", self.app)

        def read() -> list[tuple[str, str, str, str]]:
            cur = app.cursor()
            try:
                return [tuple(map(str, r)) for r in cur.execute(_RUNS).fetchall()]  # type: ignore[misc]
            finally:
                cur.close()

        self.runs = await asyncio.to_thread(read)

    def _open(self, run_id: str) -> None:
        cast("ForensicsApp", self.app).open_run(run_id)

    def _screen(self, name: str) -> None:
        from forensics.tui.commands import parse_command

        cast("ForensicsApp", self.app).dispatch(parse_command(name))

    def _lines(self) -> list[tuple[str, str, partial[None]]]:
        out = [
            (f"run {run_id}", f"{status} {code} {fmt.short_name(wf)}".strip(),
             partial(self._open, run_id))
            for run_id, status, code, wf in self.runs
        ]  # fmt: skip
        out += [(f":{name}", about, partial(self._screen, name)) for name, about in _SCREENS]
        return out

    async def discover(self) -> Hits:
        for text, about, command in self._lines()[:40]:
            yield DiscoveryHit(text, command, help=about)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, about, command in self._lines():
            score = max(matcher.match(text), matcher.match(about) * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, help=about)
