"""Decoding the real world-local and world-postgres logs agrees with the CLI, byte for byte.

The data set (see ``tests/data/realdata/README.md``) holds the same 43 runs per world, written
by Workflow DevKit 4.8.9 itself, plus ``workflow inspect events --withData`` output for
every run: the CLI's hydrated values are the ground truth for our decoding. Events are
matched by runId and eventId within each world.
"""

from __future__ import annotations

import base64
import json
import tarfile
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from forensics.decode import (
    PAYLOAD_FIELDS,
    Tagged,
    cli_view,
    decode_cbor,
    decode_field,
    decode_payload,
    encode_devalue,
    parse_devalue,
    to_jsonable,
    unwrap_binary,
)
from tests.realdata import REALDATA

WORLDS = ("local", "postgres")
EVENTS_PER_WORLD = 448
PAYLOADS_PER_WORLD = 249  # bytes payloads: 43 run inputs, 87 step inputs, 81 results, ...

RawEvent = tuple[str, str, str, dict[str, Any]]  # runId, eventId, eventType, eventData
CliEvents = dict[str, dict[tuple[str, str], dict[str, Any]]]  # world → (runId, eventId) → event


def raw_events(world: str) -> Iterator[RawEvent]:
    """The events as each world stored them, with eventData decoded from CBOR for postgres."""
    if world == "local":
        for line in (REALDATA / "local" / "local-events.jsonl").read_text().splitlines():
            event = json.loads(line)
            yield event["runId"], event["eventId"], event["eventType"], event.get("eventData", {})
        return
    for line in (REALDATA / "postgres" / "pg-events.jsonl").read_text().splitlines():
        row = json.loads(line)
        data = row["payload_cbor_b64"]
        event_data = decode_cbor(base64.b64decode(data)) if data else {}
        assert isinstance(event_data, dict)
        yield row["run_id"], row["id"], row["type"], event_data


@pytest.fixture(scope="module")
def cli_events(tmp_path_factory: pytest.TempPathFactory) -> CliEvents:
    """``per-run/<runId>/events.json`` of both inspect tarballs, keyed by (runId, eventId)."""
    found: CliEvents = {}
    for world in WORLDS:
        target = tmp_path_factory.mktemp(f"inspect-{world}")
        with tarfile.open(REALDATA / world / "inspect.tar.gz") as archive:
            archive.extractall(target, filter="data")
        events = {}
        for path in sorted(target.glob("inspect/per-run/*/events.json")):
            for event in json.loads(path.read_text()):
                events[(event["runId"], event["eventId"])] = event
        found[world] = events
    return found


@pytest.mark.parametrize("world", WORLDS)
def test_every_event_is_in_the_cli_capture(world: str, cli_events: CliEvents) -> None:
    keys = {(run_id, event_id) for run_id, event_id, _, _ in raw_events(world)}
    assert len(keys) == EVENTS_PER_WORLD
    assert keys == set(cli_events[world])


@pytest.mark.parametrize("world", WORLDS)
def test_payloads_decode_to_what_the_cli_shows(world: str, cli_events: CliEvents) -> None:
    formats: Counter[str] = Counter()
    for run_id, event_id, event_type, event_data in raw_events(world):
        field = PAYLOAD_FIELDS.get(event_type)
        if field is None:
            continue
        shown = cli_events[world][(run_id, event_id)].get("eventData", {})
        decoded = decode_field(event_data.get(field))
        formats[decoded.format] += 1
        where = f"{world} {event_type} {event_id}"
        if field not in shown:  # the CLI drops undefined members
            assert decoded.format == "absent", where
            continue
        assert decoded.format in ("devl", "json"), where
        assert cli_view(decoded.value) == shown[field], where
    assert formats["devl"] == PAYLOADS_PER_WORLD
    assert formats["invalid"] == formats["unknown"] == 0


@pytest.mark.parametrize("world", WORLDS)
def test_other_event_data_matches_the_cli(world: str, cli_events: CliEvents) -> None:
    for run_id, event_id, event_type, event_data in raw_events(world):
        field = PAYLOAD_FIELDS.get(event_type)
        ours = to_jsonable({k: v for k, v in event_data.items() if k != field})
        shown = cli_events[world][(run_id, event_id)].get("eventData", {})
        assert ours == {k: v for k, v in shown.items() if k != field}, event_id


def test_cbor_matches_cbor_x() -> None:
    """Our CBOR decoding equals the cbor-x decoding shipped with the data (undefined → None)."""
    lines = (REALDATA / "postgres" / "pg-events.decoded.jsonl").read_text().splitlines()
    assert len(lines) == EVENTS_PER_WORLD
    for line in lines:
        row = json.loads(line)
        if row["payload_cbor_b64"] is None:
            continue
        expected = row["payload_cbor_decoded"]
        ours = to_jsonable(decode_cbor(base64.b64decode(row["payload_cbor_b64"])))
        assert isinstance(ours, dict)
        assert {k: v for k, v in ours.items() if v is not None or k in expected} == expected


def devalue_texts(world: str) -> Iterator[str]:
    for _, _, event_type, event_data in raw_events(world):
        field = PAYLOAD_FIELDS.get(event_type)
        raw = unwrap_binary(event_data.get(field)) if field else None
        if raw is not None:
            assert raw[:4] == b"devl"
            yield raw[4:].decode()


@pytest.mark.parametrize("world", WORLDS)
def test_reencoding_reproduces_the_real_text(world: str) -> None:
    texts = list(devalue_texts(world))
    assert len(texts) == PAYLOADS_PER_WORLD
    for text in texts:
        assert encode_devalue(parse_devalue(text, native=True)) == text
    # the webhook Requests (hook payloads, and `this` of the builtin body-reading step)
    # are the only tagged values; native mode keeps them as `Tagged`
    requests = [t for t in texts if '["Request",' in t]
    assert len(requests) == 6
    assert all(isinstance(parse_devalue(t, native=True), Tagged | dict) for t in requests)


def _shape(value: object) -> object:
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__


def test_both_worlds_decode_the_same_scenarios_alike() -> None:
    def shapes(world: str) -> Counter[str]:
        counted: Counter[str] = Counter()
        for _, _, event_type, event_data in raw_events(world):
            field = PAYLOAD_FIELDS.get(event_type)
            if field is not None:
                decoded = decode_field(event_data.get(field))
                counted[json.dumps([event_type, _shape(decoded.value)], sort_keys=True)] += 1
        return counted

    assert shapes("local") == shapes("postgres")


def test_decode_payload_is_fast_enough() -> None:
    """A loose guard against regressions of the hot path (the real figure is far lower)."""
    raws = [text.encode() for world in WORLDS for text in devalue_texts(world)]
    raws = [b"devl" + raw for raw in raws]
    start = time.perf_counter()
    for _ in range(20):
        for raw in raws:
            decode_payload(raw)
    per_payload = (time.perf_counter() - start) / (20 * len(raws))
    assert per_payload < 500e-6
