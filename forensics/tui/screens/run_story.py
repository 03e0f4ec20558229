"""The story side of a run screen: open on the problem, hand the story on, go further.

A run that has errors opens with its story's headline and root cause (`StoryBanner`) and the
cursor on the root cause's event. The banner comes first: the story's head (headline, root
cause, writers) is built and shown, then the rest (the critical window, what each fence
design would have done, similar runs) follows in the same worker, from the same replays.
`y` copies a reference to the event under the cursor, `m` writes the story as Markdown and
`H` the run's HTML report, both to the current folder; `r`, `c` and `:diff` open the run's
replays, fence chain and a diff.
"""

from __future__ import annotations

from pathlib import Path

from textual import work

from forensics.model import Finding, Story
from forensics.replay.memo import shared_analysis
from forensics.tui.commands import Command
from forensics.tui.handoff import hand_over
from forensics.tui.screens.base import ForensicsScreen
from forensics.tui.storydata import reference, run_story, write_markdown, write_report
from forensics.tui.widgets.story_banner import StoryBanner


class RunStoryScreen(ForensicsScreen):
    """A run's screen that can tell the run's story; `RunScreen` is the one shown."""

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.story: Story | None = None  # the whole story, once built
        self.findings: list[Finding] = []

    def cursor_position(self) -> int | None:
        """The log position under the events cursor (the run screen knows its table)."""
        raise NotImplementedError

    def go_to(self, pos: int) -> None:
        """Put the events cursor on log position `pos`."""
        raise NotImplementedError

    def at_start(self) -> bool:
        """Whether the cursor is still where the screen opened (not moved by the user)."""
        raise NotImplementedError

    @work(thread=True, exclusive=True, group="story", exit_on_error=False)
    def load_story(self, findings: list[Finding]) -> None:
        """The banner from the story's head, then the whole story for `m`."""
        cur = self.forensics.cursor()
        try:
            with shared_analysis():  # the head's replays and chain serve the whole story
                head = run_story(cur, self.run_id, findings, full=False)
                hand_over(self, self.show_story, head)
                story = run_story(cur, self.run_id, findings)
        finally:
            cur.close()
        # a plain attribute for `m`: set here, not through the app's loop, which may be
        # closing (a quit while the story was built) and would never answer
        self.story = story

    def show_story(self, story: Story | None) -> None:
        """Open on the problem: the banner, and the cursor on the root cause's event."""
        self.query_one(StoryBanner).show_story(story)
        if story is None:
            self.story = None
            return
        if story.root_cause and story.root_cause.event.position and self.at_start():
            self.go_to(story.root_cause.event.position)

    def action_copy_reference(self) -> None:
        text = reference(self.run_id, self.cursor_position())
        self.app.copy_to_clipboard(text)  # OSC 52: works over ssh and in tmux
        self.notify(f"copied {text}", timeout=3, markup=False)

    def action_markdown(self) -> None:
        if self.story is None:
            self.notify("building the story…", timeout=3)
        self.write_markdown()

    @work(thread=True, group="markdown", exit_on_error=False)
    def write_markdown(self) -> None:
        story = self.story
        if story is None:
            cur = self.forensics.cursor()
            try:
                story = run_story(cur, self.run_id, list(self.findings))
            finally:
                cur.close()
        path = write_markdown(story)
        hand_over(self, self.notify, f"wrote {path}", timeout=8, markup=False)

    def action_report(self) -> None:
        self.notify(f"writing the report of {self.run_id}…", timeout=3, markup=False)
        self.write_report(Path(f"{self.run_id}.html"))

    @work(thread=True, group="report", exit_on_error=False)
    def write_report(self, path: Path) -> None:
        """The run's HTML report (what `forensics report RUN` writes), in the current folder."""
        cur = self.forensics.cursor()
        try:
            written = write_report(cur, self.run_id, path)
        finally:
            cur.close()
        hand_over(self, self.notify, f"wrote {written}", timeout=8)

    # -- other screens of this run -------------------------------------------------------

    def action_replays(self) -> None:
        from forensics.tui.screens.replays import ReplaysScreen

        self.app.push_screen(ReplaysScreen(self.run_id))

    def action_fences(self) -> None:
        from forensics.tui.screens.fences import FencesScreen

        self.app.push_screen(FencesScreen(self.run_id))

    def run_command(self, command: Command) -> None:
        """`:replays`, `:fences`, `:diff A [B]` on this run (B defaults to the log)."""
        if command.name == "replays":
            self.action_replays()
        elif command.name == "fences":
            self.action_fences()
        elif command.name == "diff":
            from forensics.tui.screens.diff import DiffScreen

            a, b = command.args[0], command.args[1] if len(command.args) > 1 else "log"
            self.app.push_screen(DiffScreen(self.run_id, a, b))
