"""The suite needs nothing beside the checkout: the real logs it reads are in the repository."""

from __future__ import annotations

import re
from pathlib import Path

from tests.realdata import REALDATA

TESTS = Path(__file__).resolve().parent
# a path out of the checkout to a sibling folder, as the tests once reached the shared logs
OUTSIDE = re.compile(r"""parents\[\d\]\.parent|["']\.\./|/work/""")


def test_no_test_reads_from_outside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(TESTS)}:{n}"
        for path in sorted(TESTS.rglob("*.py"))
        if path != Path(__file__).resolve()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []


def test_the_real_logs_are_in_the_repository_and_small() -> None:
    files = [p for p in REALDATA.rglob("*") if p.is_file()]
    assert {p.parent.name for p in files} >= {"local", "postgres"}
    assert sum(p.stat().st_size for p in files) < 3 * 2**20
