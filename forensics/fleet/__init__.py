"""Fleets past one machine: the Parquet fleet layout, and the checks run on Apache Spark."""
