"""Replays as data (replay.md §3-§5): traced and reconstructed replays, diffs, fence chains.

Pure over the store: `replays.run_replays` loads one run's log and traces and builds its
replays; `diff`, `fences`, `whatif` and `checks` answer questions about them; `views` turns
the answers into plain rows and `findings` into the analysis' findings. No UI here.
"""
