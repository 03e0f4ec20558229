"""Timeline data on the bundled samples: lanes, phases, marks, resumeAt, thinning."""

from __future__ import annotations

import html
import re
from datetime import datetime

import duckdb

from forensics.report.timeline import (
    Lane,
    Mark,
    Phase,
    ResumeMark,
    TimelineInfo,
    payload_summary,
    timeline_info,
)
from forensics.report.timeline_figure import timeline_figure
from tests.report.conftest import DRAIN_SYNC, HOOK_AFTER_DISPOSED


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def test_lanes_of_the_drain_sync_run(con: duckdb.DuckDBPyConnection) -> None:
    info = timeline_info(con, DRAIN_SYNC)
    assert info.lanes == (
        Lane(0, None, "run", "run"),
        Lane(1, "hook_01KSP9BZCDHNR22RCXDDE6MB2F", "hook", "hook WyiNMOf2CpmEuCF-uNH5t …MB2F"),
        Lane(2, "step_01KSP9BZCDHNR22RCXDDE6MB2G", "step", "step registerCallback …MB2G"),
        Lane(3, "wait_01KSP9BZCDHNR22RCXDDE6MB2H", "wait", "wait until 03:22:09 …MB2H"),
        # one correlation id, two step names: both shown, in log order
        Lane(4, "step_01KSP9BZCDHNR22RCXDDE6MB2J", "step", "step drainQueue / syncInventory …MB2J"),
    )
    assert (info.event_count, info.lane_count, info.note) == (14, 5, None)


def test_phases_follow_the_lifecycle(con: duckdb.DuckDBPyConnection) -> None:
    info = timeline_info(con, DRAIN_SYNC)
    end = ms("2026-05-28T03:22:10.302Z")
    assert info.phases == (
        Phase(
            0, "queued", ms("2026-05-28T03:17:09.604Z"), ms("2026-05-28T03:17:09.646Z"), 1, 2, False
        ),
        Phase(0, "running", ms("2026-05-28T03:17:09.646Z"), end, 2, 14, False),
        # never disposed: open until the run's last event
        Phase(1, "hook open", ms("2026-05-28T03:17:09.697Z"), end, 3, 14, True),
        Phase(
            2,
            "pending",
            ms("2026-05-28T03:17:09.703Z"),
            ms("2026-05-28T03:17:09.730Z"),
            4,
            5,
            False,
        ),
        Phase(
            2,
            "running",
            ms("2026-05-28T03:17:09.730Z"),
            ms("2026-05-28T03:17:09.857Z"),
            5,
            6,
            False,
        ),
        Phase(
            3,
            "sleeping",
            ms("2026-05-28T03:17:09.885Z"),
            ms("2026-05-28T03:22:09.890Z"),
            7,
            9,
            False,
        ),
        # the second step_created (syncInventory) does not restart the pending phase
        Phase(
            4,
            "pending",
            ms("2026-05-28T03:22:09.902Z"),
            ms("2026-05-28T03:22:09.928Z"),
            10,
            12,
            False,
        ),
        Phase(
            4,
            "running",
            ms("2026-05-28T03:22:09.928Z"),
            ms("2026-05-28T03:22:10.269Z"),
            12,
            13,
            False,
        ),
    )
    # resumeAt fell after event 7 (the wait's creation) and before event 8
    assert info.resume_marks == (ResumeMark(3, ms("2026-05-28T03:22:09.881Z"), 7.5),)


def test_marks_carry_witnesses_and_payloads(con: duckdb.DuckDBPyConnection) -> None:
    witness = {"evnt_01KSP9N4KE696JQ7MBCVNHK30F": ["step-name-conflict"]}
    info = timeline_info(con, DRAIN_SYNC, witnesses=witness)
    assert [m.position for m in info.marks] == list(range(1, 15))
    assert info.marks[7] == Mark(
        1,
        8,
        "evnt_01KSP9N4JXABVJAZVNQ1HPWS34",
        "hook_received",
        ms("2026-05-28T03:22:09.885Z"),
        '{"batch":["sku-2291","sku-2292","sku-3310"]}',
        (),
    )
    assert [m for m in info.marks if m.witness_of] == [
        Mark(
            4,
            10,
            "evnt_01KSP9N4KE696JQ7MBCVNHK30F",
            "step_created",
            ms("2026-05-28T03:22:09.902Z"),
            "drainQueue",
            ("step-name-conflict",),
        ),
    ]


def test_webhook_requests_are_summarised(con: duckdb.DuckDBPyConnection) -> None:
    info = timeline_info(con, HOOK_AFTER_DISPOSED)
    received = [(m.position, m.detail) for m in info.marks if m.event_type == "hook_received"]
    url = "POST http://localhost:3210/.well-known/workflow/v1/webhook/kQLTuxpB5Yaldr50D6zn3"
    assert received == [(7, url), (15, url)]
    hook = [p for p in info.phases if p.lane == 1]
    # the late hook_received (#15) comes after the hook was disposed (#14): outside its phase
    assert [(p.phase, p.start_position, p.end_position, p.open) for p in hook] == [
        ("hook open", 3, 14, False)
    ]


def test_payload_summary() -> None:
    assert payload_summary("encr", None) == "payload encrypted"
    assert payload_summary("absent", None) == "no payload"
    assert payload_summary("ref", None) == "payload ref"
    assert payload_summary("devl", '{"a":"' + "x" * 120 + '"}') == '{"a":"' + "x" * 73 + "…"


def test_big_runs_are_thinned_by_lane_keeping_witnesses(con: duckdb.DuckDBPyConnection) -> None:
    witness = {"evnt_01KSP9BZF2XCZJFV7ZKS9GBAB3": ["x"]}
    info = timeline_info(con, DRAIN_SYNC, witnesses=witness, max_points=10)
    # 14 marks + 2 x 8 phases = 30 points: every 3rd lane, plus the run and witness lanes
    assert [ln.index for ln in info.lanes] == [0, 2, 3]
    assert info.lane_count == 5
    assert info.note == (
        "3 of 5 lanes drawn (every 3rd lane, plus the run and every lane with a finding"
        " witness): the run has 14 events"
    )
    assert {m.lane for m in info.marks} == {0, 2, 3}


def test_figure_draws_every_lane_and_the_toggle(con: duckdb.DuckDBPyConnection) -> None:
    fig = timeline_figure(timeline_info(con, DRAIN_SYNC))
    names = [t.name for t in fig.data]
    assert names[:5] == ["queued", "running", "pending", "hook open", "sleeping"]
    assert "wait resumeAt" in names
    assert list(fig.layout.yaxis.categoryarray) == [
        "run",
        "hook WyiNMOf2CpmEuCF-uNH5t …MB2F",
        "step registerCallback …MB2G",
        "wait until 03:22:09 …MB2H",
        "step drainQueue / syncInventory …MB2J",
    ]
    labels = [b.label for b in fig.layout.updatemenus[0].buttons]
    assert labels == ["x = createdAt", "x = log position"]


HOSTILE = '%{x}%{customdata:.2f}<a href="javascript:alert(1)">x</a>&amp;'
PLACEHOLDER = re.compile(r"%\{[^}]*\}")


def test_text_from_the_log_is_never_template_or_markup() -> None:
    """An event type or a lane label holding `%{…}` or HTML is shown as written: the only
    placeholders in a hovertemplate are the figure's own, and no tag from the data is live."""
    info = TimelineInfo(
        run_id="wrun_X",
        event_count=2,
        lane_count=2,
        lanes=(Lane(0, None, "run", "run"), Lane(1, "step_1", "step", "step " + HOSTILE)),
        phases=(Phase(1, "running", 1_000, 2_000, 0, 1, False),),
        marks=(
            Mark(0, 0, "evnt_" + HOSTILE, HOSTILE, 1_000, HOSTILE, ("CODE",)),
            Mark(1, 1, "evnt_2", "step_started", 2_000, "", ()),
        ),
        resume_marks=(ResumeMark(1, 1_500, 0.5),),
        note=None,
    )
    fig = timeline_figure(info)
    own = {"%{customdata}", "%{y}", "%{x}", "%{text}"}
    for trace in fig.data:
        template = trace.hovertemplate or ""
        assert set(PLACEHOLDER.findall(template)) <= own, template
        texts = [trace.name or "", template]
        texts += [
            *(() if trace.text is None else trace.text),
            *(() if trace.y is None else trace.y),
        ]
        for text in texts:
            assert "<a" not in str(text) and "&amp;<" not in str(text), text
    hostile = next(t for t in fig.data if t.hovertemplate and "alert" in t.hovertemplate)
    # what plotly shows once it has turned the entities back into characters
    assert HOSTILE in html.unescape(hostile.hovertemplate)
    assert html.unescape(hostile.name) == HOSTILE
    assert html.unescape(fig.layout.yaxis.categoryarray[1]) == "step " + HOSTILE
