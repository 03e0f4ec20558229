"""The digest formula of replay.md §4, against vectors computed outside Python.

Each expected value is the first 16 hex characters of `printf '…' | sha256sum` over the
lines the formula builds, so the vectors do not depend on the code under test.
"""

from __future__ import annotations

import pytest

from forensics.importers.trace_parse import event_lines
from forensics.store import Store
from forensics.store.traces import (
    SnapshotWriter,
    digest_lines,
    expand_ranges,
    item_line,
    prefix_digests,
    split_line,
)

# printf '' | sha256sum
EMPTY = "e3b0c44298fc1c14"
# printf 'evnt_01|run_created||\n' | sha256sum
ONE = "f836ae67bb3d1794"
# printf 'evnt_01|run_created||\nevnt_02|step_created|step_01|step//./w//a|b\n' | sha256sum
TWO_NAMED = "a1bb1a69766b2fb3"
# printf 'evnt_01|run_created||\nevnt_02|step_created|step_01|\n' | sha256sum
TWO_UNNAMED = "a11debf2ceed8318"


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([], EMPTY),
        ([{"i": "evnt_01", "t": "run_created"}], ONE),
        (
            [
                {"i": "evnt_01", "t": "run_created"},
                {"i": "evnt_02", "t": "step_created", "c": "step_01", "n": "step//./w//a|b"},
            ],
            TWO_NAMED,
        ),
        (
            [
                {"i": "evnt_01", "t": "run_created", "ca": "2026-05-27T23:21:11.976Z"},
                {"i": "evnt_02", "t": "step_created", "c": "step_01", "r": "2026-05-28T00:00Z"},
            ],
            TWO_UNNAMED,
        ),
    ],
    ids=["empty", "one-event", "step-name-with-bar", "r-and-ca-ignored"],
)
def test_digest_of_trace_events_matches_sha256sum(
    events: list[dict[str, str]], expected: str
) -> None:
    assert digest_lines(event_lines(events)) == expected


def test_missing_and_empty_fields_hash_alike() -> None:
    assert item_line("evnt_01", "run_created", None, None) == "evnt_01|run_created||"
    assert item_line("evnt_01", "run_created", "", "") == "evnt_01|run_created||"
    assert digest_lines([item_line("evnt_01", "run_created", None, None)]) == ONE


def test_prefix_digests_equal_digests_of_each_prefix() -> None:
    lines = [item_line(f"evnt_{n:02d}", "hook_received", "hook_01", None) for n in range(50)]
    ends = [0, 1, 7, 7, 31, 50]
    assert prefix_digests(lines, ends) == {end: digest_lines(lines[:end]) for end in ends}


def test_a_step_name_holding_the_separator_survives_a_round_trip() -> None:
    line = item_line("evnt_02", "step_created", "step_01", "step//./w//a|b")
    assert split_line(line) == ("evnt_02", "step_created", "step_01", "step//./w//a|b")
    assert split_line("evnt_01|run_created||") == ("evnt_01", "run_created", None, None)


def test_snapshots_are_stored_once_as_ranges_of_items(tmp_store: Store) -> None:
    writer = SnapshotWriter(tmp_store.con)
    lines = [item_line(f"evnt_{n:02d}", "hook_received", "hook_01", None) for n in range(6)]
    full = writer.add("wrun_A", lines)
    holed = writer.add("wrun_A", lines[:2] + lines[3:])
    again = writer.add("wrun_A", lines)
    writer.flush()
    assert (full.count, full.tail_event_id, full.digest) == (6, "evnt_05", digest_lines(lines))
    assert again == full
    rows = tmp_store.query(
        "SELECT digest, event_count, starts, stops FROM trace_snapshots ORDER BY event_count"
    )[1]
    assert rows == [(holed.digest, 5, [0, 3], [2, 6]), (full.digest, 6, [0], [6])]
    assert expand_ranges([0, 3], [2, 6]) == [0, 1, 3, 4, 5]
    assert tmp_store.query("SELECT count(*) FROM trace_items")[1] == [(6,)]
