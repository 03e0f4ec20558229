"""The real world-postgres dump imports into the same logs as the world-local copy.

The capture ran the same scenarios against both worlds (`tests/data/realdata/README.md`), so
every postgres run has a world-local twin. Pairing rule: within each scenario's driver
summary (`runs-<world>-<scenario>.json`), runs are keyed by workflow name and arguments
with the host's run label (`<world>-<scenario>-<token>`) neutralised; runs sharing a key
(e.g. the three identical parallelWorkflow runs) pair up in run-id (creation) order.

Twins must agree on: event types in log order; each entity's lifecycle, entities being
numbered by their correlation-id ordinal (body minus the run's smallest body); per event,
payload field and format; eventData and decoded payloads after neutralising what the
capture itself makes differ between worlds: the run label, ids minted per run (run and
stream ids, generated webhook tokens), wall-clock times, the deployment id, the order
amounts derived from the label's length, and stack frames below an error's first line
(each world's scheduler shows up there). The postgres import must also equal, exactly and
per event, what `workflow inspect --withData` showed for that world.
"""

from __future__ import annotations

import json
import re
import tarfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from forensics.decode import PAYLOAD_FIELDS, cli_view
from forensics.model import ImportSummary
from forensics.store import Store
from tests.postgres.conftest import REALDATA_PG

pytestmark = pytest.mark.postgres

REALDATA = REALDATA_PG.parent
SCENARIOS = ("main", "extras", "recover", "pending")
LABEL = re.compile(r"(?:local|postgres)-(?:main|extras|crash|recover|pending)-mwq6[0-9a-z]{4}")
MASKS = (
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"), "<time>"),
    (re.compile(r"(?:wrun|strm)_[0-9A-Z]{26}"), "<id>"),
    (re.compile(r"(?<![\w-])[A-Za-z0-9_-]{21}(?![\w-])"), "<token>"),
    (re.compile(r"(receipt:[^:]+):[0-9.]+"), r"\1:<total>"),
)
DERIVED_KEYS = {"amount", "tax", "deploymentId"}
B32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
COLUMNS = "event_id, event_type, correlation_id, event_data, payload_field, payload_format,"
COLUMNS += " payload_decoded, created_at"


def neutral(value: Any, key: str | None = None) -> Any:
    """`value` with the between-world differences of the module docstring neutralised."""
    if key in DERIVED_KEYS:
        return "<derived>"
    if isinstance(value, dict):
        return {k: neutral(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [neutral(v) for v in value]
    if isinstance(value, str):
        text = LABEL.sub("<label>", value.splitlines()[0] if key == "stack" else value)
        for pattern, replacement in MASKS:
            text = pattern.sub(replacement, text)
        return text
    return value


def pairs() -> list[tuple[str, str, str]]:
    """(workflow, world-local run id, world-postgres run id) of every twin."""
    out = []
    for scenario in SCENARIOS:
        keyed: dict[tuple[str, str], tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
        for side, world in enumerate(("local", "postgres")):
            summary = json.loads((REALDATA / world / f"runs-{world}-{scenario}.json").read_text())
            for run in summary["runs"]:
                key = (run["workflow"], LABEL.sub("<label>", json.dumps(run["args"])))
                keyed[key][side].append(run["runId"])
        for (workflow, _), (local, postgres) in keyed.items():
            assert len(local) == len(postgres), workflow
            out += [(workflow, a, b) for a, b in zip(sorted(local), sorted(postgres), strict=True)]
    return out


def log_of(store: Store, run_id: str) -> list[dict[str, Any]]:
    names, rows = store.query(
        f"SELECT {COLUMNS} FROM run_log WHERE run_id = ? ORDER BY event_id", [run_id]
    )
    events = [dict(zip(names, row, strict=True)) for row in rows]
    for event in events:
        for column in ("event_data", "payload_decoded"):
            if event[column] is not None:
                event[column] = json.loads(event[column])
    return events


def entity_keys(events: list[dict[str, Any]]) -> list[tuple[str, int] | None]:
    """Each event's entity as (kind prefix, ordinal), None for run events."""

    def body(cid: str) -> int:
        value = 0
        for char in cid[-16:]:
            value = value * 32 + B32.index(char)
        return value

    cids = [e["correlation_id"] for e in events]
    base = min((body(c) for c in cids if c), default=0)
    return [(c[:5], body(c) - base) if c else None for c in cids]


def keyed_events(events: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Events keyed by (type, entity, how many of that pair came before)."""
    seen: Counter[tuple[Any, ...]] = Counter()
    out = {}
    for event, entity in zip(events, entity_keys(events), strict=True):
        pair = (event["event_type"], entity)
        out[(*pair, seen[pair])] = event
        seen[pair] += 1
    return out


@pytest.fixture(scope="module")
def pg_store(
    real_pg: str, pg_admin: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, ImportSummary]]:
    from forensics.importers.postgres import PostgresOptions, import_postgres

    path = tmp_path_factory.mktemp("realdata-pg") / "pg.duckdb"
    with Store(path) as store:
        yield store, import_postgres(store, PostgresOptions(dsn=pg_admin.dsn(real_pg)))


def test_the_whole_dump_imports(pg_store: tuple[Store, ImportSummary]) -> None:
    store, summary = pg_store
    assert (summary.read, summary.stored, summary.quarantined, summary.conflicts) == (
        448,
        448,
        0,
        0,
    )
    assert (summary.runs, summary.entities, summary.status) == (43, 90, "ok")
    _, kinds = store.query("SELECT kind, count(*) FROM entities GROUP BY 1 ORDER BY 1")
    assert kinds == [("hook", 2), ("step", 87), ("wait", 1)]


def test_every_twin_has_the_same_log(
    pg_store: tuple[Store, ImportSummary], real_store: Store
) -> None:
    store, _ = pg_store
    twins = pairs()
    assert len(twins) == 43
    compared = 0
    for workflow, local_run, pg_run in twins:
        local, postgres = log_of(real_store, local_run), log_of(store, pg_run)
        where = f"{workflow} {local_run} / {pg_run}"
        assert [e["event_type"] for e in postgres] == [e["event_type"] for e in local], where
        assert _lifecycles(postgres) == _lifecycles(local), where
        local_keyed = keyed_events(local)
        for key, event in keyed_events(postgres).items():
            twin = local_keyed[key]
            assert _comparable(event) == _comparable(twin), f"{where} {key}"
            compared += 1
    assert compared == 448


def _lifecycles(events: list[dict[str, Any]]) -> dict[tuple[str, int] | None, list[str]]:
    out: dict[tuple[str, int] | None, list[str]] = defaultdict(list)
    for event, entity in zip(events, entity_keys(events), strict=True):
        out[entity].append(event["event_type"])
    return dict(out)


def _comparable(event: dict[str, Any]) -> tuple[Any, ...]:
    return (
        event["payload_field"],
        event["payload_format"],
        neutral(event["event_data"]),
        neutral(event["payload_decoded"]),
    )


def test_twins_agree_on_run_and_step_records(
    pg_store: tuple[Store, ImportSummary], real_store: Store
) -> None:
    store, _ = pg_store
    for workflow, local_run, pg_run in pairs():
        query = (
            "SELECT status, workflow_name, spec_version, error_code, started_at IS NULL,"
            " completed_at IS NULL FROM run_records WHERE run_id = ?"
        )
        assert store.query(query, [pg_run])[1] == real_store.query(query, [local_run])[1]
        steps = (
            "SELECT kind, name, status, attempt FROM entities WHERE run_id = ?"
            " ORDER BY kind, name, status, attempt"
        )
        assert store.query(steps, [pg_run])[1] == real_store.query(steps, [local_run])[1], workflow


@pytest.fixture(scope="module")
def cli_events(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Any]:
    target = tmp_path_factory.mktemp("inspect-postgres")
    with tarfile.open(REALDATA / "postgres" / "inspect.tar.gz") as archive:
        archive.extractall(target, filter="data")
    found = {}
    for path in sorted(Path(target).glob("inspect/per-run/*/events.json")):
        for event in json.loads(path.read_text()):
            found[(event["runId"], event["eventId"])] = event
    return found


def test_every_event_equals_what_the_cli_showed(
    pg_store: tuple[Store, ImportSummary], cli_events: dict[tuple[str, str], Any]
) -> None:
    store, _ = pg_store
    _, rows = store.query(f"SELECT run_id, {COLUMNS} FROM events")
    assert len(rows) == len(cli_events) == 448
    for run_id, event_id, event_type, cid, data, field, fmt, decoded, created in rows:
        shown = cli_events[(run_id, event_id)]
        assert (event_type, cid) == (shown["eventType"], shown.get("correlationId"))
        assert _ms(created) == shown["createdAt"]
        shown_data = dict(shown.get("eventData", {}))
        shown_payload = shown_data.pop(PAYLOAD_FIELDS.get(event_type, ""), None)
        assert (json.loads(data) if data else {}) == shown_data, event_id
        if fmt == "absent":
            assert shown_payload is None, event_id
        else:
            assert (field, cli_view(json.loads(decoded))) == (
                PAYLOAD_FIELDS[event_type],
                shown_payload,
            ), event_id


def _ms(moment: datetime) -> str:
    """JavaScript's toISOString of a time (it truncates to milliseconds)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def test_graphile_worker_tables_are_not_read(
    pg_store: tuple[Store, ImportSummary], real_pg: str, pg_admin: Any
) -> None:
    """The dump's job queue (7 jobs) lives in another schema and never reaches the store."""
    store, _ = pg_store
    with pg_admin.connect(real_pg) as conn:
        row = conn.execute("SELECT count(*) FROM graphile_worker._private_jobs").fetchone()
    assert row == (7,)
    _, rows = store.query("SELECT DISTINCT source_location FROM events")
    assert [r[0].rsplit("/", 1)[1] for r in rows] == ["workflow.workflow_events"]
