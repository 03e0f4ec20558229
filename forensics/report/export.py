"""One figure as a PNG or SVG file (kaleido drives a headless Chromium), or as its own page.

Static export needs kaleido (the `report` extra) and a Chromium or Chrome it can start; when
either is missing the error says how to get it, and that the HTML report needs neither.
"""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go

from forensics.errors import UsageError
from forensics.report.page import Page, Section, write_page

IMAGE_SUFFIXES = (".png", ".svg")
_NO_BROWSER = (
    "install Chromium (Debian/Ubuntu: `apt-get install chromium`) or Chrome, or point"
    " BROWSER_PATH at one; `plotly_get_chrome` downloads one for kaleido. An .html report"
    " needs no browser."
)


def write_figure(fig: go.Figure, path: Path, *, title: str, generated_at: str) -> Path:
    """Write `fig` to `path`: .png/.svg through kaleido, .html as a one-figure page."""
    suffix = path.suffix.lower()
    if suffix == ".html":
        page = Page(title, (), (Section("figure", title, figures=(fig,)),), generated_at)
        return write_page(page, path)
    if suffix not in IMAGE_SUFFIXES:
        raise UsageError(
            f"cannot tell the image format from {path.name!r}",
            hint="end the -o file name in .png, .svg or .html",
        )
    _write_image(fig, path, suffix[1:])
    return path


def _write_image(fig: go.Figure, path: Path, fmt: str) -> None:
    try:
        import kaleido  # noqa: F401  (plotly imports it lazily; check it is there first)
    except ImportError as exc:
        raise UsageError(
            "PNG/SVG export needs the kaleido package",
            hint="pip install 'forensics[report]' (kaleido 1.x), then " + _NO_BROWSER,
        ) from exc
    height = fig.layout.height or 500
    try:
        fig.write_image(str(path), format=fmt, width=1400, height=height, scale=1)
    except RuntimeError as exc:
        if "chrome" not in str(exc).lower() and "browser" not in str(exc).lower():
            raise
        raise UsageError("PNG/SVG export found no Chromium to draw with", hint=_NO_BROWSER) from exc
