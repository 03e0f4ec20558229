"""The one HTML builder: a self-contained page of sections, figures, tables and finding cards.

A page is plain data (`Page` of `Section`s) rendered to one HTML file with plotly.js inlined
once in the head, so it opens offline and makes no network request. Every text that comes
from a log is escaped here, in one place; sections carry anchors so findings can link to the
figures that show them.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from forensics.errors import InputError

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "scrollZoom": False}

# Axis buttons (style.axis_toggle) swap each trace's axis data with its customdata and back;
# the originals are kept on the plot div the first time.
_TOGGLE_JS = """
function forensicsPlot(id, fig, config) {
  var gd = document.getElementById(id);
  return Plotly.newPlot(gd, fig.data, fig.layout, config).then(function () {
    gd.on('plotly_buttonclicked', function (ev) {
      var spec = ev.button && ev.button.args && ev.button.args[0];
      if (!spec || !spec.axis) { return; }
      var full = {};
      gd._fullData.forEach(function (t) { full[t.index] = t; });
      var key = '_forensics_' + spec.axis;
      if (!gd[key]) { gd[key] = gd.data.map(function (t, i) { return full[i][spec.axis]; }); }
      var values = gd.data.map(function (t, i) {
        var alt = full[i].customdata;
        return spec.use === 'customdata' && alt && alt.length ? alt : gd[key][i];
      });
      var update = {};
      update[spec.axis] = values;
      var layout = {};
      layout[spec.axis + 'axis.type'] = spec.type;
      layout[spec.axis + 'axis.title.text'] = spec.title;
      layout[spec.axis + 'axis.autorange'] = true;
      Plotly.update(gd, update, layout);
    });
  });
}
"""


@dataclass(frozen=True, slots=True)
class Link:
    text: str
    href: str


Cell = str | int | float | Link | None


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class Card:
    """A finding (or any item that wants a badge, a text and links to figures)."""

    anchor: str
    badge: str
    colour: str
    title: str
    body: tuple[str, ...]
    links: tuple[Link, ...] = ()


@dataclass(frozen=True, slots=True)
class Section:
    anchor: str
    title: str
    intro: str = ""
    figures: tuple[go.Figure, ...] = ()
    tables: tuple[Table, ...] = ()
    cards: tuple[Card, ...] = ()


@dataclass(frozen=True, slots=True)
class Page:
    title: str
    facts: tuple[tuple[str, Cell], ...]
    sections: tuple[Section, ...]
    generated_at: str
    footer: tuple[str, ...] = field(default=())


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;
 margin:0;color:#1d1d1f;background:#fafafa;line-height:1.45}
header{background:#1f2933;color:#fff;padding:18px 28px}
header h1{margin:0 0 10px;font-size:20px;font-weight:600;word-break:break-all}
header dl{display:grid;grid-template-columns:max-content auto;gap:3px 18px;margin:0;font-size:13px}
header dt{color:#9fb3c8}header dd{margin:0;word-break:break-all}
nav{background:#fff;border-bottom:1px solid #ddd;padding:8px 28px;font-size:13px;
 position:sticky;top:0;z-index:10}
nav a{margin-right:16px;color:#1f5fa8;text-decoration:none}
main{padding:8px 28px 40px;max-width:1500px}
section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;margin:18px 0;
 padding:14px 18px}
section h2{font-size:17px;margin:0 0 6px}
p.intro{margin:0 0 10px;color:#444;font-size:13.5px;max-width:1100px}
table{border-collapse:collapse;font-size:12.5px;margin:8px 0 4px}
th,td{border-bottom:1px solid #eee;padding:4px 10px 4px 0;text-align:left;vertical-align:top}
th{color:#555;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:6px 0;font-size:13px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.card{border-left:5px solid #999;padding:8px 12px;margin:10px 0;background:#fcfcfc}
.card h3{margin:0 0 4px;font-size:14.5px}
.badge{display:inline-block;color:#fff;border-radius:3px;padding:0 6px;margin-right:8px;
 font-size:11.5px;text-transform:uppercase;letter-spacing:.03em}
.card p{margin:4px 0;font-size:13px;max-width:1100px}
.card .links a{margin-right:12px;font-size:12.5px}
footer{color:#777;font-size:12px;padding:0 28px 28px}
"""


def render_page(page: Page) -> str:
    """The whole HTML document as text."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(page.title)}</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<style>{_CSS}</style>",
        f'<script type="text/javascript">{get_plotlyjs()}</script>',
        f'<script type="text/javascript">{_TOGGLE_JS}</script>',
        "</head><body>",
        _header(page),
        _nav(page.sections),
        "<main>",
        *(_section(s) for s in page.sections),
        "</main>",
        "<footer>" + "".join(f"<p>{_e(t)}</p>" for t in page.footer) + "</footer>",
        "</body></html>",
    ]
    return "\n".join(parts)


def write_page(page: Page, path: Path) -> Path:
    """Write the page to `path` (parent folders must exist); returns the path."""
    try:
        path.write_text(render_page(page), encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"cannot write the report to {path}: {exc.strerror or exc}",
            hint="check that the folder exists and is writable, or pass another -o",
        ) from exc
    return path


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _header(page: Page) -> str:
    facts = "".join(f"<dt>{_e(k)}</dt><dd>{_cell(v)}</dd>" for k, v in page.facts)
    facts += f"<dt>generated</dt><dd>{_e(page.generated_at)}</dd>"
    return f"<header><h1>{_e(page.title)}</h1><dl>{facts}</dl></header>"


def _nav(sections: Sequence[Section]) -> str:
    links = "".join(f'<a href="#{_e(s.anchor)}">{_e(s.title)}</a>' for s in sections)
    return f"<nav>{links}</nav>"


def _section(s: Section) -> str:
    out = [f'<section id="{_e(s.anchor)}"><h2>{_e(s.title)}</h2>']
    if s.intro:
        out.append(f'<p class="intro">{_e(s.intro)}</p>')
    out += [_card(c) for c in s.cards]
    for i, fig in enumerate(s.figures):
        out.append(figure_html(fig, f"fig-{s.anchor}" + (f"-{i + 1}" if i else "")))
    out += [_table(t) for t in s.tables]
    out.append("</section>")
    return "\n".join(out)


def figure_html(fig: go.Figure, div_id: str) -> str:
    """A div and the script that draws `fig` in it (data as compact JSON, typed arrays base64).

    `</` is escaped inside the JSON so that text from a log can never close the script.
    """
    text = pio.to_json(fig, validate=False, engine="orjson").replace("</", "<\\/")
    height = fig.layout.height or 450
    config = orjson.dumps(PLOTLY_CONFIG).decode()
    return (
        f'<div id="{_e(div_id)}" class="plotly-graph-div" style="height:{int(height)}px;'
        f' width:100%;"></div>\n<script type="text/javascript">'
        f'forensicsPlot("{_e(div_id)}", {text}, {config});</script>'
    )


def _card(c: Card) -> str:
    body = "".join(f"<p>{_e(p)}</p>" for p in c.body)
    links = "".join(f'<a href="{_e(a.href)}">{_e(a.text)}</a>' for a in c.links)
    return (
        f'<div class="card" id="{_e(c.anchor)}" style="border-left-color:{_e(c.colour)}">'
        f'<h3><span class="badge" style="background:{_e(c.colour)}">{_e(c.badge)}</span>'
        f"{_e(c.title)}</h3>{body}"
        + (f'<div class="links">{links}</div>' if links else "")
        + "</div>"
    )


def _table(t: Table) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in t.columns)
    rows = "".join("<tr>" + "".join(_td(v) for v in row) + "</tr>" for row in t.rows)
    caption = f"<caption>{_e(t.caption)}</caption>" if t.caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _td(value: Cell) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'<td class="num">{_cell(value)}</td>'
    return f"<td>{_cell(value)}</td>"


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, Link):
        return f'<a href="{_e(value.href)}">{_e(value.text)}</a>'
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return _e(value)
