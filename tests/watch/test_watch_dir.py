"""`forensics watch dir`: a world-local data directory followed file by file.

Event files are written as world-local writes them (whole, then renamed into place). A
first pass imports the directory and takes its findings as the baseline; a late second
`step_completed` file is announced; a staged `hook_received` under `.locks/runs/*.pending`
is imported as staged; a pass over an unchanged directory opens no import at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from forensics.store import Store
from forensics.watch.alerts import Alert
from forensics.watch.loop import Settings, Watch
from forensics.watch.sources import DirSource

RUN = "wrun_01KSNVVXH82P5GM40D6F9152JA"
STEP = "step_01KSNVVXJB00000000000001"
ROOT = Path(__file__).resolve().parents[2]


def event(n: int, kind: str, cid: str | None = None, data: object = None) -> dict[str, object]:
    obj: dict[str, object] = {"eventType": kind, "specVersion": 2}
    if cid:
        obj["correlationId"] = cid
    if data is not None:
        obj["eventData"] = data
    obj.update(
        runId=RUN,
        eventId=f"wevt_01KSNVVXJ{n:016d}",
        createdAt=f"2026-11-21T09:00:0{n}.000Z",
    )
    return obj


def write(root: Path, rel: str, obj: dict[str, object]) -> None:
    """Whole file first, then renamed into place, as world-local does."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.1")
    tmp.write_text(json.dumps(obj, indent=2))
    os.replace(tmp, path)


def event_file(root: Path, obj: dict[str, object]) -> None:
    write(root, f"events/{RUN}-{obj['eventId']}.json", obj)


def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / ".workflow-data"
    log = [
        event(1, "run_created", data={"deploymentId": "dpl_1", "workflowName": "wf"}),
        event(2, "run_started"),
        event(3, "step_created", STEP, {"stepName": "step//charge"}),
        event(4, "step_started", STEP, {"attempt": 1}),
        event(5, "step_completed", STEP, {}),
    ]
    for obj in log:
        event_file(root, obj)
    return root


def test_a_directory_is_followed_file_by_file(tmp_path: Path) -> None:
    root = data_dir(tmp_path)
    alerts: list[Alert] = []
    said: list[str] = []
    with Store(tmp_path / "store.duckdb") as store:
        watch = Watch(store, DirSource(root), alerts.append, said.append, Settings(once=True))
        watch.run()
        assert alerts == []
        assert "pass 1: 5 event(s) stored, 1 run(s) re-checked" in said[-1]

        event_file(root, event(6, "step_completed", STEP, {}))
        write(
            root,
            f".locks/runs/{RUN}.pending/wevt_01KSNVVXJ0000000000000007.json",
            event(7, "hook_received", "hook_1", {}),
        )
        watch.run()
        assert "pass 2: 2 event(s) stored, 1 run(s) re-checked" in said[-1]
        assert "multiple-terminals" in {a.code for a in alerts}
        _, rows = store.query("SELECT event_type, staged FROM events WHERE staged")
        assert rows == [("hook_received", True)]

        imports = store.query("SELECT count(*) FROM imports")[1]
        watch.run()  # nothing changed: no import opened
        assert "no writes since the last pass" in said[-1]
        assert store.query("SELECT count(*) FROM imports")[1] == imports


def test_watch_dir_from_the_command_line(tmp_path: Path) -> None:
    root = data_dir(tmp_path)
    store = str(tmp_path / "store.duckdb")
    command = [sys.executable, "-m", "forensics", "--db", store, "watch", "dir", str(root)]
    first = subprocess.run(
        [*command, "--once"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert (first.returncode, first.stdout) == (0, ""), first.stderr
    event_file(root, event(6, "step_completed", STEP, {}))
    second = subprocess.run(
        [*command, "--once"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert second.returncode == 0, second.stderr
    codes = {json.loads(line)["code"] for line in second.stdout.splitlines()}
    assert "multiple-terminals" in codes
    missing = subprocess.run(
        [*command[:-1], str(tmp_path / "nowhere"), "--once"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr


def test_a_watch_pass_leaves_the_cipher_library_unloaded(tmp_path: Path) -> None:
    """Native code a watch does not need stays out of its memory: the AES library is loaded
    only to open an encrypted payload, and these payloads are not encrypted."""
    root = data_dir(tmp_path)
    store = str(tmp_path / "store.duckdb")
    script = (
        "import sys\n"
        "from forensics.cli import main\n"
        "try:\n"
        f"    main(['--db', {store!r}, 'watch', 'dir', {str(root)!r}, '--once'])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('cryptography', 'pandas')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "watch" in done.stderr and "pass 1" in done.stderr
    assert done.stdout.strip() == "[]"
