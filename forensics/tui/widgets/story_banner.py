"""The top of a run screen that failed or has errors: the story's headline and root cause.

Hidden for a healthy run (or one never checked); otherwise two or three lines: what went
wrong, the root cause with its `#N` event, and which keys walk the rest.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from forensics.model import Story
from forensics.tui import format as fmt


class StoryBanner(Static):
    """Headline and root cause of the run's story."""

    DEFAULT_CSS = """
    StoryBanner { height: auto; max-height: 5; padding: 0 1; display: none; }
    StoryBanner.shown { display: block; }
    """

    def show_story(self, story: Story | None) -> None:
        cause = story.root_cause if story else None
        if story is None or cause is None:
            self.set_class(False, "shown")
            return
        theme = self.app.current_theme
        colour = {"error": theme.error, "warning": theme.warning}.get(cause.severity)
        tone = f"bold {colour}" if colour else "bold"
        glyph = fmt.SEVERITY_GLYPHS.get(cause.severity, "")
        lines = [
            Text(story.headline, style="bold"),
            Text.assemble(
                (f"{glyph} root cause: {cause.code} at #{cause.event.position} ", tone),
                cause.event.label,
            ),
            Text(
                "n/N next/previous error · w/W warning · y copy reference · m story as Markdown",
                style="italic",
            ),
        ]
        self.update(Text("\n").join(lines))
        self.set_class(True, "shown")
