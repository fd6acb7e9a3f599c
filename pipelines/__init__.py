"""Planwatch Dagster code location and plain-Python logic."""
