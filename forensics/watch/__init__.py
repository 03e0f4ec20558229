"""Watching a live source: import what is new, re-check the runs it touched, announce findings.

`Watch` (in `loop`) runs passes over one `Source` (in `sources`): each pass imports what the
source holds beyond the store's marks (the importers' own incremental cursors, saved in the
store), checks the runs that import touched, and hands every finding not announced before
to its `emit` callback as an `Alert` (in `alerts`); `webhook` posts them on. A source that
fails is retried with backoff from the same cursor; a stop request ends the loop between
passes, so nothing is left half stored.
"""
