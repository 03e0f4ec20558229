"""Building blocks of the synthetic sample runs: ids, payloads, times and one run's story.

A `Story` is one run told as the events its writers produced, in mint order. Event ids are
minted by a monotonic ULID factory over a seeded PRNG (so the builder is deterministic and
ids sort exactly as mint order), correlation ids and unnamed hook tokens come from the
replay's own seeded generator (`forensics.analysis.seed`), and payloads are real `devl`
devalue bytes. Each event may carry a write time and the fence its writer sent, for sources
that record them; format modules turn a story into files.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from forensics.analysis.seed import Arc4Random, CorrelationIdGenerator, MonotonicUlid
from forensics.decode import UNDEFINED, encode_devalue

Data = dict[str, object]
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

SPEC_VERSION: Final = 3
FENCED_TYPES: Final = frozenset(
    {
        "wait_completed",
        "step_created",
        "hook_created",
        "hook_disposed",
        "wait_created",
        "run_completed",
        "run_failed",
    }
)
"""Writes that carry a tail fence in the `lastKnownEventId` design (replay.md section 5)."""


def at(text: str) -> int:
    """Epoch milliseconds of an ISO-8601 UTC time (`2026-05-27T14:03:11.482Z`)."""
    return epoch_ms(datetime.fromisoformat(text.replace("Z", "+00:00")))


def epoch_ms(moment: datetime) -> int:
    """Whole epoch milliseconds of an aware or naive-UTC time, without float rounding."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (aware - _EPOCH) // timedelta(milliseconds=1)


def iso(ms: int) -> str:
    """`Date.prototype.toISOString()` of epoch milliseconds."""
    moment = datetime.fromtimestamp(ms // 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def devl(value: object) -> bytes:
    """A `devl` payload: the prefix, then the value as devalue text."""
    return b"devl" + encode_devalue(value).encode()


def step_input(*args: object, this: object = UNDEFINED) -> bytes:
    """A step's serialized call, as the runtime writes it into `step_created`."""
    return devl({"args": list(args), "closureVars": UNDEFINED, "thisVal": this})


class Minter:
    """Monotonic ULIDs (time part from the given ms) over a PRNG seeded with `seed`."""

    def __init__(self, seed: str) -> None:
        self._ulid = MonotonicUlid(Arc4Random(seed))
        self._last = 0

    def __call__(self, ms: int) -> str:
        if ms < self._last:
            raise ValueError(f"mint times must not go back: {ms} after {self._last}")
        self._last = ms
        return self._ulid(ms)


@dataclass
class Event:
    """One event of a story; `fence` is the label of the event the writer fenced on."""

    label: str
    event_type: str
    ms: int
    event_id: str
    correlation_id: str | None = None
    data: Data | None = None
    written_ms: int | None = None
    fence: str | None = None
    staged: bool = False
    created_ms: int | None = None

    @property
    def created(self) -> int:
        """`createdAt`: the mint time unless the source stamps rows itself (Postgres)."""
        return self.ms if self.created_ms is None else self.created_ms


@dataclass
class Entities:
    """Correlation ids drawn so far, by label, plus the tokens of unnamed hooks."""

    ids: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)


class Story:
    """One run: its ids, its workflow, and its events in mint (= eventId) order."""

    def __init__(
        self,
        *,
        seed: str,
        run_ms: int,
        started_ms: int,
        workflow: str,
        event_prefix: str = "evnt_",
    ) -> None:
        self.run_id = "wrun_" + Minter(seed + ":run")(run_ms)
        self.workflow = workflow
        self.created_ms = run_ms
        self.started_ms = started_ms
        self.event_prefix = event_prefix
        self._mint = Minter(seed + ":events")
        self._aside = Minter(seed + ":aside")
        self._cids = CorrelationIdGenerator(self.run_id, workflow, started_ms)
        self.entities = Entities()
        self.events: list[Event] = []
        self.staged: list[Event] = []

    # -- ids ---------------------------------------------------------------------------------

    def draw(self, label: str, kind: str, *, auto_token: bool = False) -> str:
        """The next correlation id in program order (and an unnamed hook's token)."""
        cid = self._cids.next_id(kind)
        self.entities.ids[label] = cid
        if auto_token:
            self.entities.tokens[label] = self._cids.next_hook_token()
        return cid

    def mint_aside(self, ms: int) -> str:
        """A ULID for something other than an event (a stream, a chunk), minted at `ms`."""
        return self._aside(ms)

    def cid(self, label: str) -> str:
        return self.entities.ids[label]

    def token(self, label: str) -> str:
        return self.entities.tokens[label]

    # -- events ------------------------------------------------------------------------------

    def add(
        self,
        label: str,
        event_type: str,
        ms: int,
        *,
        cid: str | None = None,
        data: Data | None = None,
        written_ms: int | None = None,
        fence: str | None = None,
        staged: bool = False,
        created_ms: int | None = None,
    ) -> Event:
        """Mint the next event; labels must be unique within the story."""
        if label in self.labels():
            raise ValueError(f"duplicate label {label!r}")
        event = Event(
            label,
            event_type,
            ms,
            self.event_prefix + self._mint(ms),
            self.entities.ids.get(cid, cid) if cid else None,
            data,
            written_ms,
            fence,
            staged,
            created_ms,
        )
        (self.staged if staged else self.events).append(event)
        return event

    def labels(self) -> set[str]:
        return {e.label for e in self.all_events()}

    def all_events(self) -> Iterator[Event]:
        yield from self.events
        yield from self.staged

    def __getitem__(self, label: str) -> Event:
        for event in self.all_events():
            if event.label == label:
                return event
        raise KeyError(label)

    def ids(self, *labels: str) -> list[str]:
        """Event ids of the events with these labels (for witnesses)."""
        return [self[label].event_id for label in labels]

    def last_ms(self) -> int:
        return self.events[-1].ms


@dataclass
class Sample:
    """A synthetic run with the corruption shape it shows and the findings it should give.

    `witness` maps each expected detector code to the event ids that prove it.
    """

    story: Story
    shape: str
    description: str
    witness: dict[str, list[str]]
