"""nbaprops: the model lab (data, features, models, backtests, betting maths, MLflow conventions)."""

__version__ = "0.1.0"
