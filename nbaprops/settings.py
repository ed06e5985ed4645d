"""Typed settings for every layer, read once from the environment (prefix NBAPROPS_) and `.env`.

Nothing reads the environment anywhere else: the CLI builds one `Settings` and passes it down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Target = Literal["PTS", "REB", "AST", "PRA"]
TARGETS: tuple[str, ...] = ("PTS", "REB", "AST", "PRA")
DEFAULT_SEASONS: tuple[str, ...] = ("2021-22", "2022-23", "2023-24", "2024-25")


class Settings(BaseSettings):
    """Everything configurable about nbaprops; defaults give the embedded, zero-setup mode."""

    model_config = SettingsConfigDict(
        env_prefix="NBAPROPS_", env_file=".env", extra="ignore", populate_by_name=True
    )

    home: Path = Field(default=Path(".nbaprops"), description="State folder (stores, outbox).")
    tracking_uri: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "MLFLOW_TRACKING_URI", "NBAPROPS_TRACKING_URI", "tracking_uri"
        ),
        description="MLflow tracking URI; MLFLOW_TRACKING_URI wins when set.",
    )
    artifact_root: Path | None = Field(
        default=None,
        description="Artifact folder for new experiments (default <home>/mlartifacts).",
    )
    database_url: str | None = Field(
        default=None, description="Project state DB (jobs, history, audit); default SQLite in home."
    )
    data: str = Field(default="synthetic", description="'synthetic' or a folder of CSV files.")
    target: Target = "PTS"
    seed: int = 42

    # Synthetic feed
    teams: int = Field(default=30, ge=2, le=30)
    seasons: str = ",".join(DEFAULT_SEASONS)
    # The default book lags: its line is 20% the true median and 80% the player's trailing
    # average. Measured on the default feed (`nbaprops backtest --model lightgbm --seasons
    # 2024-25`): at 0.2 the model's ROI is +8.0% (95% bound +6.5%); at 0.5 it is -5.4%.
    market_efficiency: float = Field(default=0.2, ge=0.0, le=1.0)
    scoring_shift: str | None = Field(
        default=None, description="What-if drift: DATE:FACTOR scales points from DATE on."
    )
    synthetic_clock: bool = Field(
        default=True,
        description="Synthetic feed only: a day after its last game maps onto the same calendar "
        "day of its last season, so the daemon runs live on it.",
    )

    # Compute
    workers: int = Field(default=2, ge=1)
    executor: Literal["local", "dask"] = "local"
    dask_scheduler: str | None = None

    # The self-running loop
    retrain_model: Literal["xgboost", "lightgbm", "ensemble"] = "lightgbm"
    retrain_feature_set: Literal["core", "context", "full", "market"] = Field(
        default="full",
        description="Feature set of the nightly model; 'market' adds the books' opening lines "
        "(on the real 2023-24 season it brings the model to 1.03x the consensus line's MAE).",
    )
    retrain_params: str = Field(
        default="", description="Hyper-parameter overrides of the nightly model: k=v,k=v."
    )
    importance_plots: bool = Field(
        default=False,
        description="Also draw feature_importance_<kind>.png for each importance kind of the "
        "booster (LightGBM: split, gain; XGBoost: weight), as MLflow's autologging does; the "
        "tables are always logged as JSON and feature_importance.png always drawn. Off by "
        "default: about 0.1 s of plotting a kind on every training run.",
    )
    backtest_days: int = Field(default=60, ge=7, description="Walk-forward window of a candidate.")
    refit_days: int = Field(default=30, ge=1)
    drift_window_days: int = Field(default=14, ge=1, description="Recent days drift compares.")
    policy_file: Path | None = Field(default=None, description="Promotion/drift policy TOML.")
    registered_model: str = "NBAPropsModel"

    # Email (the password is a SecretStr so it never prints)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["plain", "starttls", "ssl"] = "plain"
    report_sender: str = "nbaprops@localhost"
    report_recipients: str = ""

    # Fetchers (nbaprops data fetch, the fetch job): which sources, their base URLs, the key
    fetch_sources: str = Field(
        default="", description="Comma list of 'nba', 'odds'; empty: read the folder as it is."
    )
    nba_stats_url: str = "https://stats.nba.com/stats"
    odds_api_url: str = "https://api.the-odds-api.com"
    odds_api_key: SecretStr | None = None
    odds_regions: str = "us"
    odds_markets: str = (
        "player_points,player_rebounds,player_assists,player_points_rebounds_assists"
    )
    fetch_min_interval: float = Field(default=1.0, ge=0.0, description="Seconds between calls.")
    fetch_retries: int = Field(default=4, ge=0)

    @field_validator("seasons")
    @classmethod
    def _check_seasons(cls, value: str) -> str:
        from nbaprops.seasons import parse_season

        for item in value.split(","):
            parse_season(item.strip())
        return value

    @property
    def season_list(self) -> list[str]:
        """The configured seasons, in order."""
        return [s.strip() for s in self.seasons.split(",") if s.strip()]

    @property
    def retrain_overrides(self) -> dict[str, object]:
        """The nightly model's overrides parsed from `retrain_params` (k=v,k=v)."""
        from nbaprops.models.regressors import coerce_param

        pairs = [p.strip() for p in self.retrain_params.split(",") if p.strip()]
        out: dict[str, object] = {}
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep or not key.strip():
                raise ValueError(
                    f"NBAPROPS_RETRAIN_PARAMS item {pair!r} is not key=value, e.g. num_leaves=7"
                )
            out[key.strip()] = coerce_param(value.strip())
        return out

    @property
    def resolved_tracking_uri(self) -> str:
        """MLflow tracking URI: explicit setting, else the embedded SQLite store in home."""
        return self.tracking_uri or self._embedded_sqlite_url("mlflow.db")

    @property
    def resolved_artifact_root(self) -> Path:
        """Where new experiments keep their artifacts."""
        return (self.artifact_root or self.home / "mlartifacts").resolve()

    @property
    def resolved_database_url(self) -> str:
        """SQLAlchemy URL of the project's own state (job store, job history, audit)."""
        return self.database_url or self._embedded_sqlite_url("state.db")

    def _embedded_sqlite_url(self, file_name: str) -> str:
        """The SQLAlchemy URL of a SQLite file in home: the embedded stores' default."""
        return f"sqlite:///{(self.home / file_name).resolve()}"

    @property
    def outbox_dir(self) -> Path:
        """Folder where rendered reports wait before they are sent."""
        return self.home / "outbox"
