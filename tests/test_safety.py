"""What `forensics` never does: let SQL touch files or the network, stay silent about a
key that opens nothing."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from forensics.cli import main
from forensics.errors import EXIT_OK, EXIT_PARTIAL, EXIT_STORE

RUN = "wrun_01M7YNNASS8KVC54EGYKZ763NW"


def forensics(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def event(n: int, payload: bytes | None = None) -> dict[str, object]:
    data: dict[str, object] = {"stepName": "charge"}
    if payload is not None:
        data["input"] = {"__type": "Uint8Array", "data": base64.b64encode(payload).decode()}
    return {
        "runId": RUN,
        "eventId": f"wevt_01M7YNNAT{n:017d}",
        "eventType": "step_created",
        "correlationId": "step_01M7YNNAT4A8ZR6Y5KQ6X2B9QH",
        "createdAt": "2026-11-20T10:00:00.000Z",
        "specVersion": 2,
        "eventData": data,
    }


@pytest.fixture
def store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    dump = tmp_path / "events.jsonl"
    dump.write_text("".join(json.dumps(event(n)) + "\n" for n in range(3)))
    db = str(tmp_path / "s.duckdb")
    assert forensics(capsys, "--db", db, "import", "json", str(dump))[0] == EXIT_OK
    return db


@pytest.mark.parametrize(
    "statement",
    [
        "COPY (SELECT * FROM events) TO '{out}'",
        "SELECT * FROM read_csv('{secret}')",
        "ATTACH '{secret}' AS other",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
    ],
)
def test_sql_cannot_touch_files_or_the_network(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], statement: str
) -> None:
    out, secret = tmp_path / "leak.csv", tmp_path / "secret.txt"
    secret.write_text("a,b\n1,2\n")
    code, stdout, err = forensics(
        capsys, "--db", store, "sql", statement.format(out=out, secret=secret)
    )
    assert code == EXIT_STORE
    assert not out.exists() and "1,2" not in stdout
    assert err.count("\n") <= 2 and "Traceback" not in err


def test_sql_allow_files_is_the_explicit_way_out(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "events.csv"
    code, _, err = forensics(
        capsys,
        "--db",
        store,
        "sql",
        "--allow-files",
        f"COPY (SELECT event_id FROM events) TO '{out}'",
    )
    assert code == EXIT_OK, err
    assert len(out.read_text().splitlines()) == 4
    code, stdout, _ = forensics(
        capsys, "--db", store, "sql", "select count(*) AS n from events", "--format", "json"
    )
    assert code == EXIT_OK and json.loads(stdout) == [{"n": 3}]


@pytest.mark.parametrize(
    "statement",
    ["delete from events", "INSERT INTO imports SELECT * FROM imports", "CREATE TABLE t (x INT)"],
)
def test_sql_that_would_change_the_store_is_told_the_store_is_read_only(
    store: str, capsys: pytest.CaptureFixture[str], statement: str
) -> None:
    code, _, err = forensics(capsys, "--db", store, "sql", statement)
    assert code == EXIT_STORE
    assert "only reads it" in err and "check the SQL" not in err
    code, stdout, _ = forensics(
        capsys, "--db", store, "sql", "select count(*) AS n from events", "--format", "json"
    )
    assert code == EXIT_OK and json.loads(stdout) == [{"n": 3}]


def _encrypted(key: bytes) -> bytes:
    nonce = os.urandom(12)
    return b"encr" + nonce + AESGCM(key).encrypt(nonce, b'devl[{"amount":1},42]', None)


def test_a_key_file_that_opens_nothing_is_a_note_and_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    right, wrong = os.urandom(32), os.urandom(32)
    dump = tmp_path / "events.jsonl"
    dump.write_text("".join(json.dumps(event(n, _encrypted(right))) + "\n" for n in range(2)))
    for name, key, expected in (("wrong", wrong, EXIT_PARTIAL), ("right", right, EXIT_OK)):
        key_file = tmp_path / f"{name}.key"
        key_file.write_text(key.hex())
        db = str(tmp_path / f"{name}.duckdb")
        code, _, err = forensics(
            capsys, "--db", db, "import", "json", str(dump), "--key-file", str(key_file)
        )
        assert code == expected, err
        if name == "wrong":
            assert "opened none of the 2 encrypted payload(s)" in err
            assert "--key-file" in err
        else:
            assert "opened none" not in err


def test_brackets_in_data_and_names_print_as_they_are(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = forensics(
        capsys, "--db", store, "sql", "select '[/bold]' AS \"[red]x[/]\", '[link=x]y[/link]' AS v"
    )
    assert code == EXIT_OK, err
    assert "[/bold]" in out and "[red]x[/]" in out and "[link=x]y[/link]" in out


def test_report_hovers_show_log_text_not_html() -> None:
    from forensics.report.diff import DiffEvent, _label
    from forensics.report.style import esc

    assert esc("<a href='https://x.invalid'>y</a> & more") == (
        "&lt;a href='https://x.invalid'&gt;y&lt;/a&gt; &amp; more"
    )
    event = DiffEvent(3, "wevt_<b>1</b>", "step_created", "step_<a href='x'>", None)
    label = _label(event)
    assert "<a " not in label and "<b>" not in label and "&lt;a href='x'&gt;" in label
