"""Tracked training: one fit, every metric and artifact, one MLflow run."""
