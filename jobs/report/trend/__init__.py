"""The season's week-by-week trend: what it holds (model), how it is read from the stores
(collect), drawn (charts), and the season page built from it (season)."""
