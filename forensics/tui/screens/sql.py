"""SQL over the store: the canned queries on the left, an editor, results in a table.

Choosing a canned query puts its SQL in the editor and its parameters (defaults filled in,
the current run for a run parameter) in the line below; Ctrl+Enter runs what the editor
holds in a worker, binding the `$name` parameters it uses; Ctrl+E writes the whole result
to CSV, JSON or Parquet. The store is open read-only, so nothing here can change it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import duckdb
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, Input, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from forensics.errors import UsageError
from forensics.queries import CannedQuery, load_queries
from forensics.tui.handoff import hand_over
from forensics.tui.screens.base import ForensicsScreen
from forensics.tui.screens.export import ExportScreen, export_sql
from forensics.tui.sources import ListSource
from forensics.tui.widgets.paged_table import Column, PagedTable, plain

MAX_ROWS = 10_000  # rows held for the table; an export writes them all
_PLACEHOLDER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_DEFAULT_SQL = "SELECT status, count(*) AS runs FROM runs GROUP BY status ORDER BY runs DESC"


def parse_params(text: str) -> dict[str, str]:
    """`name=value name2=value` (values without spaces) to a dict; bad words are errors."""
    out: dict[str, str] = {}
    for word in text.split():
        name, sep, value = word.partition("=")
        if not sep or not name:
            raise UsageError(f"parameter {word!r} is not NAME=VALUE", hint="e.g. run_id=wrun_…")
        out[name] = value
    return out


def bound(sql: str, given: dict[str, str]) -> dict[str, Any]:
    """The parameters `sql` uses, from `given`; one it uses but was not given is an error."""
    used = list(dict.fromkeys(_PLACEHOLDER.findall(sql)))
    missing = [name for name in used if name not in given]
    if missing:
        raise UsageError(
            f"the query uses ${', $'.join(missing)} but no value was given",
            hint=f"fill the parameters line: {' '.join(f'{m}=…' for m in missing)}",
        )
    return {name: (None if given[name] == "null" else given[name]) for name in used}


def canned_params(query: CannedQuery, run_id: str | None) -> str:
    """The parameters line for `query`: defaults, and the current run for a run id."""
    words = []
    for param in query.params:
        value = param.default
        if param.name in ("run_id", "run") and run_id:
            value = run_id
        words.append(f"{param.name}={value if value is not None else ''}")
    return " ".join(words)


def result_columns(names: list[str], rows: list[tuple[Any, ...]]) -> list[Column]:
    """Columns as wide as their title and first values need (up to 40 cells)."""
    columns = []
    for i, name in enumerate(names):
        width = max([len(name)] + [len(plain(r[i])) for r in rows[:200]])
        numeric = bool(rows) and isinstance(rows[0][i], int | float)
        columns.append(Column(name, name, min(max(width, 3), 40), "right" if numeric else "left"))
    return columns


class SqlScreen(ForensicsScreen):
    """Canned queries, an editor and a result table."""

    CSS_PATH = "sql.tcss"
    AUTO_FOCUS = "#sql-editor"
    HELP = (
        "SQL over the store (read-only). Tables: events, run_log (one copy per event, in "
        "log order, with log_position), runs, run_records, entities, findings, run_verdicts, "
        "imports, quarantine. Enter on a canned query loads it; Ctrl+Enter (or Ctrl+J) runs "
        "the editor; parameters are $name in the SQL and name=value in the line below it."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+enter,ctrl+j", "run", "Run", priority=True),
        Binding("ctrl+e", "export", "Export", priority=True),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, text: str | None = None, *, run_id: str | None = None) -> None:
        super().__init__()
        self.run_id = run_id
        self.initial = text
        self.queries = load_queries()
        self.last: tuple[str, dict[str, Any]] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="sql-top"):
            yield OptionList(
                *[Option(Text(q.title), id=name) for name, q in self.queries.items()],
                id="sql-queries",
            )
            with Vertical(id="sql-edit"):
                yield TextArea(self.initial or _DEFAULT_SQL, id="sql-editor", soft_wrap=True)
                yield Input(placeholder="parameters: name=value …", id="sql-params")
        yield Static("Ctrl+Enter runs the query", id="sql-status", markup=False)
        yield PagedTable(self.forensics.cursor, id="sql-results")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()
        if self.initial:
            self.action_run()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        query = self.queries.get(event.option.id or "")
        if query is not None:
            params = ", ".join(p.name for p in query.params) or "none"
            text = f"{query.name}: {query.description} (parameters: {params}) · Enter loads it"
            self.query_one("#sql-status", Static).update(text)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        query = self.queries.get(event.option.id or "")
        if query is None:
            return
        editor = self.query_one(TextArea)
        editor.load_text(query.sql.strip())
        self.query_one("#sql-params", Input).value = canned_params(query, self.run_id)
        editor.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_run()

    def _statement(self) -> tuple[str, dict[str, Any]]:
        sql = self.query_one(TextArea).text.strip().rstrip(";").strip()
        if not sql:
            raise UsageError("the editor is empty", hint="type a query, or pick a canned one")
        given = parse_params(self.query_one("#sql-params", Input).value)
        return sql, bound(sql, given)

    def action_run(self) -> None:
        try:
            sql, params = self._statement()
        except UsageError as exc:
            self.forensics.show_error(exc)
            return
        self.query_one("#sql-status", Static).update("running…")
        self.query_one(PagedTable).busy = True
        self.run_query(sql, params)

    @work(thread=True, exclusive=True, group="sql", exit_on_error=False)
    def run_query(self, sql: str, params: dict[str, Any]) -> None:
        cur = self.forensics.cursor()
        try:
            result = cur.execute(sql, params or None)
            names = [d[0] for d in result.description or ()]
            rows = result.fetchmany(MAX_ROWS + 1) if names else []
        finally:
            cur.close()
        hand_over(self, self._show, sql, params, names, rows)

    def _show(self, sql: str, params: dict[str, Any], names: list[str], rows: list[Any]) -> None:
        self.last = (sql, params)
        more = len(rows) > MAX_ROWS
        rows = rows[:MAX_ROWS]
        table = self.query_one(PagedTable)
        table.set_columns(result_columns(names, rows))
        table.set_source(ListSource(tuple(names), tuple(rows)))
        if not names:
            status = "done (the statement returned no rows)"
        elif more:
            status = f"first {MAX_ROWS:,} rows shown · Ctrl+E exports them all"
        else:
            status = f"{len(rows):,} row{'s' * (len(rows) != 1)} · Ctrl+E exports"
        self.query_one("#sql-status", Static).update(status)

    def on_worker_state_changed(self, event: Any) -> None:
        super().on_worker_state_changed(event)
        if event.worker.group == "sql" and event.worker.error is not None:
            self.query_one(PagedTable).busy = False
            self.query_one("#sql-status", Static).update("the query failed")

    def action_export(self) -> None:
        if self.last is None:
            hint = "run a query with Ctrl+Enter first"
            self.forensics.show_error(UsageError("nothing to export yet", hint=hint))
            return
        self.app.push_screen(ExportScreen(), self._export_to)

    def _export_to(self, path: Path | None) -> None:
        if path is not None and self.last is not None:
            self.export(self.last[0], self.last[1], path)

    @work(thread=True, group="export", exit_on_error=False)
    def export(self, sql: str, params: dict[str, Any], path: Path) -> None:
        cur = self.forensics.cursor()
        try:
            export_sql(cur, sql, params, path)
            rows = cur.execute(f"SELECT count(*) FROM ({sql})", params or None).fetchone()
        except duckdb.Error as exc:
            raise UsageError(
                f"cannot export: {str(exc).splitlines()[0]}",
                hint="only a query that returns rows can be exported; check the path",
            ) from exc
        finally:
            cur.close()
        written = int(rows[0]) if rows else 0
        hand_over(self, self.notify, f"wrote {written:,} rows to {path}")
