"""Walk-forward backtests against the sportsbook lines."""
