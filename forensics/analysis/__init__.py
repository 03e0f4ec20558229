"""Analyses over imported workflow event logs."""
