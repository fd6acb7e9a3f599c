"""Plain-Python logic of Planwatch. Nothing here imports Dagster."""
