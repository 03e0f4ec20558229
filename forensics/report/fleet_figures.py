"""Drawing the fleet report's infos: each function takes one info and only draws it."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.colors import qualitative

from forensics.report._query import plural, short_name
from forensics.report.fleet import EVENT_CAP, EventCountInfo, StatusVerdictInfo, WorkflowRate
from forensics.report.fleet_findings import FindingsOverTimeInfo, StepTiming
from forensics.report.style import ALARM, MUTED, VERDICT_COLOURS, base_layout, esc, esc_template

_CODE_COLOURS = tuple(qualitative.Dark24)  # one colour per code, 24 before any repeats


def _empty(fig: go.Figure, text: str) -> go.Figure:
    """A figure with nothing to draw says why, in its middle."""
    fig.add_annotation(
        text=text,
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
        showarrow=False,
        font={"size": 14, "color": MUTED},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(height=220)
    return fig


def findings_over_time_figure(info: FindingsOverTimeInfo) -> go.Figure:
    """Stacked bars: findings per code per hour, day or week of their first witness."""
    fig = go.Figure()
    fig.update_layout(**base_layout(f"Findings by code per {info.unit}", height=420))
    if not info.total:
        return _empty(fig, "no stored findings: run `forensics check` first")
    for i, code in enumerate(info.codes):
        fig.add_trace(
            go.Bar(
                name=esc(code),
                x=list(info.buckets),
                y=list(info.counts[i]),
                marker_color=_CODE_COLOURS[i % len(_CODE_COLOURS)],
                hovertemplate=f"<b>{esc_template(code)}</b><br>%{{x}}: %{{y}}<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(type="date", title_text=f"{info.unit} of the first witness event (UTC)")
    fig.update_yaxes(title_text="findings")
    return fig


def runs_by_status_figure(info: StatusVerdictInfo) -> go.Figure:
    """Stacked bars: runs per status, coloured by verdict."""
    fig = go.Figure()
    for i, verdict in enumerate(info.verdicts):
        fig.add_trace(
            go.Bar(
                name=esc(verdict),
                x=list(info.statuses),
                y=list(info.counts[i]),
                marker_color=VERDICT_COLOURS.get(verdict, MUTED),
                text=list(info.counts[i]),
                textposition="outside",
                hovertemplate=f"{esc_template(verdict)}<br>%{{x}}: %{{y}} runs<extra></extra>",
                showlegend=True,
            )
        )
    fig.update_layout(**base_layout("Runs by status and verdict", height=380), barmode="group")
    _log_if_skewed(fig, [n for row in info.counts for n in row], "runs")
    return fig


def _log_if_skewed(fig: go.Figure, values: Sequence[int], title: str) -> None:
    """A log count axis when the largest bar would flatten the smallest to nothing."""
    shown = [v for v in values if v > 0]
    if shown and max(shown) > 50 * min(shown):
        fig.update_yaxes(type="log", title_text=f"{title} (log scale)")
    else:
        fig.update_yaxes(title_text=title)


def event_count_figure(info: EventCountInfo) -> go.Figure:
    """Runs per event-count bin; the upstream 25,000-event cap marked in red."""
    labels = [_bin_label(lo, hi) for lo, hi in zip(info.edges, info.edges[1:], strict=False)]
    colours = [ALARM if lo >= EVENT_CAP else "#1f77b4" for lo in info.edges[:-1]]
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=list(info.runs),
            marker_color=colours,
            text=[n or "" for n in info.runs],
            textposition="outside",
            hovertemplate="%{x} events: %{y} runs<extra></extra>",
            showlegend=False,
        )
    )
    title = f"Events per run: {plural(info.at_cap, 'run')} at the 25,000-event cap"
    fig.update_layout(**base_layout(title, height=380))
    fig.add_vline(
        x=len(labels) - 1.5,
        line={"color": ALARM, "dash": "dash"},
        annotation_text="upstream cap: 25,000 events",
        annotation_position="top left",
        annotation_font_color=ALARM,
    )
    fig.update_xaxes(title_text="events in the run's log", type="category")
    _log_if_skewed(fig, info.runs, "runs")
    return fig


def _bin_label(lo: int, hi: int) -> str:
    if lo >= EVENT_CAP:
        return f"≥{lo:,}"
    return f"{lo:,}–{hi - 1:,}"


def workflow_anomaly_figure(rates: Sequence[WorkflowRate]) -> go.Figure:
    """Horizontal bars: the share of analysed runs found anomalous, per workflow."""
    fig = go.Figure()
    fig.update_layout(
        **base_layout("Anomalous runs per workflow", height=max(320, 120 + 28 * len(rates)))
    )
    if not any(r.analysed for r in rates):
        return _empty(fig, "no run analysed yet: run `forensics check` first")
    shown = list(reversed(rates))
    fig.add_trace(
        go.Bar(
            x=[round(100 * r.rate, 1) for r in shown],
            y=[esc(short_name(r.workflow_name)) for r in shown],
            orientation="h",
            marker_color=[ALARM if r.anomalous else "#2ca02c" for r in shown],
            text=[f"{100 * r.rate:.1f}% ({r.anomalous:,} of {r.analysed:,})" for r in shown],
            textposition="outside",
            customdata=[[r.anomalous, r.analysed, r.runs, r.inconclusive] for r in shown],
            hovertemplate="%{y}: %{x}% anomalous<br>%{customdata[0]} of %{customdata[1]}"
            " analysed runs (%{customdata[2]} runs, %{customdata[3]} inconclusive)<extra></extra>",
            showlegend=False,
        )
    )
    top = max(100 * r.rate for r in rates)
    fig.update_xaxes(
        title_text="% of analysed runs found anomalous", range=[0, max(5.0, top * 1.35)]
    )
    return fig


def slowest_steps_figure(steps: Sequence[StepTiming]) -> go.Figure:
    """Grouped horizontal bars of p50, p95 and max running time per step name."""
    fig = go.Figure()
    fig.update_layout(
        **base_layout(
            "Slowest steps (running time: first start to terminal)",
            height=max(320, 120 + 34 * len(steps)),
        )
    )
    if not steps:
        return _empty(fig, "no step has both a start and a terminal event")
    shown = list(reversed(steps))
    names = [esc(short_name(s.step_name)) for s in shown]  # step names come from the log
    for label, values, colour in (
        ("p50", [s.p50_ms for s in shown], "#9ecae1"),
        ("p95", [s.p95_ms for s in shown], "#3182bd"),
        ("max", [s.max_ms for s in shown], "#08519c"),
    ):
        fig.add_trace(
            go.Bar(
                name=label,
                x=values,
                y=names,
                orientation="h",
                marker_color=colour,
                customdata=[[s.steps, esc(s.slowest_run_id)] for s in shown],
                hovertemplate=f"%{{y}} {label}: %{{x:,}} ms<br>%{{customdata[0]}} steps;"
                " slowest in %{customdata[1]}<extra></extra>",
            )
        )
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text="milliseconds (log scale)", type="log")
    return fig
