"""Colours, symbols and layout defaults every report figure shares, so one look carries over.

Event types keep the same colour in every figure (created blue, started amber, completed
green, failed red, hook payloads purple); findings are always drawn in one alarm colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

ALARM = "#d62728"
MUTED = "#9aa0a6"
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"

EVENT_COLOURS = {
    "run_created": "#1f4e79",
    "run_started": "#2e75b6",
    "run_completed": "#2ca02c",
    "run_failed": ALARM,
    "run_cancelled": "#7f7f7f",
    "workflow_started": "#2e75b6",
    "workflow_completed": "#2ca02c",
    "workflow_failed": ALARM,
    "step_created": "#1f77b4",
    "step_started": "#ff9f1c",
    "step_retrying": "#e377c2",
    "step_completed": "#2ca02c",
    "step_failed": "#b5121b",
    "hook_created": "#17becf",
    "hook_conflict": "#8c564b",
    "hook_received": "#9467bd",
    "hook_disposed": "#5b5b5b",
    "wait_created": "#bcbd22",
    "wait_completed": "#6b8e23",
    "attr_set": "#aaaaaa",
    "noop": "#cccccc",
}
PHASE_COLOURS = {
    "queued": "#d9d9d9",
    "running": "#fdd49e",
    "pending": "#c6dbef",
    "retrying": "#f4b6d9",
    "hook open": "#b7ebf1",
    "sleeping": "#e5e5b0",
}
OUTCOME_COLOURS = {
    "completed": "#2ca02c",
    "suspended": "#1f77b4",
    "failed": ALARM,
    "unknown": MUTED,
}
VERDICT_COLOURS = {"ok": "#2ca02c", "anomalous": ALARM, "inconclusive": "#ff9f1c"}
SEVERITY_COLOURS = {"error": ALARM, "warning": "#ff9f1c", "info": "#1f77b4"}
SYMBOLS = {
    "created": "circle",
    "started": "triangle-right",
    "retrying": "triangle-left",
    "completed": "square",
    "failed": "x",
    "received": "star",
    "disposed": "square-open",
    "conflict": "x-open",
}


def f8(values: Sequence[float | int | None]) -> np.ndarray:
    """Numbers as float64 (None → NaN, a gap): plotly writes such arrays as compact base64."""
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def f4(values: Sequence[float | int | None]) -> np.ndarray:
    """Positions and ranks (exact below 2**24) as float32, None → NaN: half the bytes of f8."""
    return np.array([np.nan if v is None else v for v in values], dtype=np.float32)


def esc(value: object) -> str:
    """Text from a log for a plotly hover or label: plotly reads a subset of HTML there
    (`<a href>`, `<b>`, `<br>`), so `&`, `<` and `>` are written as entities."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def esc_template(value: object) -> str:
    """Text from a log placed inside a plotly hovertemplate: `esc`, and `%` as a numeric
    entity too, so `%{y}` or `%{x:…}` in the data is shown as written, never filled in
    (plotly fills the template first, then turns entities back into characters)."""
    return esc(value).replace("%", "&#37;")


def strs(values: Sequence[str | None]) -> np.ndarray:
    """Labels as an object array: plotly checks it at once instead of item by item."""
    return np.array(values, dtype=object)


def event_colour(event_type: str) -> str:
    return EVENT_COLOURS.get(event_type, MUTED)


def event_symbol(event_type: str) -> str:
    return SYMBOLS.get(event_type.rsplit("_", 1)[-1], "circle-open")


def base_layout(title: str, *, height: int = 420, **more: Any) -> dict[str, Any]:
    """The layout every figure starts from: a plain white theme, legend on top."""
    layout: dict[str, Any] = {
        "title": {"text": title, "x": 0, "xref": "paper", "xanchor": "left", "font": {"size": 16}},
        "template": "plotly_white",
        "font": {"family": FONT, "size": 12},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 60, "b": 50},
        "legend": {"orientation": "v", "yanchor": "top", "y": 1, "x": 1.01, "xanchor": "left"},
        "hoverlabel": {"align": "left"},
    }
    layout.update(more)
    return layout


def add_note(fig: go.Figure, text: str | None) -> None:
    """Write a sampling or aggregation note on the figure itself (also in PNG/SVG exports)."""
    if not text:
        return
    fig.update_layout(margin_b=100)
    fig.add_annotation(
        text=text,
        xref="paper",
        yref="paper",
        x=0,
        y=0,
        yshift=-62,
        yanchor="top",
        xanchor="left",
        showarrow=False,
        font={"size": 12, "color": "#8a4b00"},
        bgcolor="#fff4e0",
        borderpad=4,
    )


def axis_toggle(
    axis: str, first: tuple[str, str, str], second: tuple[str, str, str]
) -> dict[str, Any]:
    """Two buttons that swap every trace's `axis` data with its `customdata` and back.

    Each mode is (label, axis type, axis title). The swap runs in the page's own script
    (`page.py`), so the second set of values is stored once, as the customdata the hover
    already shows, not again in the buttons.
    """

    def button(label: str, kind: str, title: str, use: str) -> dict[str, Any]:
        spec = {"axis": axis, "use": use, "type": kind, "title": title}
        return {"label": label, "method": "skip", "args": [spec]}

    return {
        "type": "buttons",
        "direction": "right",
        "x": 1.0,
        "xanchor": "right",
        "y": 1.0,
        "yanchor": "bottom",
        "pad": {"t": 0, "b": 6},
        "showactive": True,
        "buttons": [button(*first, use="data"), button(*second, use="customdata")],
    }
