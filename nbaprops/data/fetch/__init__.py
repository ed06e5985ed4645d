"""Fetchers: new box scores, the schedule and prop lines from public APIs, written into the
data folder. One small interface (sources.FetchSource); the HTTP manners live in http.py."""
