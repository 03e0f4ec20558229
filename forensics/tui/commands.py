"""The `:` command language: parse a line into a known command or say what is known.

Commands (an unambiguous prefix works, `:r` is `run`):

    run ID          open a run (full id, or a unique start or end of one)
    runs            back to the runs list
    diff A [B]      diff two sides of the current run: replay ids (r3, inv269), digest
                    prefixes, `log` or `log@EVENT`; B defaults to `log`
    replays         the current run's replays
    fences          the current run's fence chain
    sql [TEXT]      the SQL screen, running TEXT when given
    help            keys of the current screen
    quit            leave
"""

from __future__ import annotations

from dataclasses import dataclass

from forensics.errors import UsageError

COMMANDS: dict[str, tuple[int, int, str]] = {
    # name: (min args, max args, usage) — `sql` takes the rest of the line as one argument
    "run": (1, 1, "run ID"),
    "runs": (0, 0, "runs"),
    "diff": (1, 2, "diff A B"),
    "replays": (0, 0, "replays"),
    "fences": (0, 0, "fences"),
    "sql": (0, 1, "sql [TEXT]"),
    "help": (0, 0, "help"),
    "quit": (0, 0, "quit"),
}


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[str, ...]


def parse_command(line: str) -> Command:
    """`line` (without the colon) as a `Command`; a usage error says what is known."""
    text = line.strip().lstrip(":").strip()
    if not text:
        raise UsageError("empty command", hint=_known())
    word, _, rest = text.partition(" ")
    name = _resolve(word.lower())
    low, high, usage = COMMANDS[name]
    rest = rest.strip()
    # `sql` takes the rest of the line as one argument; the others split on spaces
    args = ((rest,) if rest else ()) if name == "sql" else tuple(rest.split())
    if not low <= len(args) <= high:
        raise UsageError(f"`{name}` takes {_count(low, high)}", hint=f"type :{usage}")
    return Command(name, args)


def _resolve(word: str) -> str:
    if word in COMMANDS:
        return word
    if word == "q":
        return "quit"
    matches = [name for name in COMMANDS if name.startswith(word)]
    if len(matches) == 1:
        return matches[0]
    if word == "r":
        return "run"
    if not matches:
        raise UsageError(f"no command {word!r}", hint=_known())
    raise UsageError(f"{word!r} could be {', '.join(matches)}", hint="type more of the name")


def _count(low: int, high: int) -> str:
    if low == high:
        return "no arguments" if low == 0 else f"{low} argument{'s' * (low > 1)}"
    return f"{low} to {high} arguments"


def _known() -> str:
    return "commands: " + ", ".join(usage for _, _, usage in COMMANDS.values())
