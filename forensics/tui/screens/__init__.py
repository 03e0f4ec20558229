"""The screens of the TUI, one per module, each with a stylesheet of its own."""
