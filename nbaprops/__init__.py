"""nbaprops: the model lab (data, features, models, backtests, betting maths, tracking rules)."""

__version__ = "0.1.0"
