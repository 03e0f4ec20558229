"""Which runtime line a run belongs to, from what its `run_created` and events say."""

from __future__ import annotations

from forensics.analysis.versions import LINE_4, LINE_5, LINE_5_LOCAL_ULID, line_of, major_version


def test_major_version_reads_semver_and_nothing_else() -> None:
    assert major_version("5.0.0-beta.35") == 5
    assert major_version("4.8.9") == 4
    assert major_version(None) is None
    assert major_version("beta") is None


def test_core_version_decides_the_line() -> None:
    assert line_of("4.8.9", 3, "dpl_local@4.8.9") == LINE_4
    assert line_of("5.0.0-beta.55", 7, "dpl_local@5.0.0-beta.46") == LINE_5
    assert line_of("5.0.0-beta.35", 5, "postgres") == LINE_5
    assert line_of("5.0.0-beta.35", 5, "dpl_local@5.0.0-beta.29") == LINE_5_LOCAL_ULID


def test_without_a_core_version_slot_specs_are_5x_and_the_rest_4x() -> None:
    assert line_of(None, 7) == LINE_5
    assert line_of(None, 5) == LINE_4
    assert line_of(None, None) == LINE_4


def test_what_each_line_lets_the_detectors_assume() -> None:
    assert LINE_4.seed_known and not LINE_4.cid_time_from_run_id
    assert not LINE_4.log_order_is_commit_order
    assert LINE_5.cid_time_from_run_id and not LINE_5.seed_known
    assert LINE_5.log_order_is_commit_order and not LINE_5.one_write_any_id_order
    assert LINE_5_LOCAL_ULID.one_write_any_id_order
