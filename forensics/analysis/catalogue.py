"""The detector catalogue: every stable code, its family, worst severity, definition, example.

Detectors are registered here in the order their findings are listed. A detector's
definition is its function's docstring (one plain paragraph, as in Elle); `example` is the
one-line case the README shows. `--code` and the TUI read the codes from here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from importlib.metadata import entry_points
from typing import Any

from forensics.analysis import (
    rules_entity,
    rules_identity,
    rules_ids,
    rules_run,
    rules_sources,
    rules_time,
)
from forensics.analysis.hits import Hit
from forensics.analysis.scan import Scan


class Context:
    """What detectors share during one check: the scan and the suspect entities' events."""

    def __init__(self, scan: Scan) -> None:
        self.scan = scan

    @cached_property
    def entities(self) -> list[dict[str, Any]]:
        return rules_entity.entity_rows(self.scan)


@dataclass(frozen=True)
class Detector:
    code: str
    family: str
    severity: str
    function: Callable[..., list[Hit]]
    example: str
    uses_entities: bool = False

    def run(self, ctx: Context) -> list[Hit]:
        if self.uses_entities:
            return self.function(ctx.scan, ctx.entities)
        return self.function(ctx.scan)

    @property
    def definition(self) -> str:
        return " ".join((inspect.getdoc(self.function) or "").split())


def _d(
    code: str, family: str, severity: str, fn: Callable[..., list[Hit]], example: str
) -> Detector:
    uses = len(inspect.signature(fn).parameters) == 2
    return Detector(code, family, severity, fn, example, uses)


BUILTIN: tuple[Detector, ...] = (
    _d(
        "kind-prefix-mismatch",
        "lifecycle",
        "error",
        rules_entity.kind_prefix_mismatch,
        "a `step_started` whose correlation id is `wait_01M7…`",
    ),
    _d(
        "missing-creation",
        "lifecycle",
        "warning",
        rules_entity.missing_creation,
        "`step_started` for `step_01M7…RRH` with no `step_created` before it",
    ),
    _d(
        "event-after-terminal",
        "lifecycle",
        "error",
        rules_entity.event_after_terminal,
        "`step_started` arriving after the step's `step_completed` (issue #2331)",
    ),
    _d(
        "duplicate-creation",
        "lifecycle",
        "error",
        rules_entity.duplicate_creation,
        "a second `step_created` for `computeTax` stored after the step completed (#2039)",
    ),
    _d(
        "multiple-terminals",
        "lifecycle",
        "error",
        rules_entity.multiple_terminals,
        "two `step_completed` for one `fetchItem` after an at-least-once redelivery (#1434)",
    ),
    _d(
        "step-name-conflict",
        "identity",
        "error",
        rules_identity.step_name_conflict,
        "`step_created` twice for one id, as `drainQueue` and as `syncInventory`",
    ),
    _d(
        "token-mismatch",
        "identity",
        "error",
        rules_identity.token_mismatch,
        "`hook_received` carrying a token other than the hook's `hook_created`",
    ),
    _d(
        "resume-at-mismatch",
        "identity",
        "error",
        rules_identity.resume_at_mismatch,
        "`wait_completed` with resumeAt 09:06:48.797Z for a wait created with 09:06:48.798Z",
    ),
    _d(
        "hook-self-conflict",
        "identity",
        "error",
        rules_identity.hook_self_conflict,
        "`hook_created` then `hook_conflict` with token `approval:42` in one run (#2283)",
    ),
    _d(
        "stuck-step",
        "lifecycle",
        "warning",
        rules_entity.stuck_step,
        "two `step_started`, no `step_retrying`, no terminal, in a completed run (#4199)",
    ),
    _d(
        "run-lifecycle",
        "run",
        "error",
        rules_run.run_lifecycle,
        "`run_failed` after `run_completed`; a log without `run_created`",
    ),
    _d(
        "corrupted-log-error",
        "run",
        "error",
        rules_run.corrupted_log_error,
        "`run_failed` with CORRUPTED_EVENT_LOG naming `evnt_01KVD59BST…`, which exists",
    ),
    _d(
        "slot-hole",
        "run",
        "warning",
        rules_run.slot_hole,
        "a spec-6 log with slots 1-41 and 43-60: slot 42 is missing, not a `noop`",
    ),
    _d(
        "correlation-body-reuse",
        "ids",
        "error",
        rules_ids.correlation_body_reuse,
        "`step_01KSP9…MB2J` and `wait_01KSP9…MB2J` in one run",
    ),
    _d(
        "correlation-prefix-mismatch",
        "ids",
        "error",
        rules_ids.correlation_prefix_mismatch,
        "ids prefixed `01M7YNNAT4` in a run whose startedAt encodes as `01M7YNNASS`",
    ),
    _d(
        "ordinal-regression",
        "ids",
        "warning",
        rules_ids.ordinal_regression,
        "ordinal 3 created after a suspension that already wrote ordinal 5",
    ),
    _d(
        "seed-mismatch",
        "ids",
        "info",
        rules_ids.seed_mismatch,
        "bodies starting at `7Q0…` where the seed `runId:workflow:startedAt` gives `PTAKE…`",
    ),
    _d(
        "mint-commit-inversion",
        "timing",
        "warning",
        rules_time.mint_commit_inversion,
        "a `step_completed` committed 5 s after a later-sorted `step_created`",
    ),
    _d(
        "guard-blind-spot",
        "timing",
        "warning",
        rules_time.guard_blind_spot,
        "`hook_received` committed after a `step_created` that sorts after it",
    ),
    _d(
        "race-window",
        "timing",
        "warning",
        rules_time.race_window,
        "`hook_received` and `wait_completed` 5 ms apart, then the timeout branch's step",
    ),
    _d(
        "entity-event-mismatch",
        "sources",
        "warning",
        rules_sources.entity_event_mismatch,
        "a wait row `completed` with no `wait_completed` event (#4210)",
    ),
    _d(
        "conflicting-copies",
        "sources",
        "warning",
        rules_sources.conflicting_copies,
        "one event id with different eventData in a JSON export and a database dump",
    ),
)

PLUGIN_GROUP = "forensics.detectors"


@cache
def all_detectors() -> tuple[Detector, ...]:
    """The built-in detectors, then every tuple registered under `forensics.detectors`.

    Other packages (the replay engine among them) add detectors by entry point, so this
    package never imports them and the layering holds. Loaded on first use, not at import.
    """
    found = list(BUILTIN)
    for ep in sorted(entry_points(group=PLUGIN_GROUP), key=lambda ep: ep.name):
        found.extend(ep.load())
    return tuple(found)


def all_codes() -> tuple[str, ...]:
    return tuple(d.code for d in all_detectors())


def by_code() -> dict[str, Detector]:
    return {d.code: d for d in all_detectors()}
