"""Every bundled sample yields exactly the findings its manifest intends, no more, no fewer.

The manifest lists each code's witness event ids; findings list theirs in log order, so the
two are compared as sets of ids per code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from forensics.analysis.engine import CheckResult, check
from forensics.demo import SAMPLES_DIR
from forensics.importers.base import ImportOptions
from forensics.importers.run import import_paths
from forensics.store import Store

MANIFEST_PATH = SAMPLES_DIR / "manifest.json"


def _manifest() -> dict[str, Any]:
    if not MANIFEST_PATH.is_file():
        pytest.skip("the bundled samples have no manifest.json")
    return dict(json.loads(MANIFEST_PATH.read_text()))


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CheckResult]:
    manifest = _manifest()
    with Store(tmp_path_factory.mktemp("samples") / "samples.duckdb") as store:
        for source in sorted({run["file"] for run in manifest["runs"]}):
            options = ImportOptions(preset=manifest.get("presets", {}).get(source))
            import_paths(store, [SAMPLES_DIR / source], options=options)
        traces = sorted({run["traces"] for run in manifest["runs"] if run.get("traces")})
        import_paths(store, [SAMPLES_DIR / t for t in traces])
        yield check(store)


def _runs() -> list[dict[str, Any]]:
    return list(_manifest()["runs"]) if MANIFEST_PATH.is_file() else []


@pytest.mark.parametrize("run", _runs(), ids=lambda r: f"{r['shape']}-{r['run_id'][-6:]}")
def test_sample_yields_exactly_its_findings(result: CheckResult, run: dict[str, Any]) -> None:
    mine = [f for f in result.findings if f.run_id == run["run_id"]]
    replay = set(run.get("replay_codes", []))
    found = {(f.code, frozenset(f.event_ids)) for f in mine if f.code not in replay}
    expected = {(code, frozenset(run["witness"][code])) for code in run["expected_codes"]}
    assert found == expected
    # the replay engine's findings (fences, traces) are listed by code in the manifest
    assert {f.code for f in mine if f.code in replay} == replay


def test_every_sample_run_has_a_verdict(result: CheckResult) -> None:
    manifest = {r["run_id"]: bool(r["expected_codes"]) for r in _runs()}
    verdicts = {v.run_id: v.verdict for v in result.runs}
    assert verdicts == {run: "anomalous" if bad else "ok" for run, bad in manifest.items()}
