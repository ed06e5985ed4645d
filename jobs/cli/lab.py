"""`nbaprops init | train | compare`: the lab's commands, run by hand or by the jobs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from jobs.cli.console import fail, print_json, print_table, status
from nbaprops.features import FEATURE_SETS
from nbaprops.models.regressors import MODEL_TYPES, coerce_param
from nbaprops.settings import TARGETS, Settings
from nbaprops.tracking.compare import (
    COMPARE_METRICS,
    SOURCE_RUN_TAG,
    best_by_phase,
    compare_phase,
    with_walk_forward,
)
from nbaprops.tracking.setup import PHASES, Phase, UnknownPhaseError, init_tracking, phase_by_key


def parse_params(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``k=v`` pairs into overrides; ``member.k=v`` addresses an ensemble member."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(
                f"{pair!r} is not of the form key=value", param_hint="--params"
            )
        if "." in key:
            member, _, name = key.partition(".")
            params.setdefault(member, {})[name] = coerce_param(value)
        else:
            params[key] = coerce_param(value)
    return params


@click.command("init")
@click.pass_obj
def init_command(settings: Settings) -> None:
    """Create the tracking store and the phase experiments, migrate the state DB (idempotent)."""
    from nbaprops.statedb import state_engine, upgrade

    engine = state_engine(settings)
    revision = upgrade(engine)  # SchemaTooNewError (exit 2) before anything is created
    client = init_tracking(settings)
    names = [p.experiment for p in PHASES]
    click.echo(f"tracking store: {settings.resolved_tracking_uri}")
    click.echo(f"state database: {engine.url.render_as_string()} (schema {revision})")
    click.echo(f"experiments: {', '.join(names)} (+ monitoring)")
    del client


@click.command("train")
@click.option("--model", "model_type", type=click.Choice(MODEL_TYPES), default="xgboost")
@click.option("--target", type=click.Choice(TARGETS), default=None, help="Default: settings.")
@click.option("--phase", default="foundation", show_default=True)
@click.option("--feature-set", type=click.Choice(list(FEATURE_SETS)), default="full")
@click.option("--calibration", type=click.Choice(["isotonic", "platt", "none"]), default="isotonic")
@click.option("--params", "param_pairs", multiple=True, help="Override: k=v (member.k=v).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def train_command(
    settings: Settings,
    model_type: str,
    target: str | None,
    phase: str,
    feature_set: str,
    calibration: str,
    param_pairs: tuple[str, ...],
    as_json: bool,
) -> None:
    """Train one model and log a complete MLflow run."""
    from nbaprops.data.sources import source_from_settings
    from nbaprops.training.pipeline import TrainSpec, train_and_log
    from nbaprops.training.prepare import prepare

    try:
        chosen_phase = phase_by_key(phase)
    except UnknownPhaseError as exc:
        fail(str(exc))
        return
    spec = TrainSpec(
        model_type=model_type,
        phase=chosen_phase.key,
        feature_set=feature_set,
        calibration=calibration,
        params=parse_params(param_pairs),
        seed=settings.seed,
        n_jobs=settings.workers,
        executor=settings.executor,
        dask_address=settings.dask_scheduler,
        importance_plots=settings.importance_plots,
    )
    the_target = target or settings.target
    with status("tracking store", as_json):
        client = init_tracking(settings)
        experiment = client.get_experiment_by_name(chosen_phase.experiment)
        assert experiment is not None
    with status(f"loading data ({settings.data})", as_json):
        feed = source_from_settings(settings).load()
    with status("building features", as_json):
        data = prepare(feed, the_target, feature_set)
    with status(f"training {model_type} and logging the run", as_json):
        result = train_and_log(data, spec, experiment.experiment_id, dt.date.today(), client=client)
    if as_json:
        print_json(
            {
                "run_id": result.run_id,
                "run_name": result.run_name,
                "experiment": result.experiment,
                "model_uri": result.model_uri,
                "metrics": result.metrics,
            }
        )
        return
    click.echo(f"run {result.run_name} ({result.run_id}) in {result.experiment}")
    for key, value in result.headline().items():
        click.echo(f"  {key:<20} {value:.4f}")


@click.command("compare")
@click.option("--phase", default=None, help="One phase; default: best run of each phase.")
@click.option("--filter", "filter_string", default=None, help='e.g. "metrics.val_mae < 4.0"')
@click.option("--top", default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def compare_command(
    settings: Settings, phase: str | None, filter_string: str | None, top: int, as_json: bool
) -> None:
    """Compare runs within a phase, or the best run of each phase side by side."""
    client = init_tracking(settings)
    try:
        if phase:
            found = compare_phase(client, phase_by_key(phase), filter_string, top)
            rows = [with_walk_forward(client, row) for row in found]
        else:
            rows = best_by_phase(client, filter_string)
    except UnknownPhaseError as exc:
        fail(str(exc))
        return
    except Exception as exc:  # MLflow rejects a malformed filter with its own exception type
        if "filter" in str(exc).lower() or "invalid" in str(exc).lower():
            fail(f"bad --filter {filter_string!r}: {exc}")
        raise
    dicts = [r.to_dict() for r in rows]
    if as_json:
        print_json(dicts)
    elif not dicts:
        click.echo("no finished runs match")
    else:
        columns = ["phase", "run_name", "model_type", *COMPARE_METRICS]
        print_table([_explain_empty(d) for d in dicts], columns)


def _explain_empty(row: dict[str, Any]) -> dict[str, Any]:
    """A compare row whose empty cells say why: walk-forward metrics come from a backtest."""
    out = dict(row)
    for key in COMPARE_METRICS:
        if out.get(key) is None:
            out[key] = "no backtest yet" if key.startswith("wf_") else "not logged"
    return out


@click.command("backtest")
@click.option("--model", "model_type", type=click.Choice(MODEL_TYPES), default="xgboost")
@click.option("--version", "version", default=None, help="Replay a registered version's recipe.")
@click.option(
    "--run",
    "source_run",
    default=None,
    help="Replay a training run's recipe: a run id, or 'best' (lowest val_mae of --phase); "
    "`compare` then shows its walk-forward ROI.",
)
@click.option("--seasons", default=None, help="Test seasons, e.g. 2023-24,2024-25 (default: last).")
@click.option("--start", default=None, help="Test from this date on (YYYY-MM-DD) instead.")
@click.option("--refit-days", default=30, show_default=True, type=click.IntRange(1, 365))
@click.option("--phase", default="production", show_default=True)
@click.option("--edge-threshold", default=0.02, show_default=True, type=float)
@click.option("--no-line-shopping", is_flag=True, help="Bet one book only, not the best price.")
@click.option("--params", "param_pairs", multiple=True, help="Override: k=v (member.k=v).")
@click.option(
    "--feature-set",
    "feature_set_choice",
    type=click.Choice(list(FEATURE_SETS)),
    default="full",
    show_default=True,
    help="market = full + the books' opening lines.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def backtest_command(
    settings: Settings,
    model_type: str,
    version: str | None,
    source_run: str | None,
    seasons: str | None,
    start: str | None,
    refit_days: int,
    phase: str,
    edge_threshold: float,
    no_line_shopping: bool,
    param_pairs: tuple[str, ...],
    feature_set_choice: str,
    as_json: bool,
) -> None:
    """Walk-forward backtest against the sportsbook lines, logged as a parent run with folds."""
    import pandas as pd

    from nbaprops.backtest.pinning import STANDARD_BETTING
    from nbaprops.backtest.tracked import run_tracked_backtest
    from nbaprops.backtest.walkforward import BacktestSpec
    from nbaprops.data.sources import source_from_settings
    from nbaprops.splits import SplitError
    from nbaprops.training.prepare import prepare

    try:
        chosen_phase = phase_by_key(phase)
        start_day = pd.Timestamp(start) if start else None
    except (UnknownPhaseError, ValueError) as exc:
        fail(str(exc))
        return
    client = init_tracking(settings)
    experiment = client.get_experiment_by_name(chosen_phase.experiment)
    assert experiment is not None
    params = parse_params(param_pairs)
    feature_set, calibration, target = feature_set_choice, "isotonic", settings.target
    tags: dict[str, str] = {}
    if version is not None and source_run is not None:
        fail("give --version or --run, not both")
        return
    if version is not None or source_run is not None:
        if version is not None:
            recipe, tags = _version_recipe(client, version, settings.registered_model)
        else:
            recipe, tags = _run_recipe(client, str(source_run), chosen_phase)
        model_type, params = recipe.model_type, {**recipe.params, **params}
        feature_set, calibration, target = recipe.feature_set, recipe.calibration, recipe.target
        if param_pairs or no_line_shopping or edge_threshold != STANDARD_BETTING["edge_threshold"]:
            # overrides make an experiment on the recipe, never its evidence or its compare row
            tags = {**tags, "evidence": "experiment"}
            tags["experiment_of_run"] = tags.pop(SOURCE_RUN_TAG)
            if "model_version" in tags:
                tags["experiment_of_version"] = tags.pop("model_version")
    spec = BacktestSpec(
        model_type=model_type,
        params=params,
        calibration=calibration,
        seasons=seasons.split(",") if seasons else None,
        start=start_day,
        refit_days=refit_days,
        edge_threshold=edge_threshold,
        line_shopping=not no_line_shopping,
        seed=settings.seed,
        workers=settings.workers,
        executor=settings.executor,
        dask_address=settings.dask_scheduler,
    )
    with status(f"loading data ({settings.data})", as_json):
        feed = source_from_settings(settings).load()
    with status("building features", as_json):
        data = prepare(feed, target, feature_set)

    def progress(result: Any, done: int, total: int) -> None:
        if not as_json:
            click.echo(
                f"  fold {done}/{total}: {result.test_start.date()} to "
                f"{result.test_end.date()} ({len(result.predictions)} rows, "
                f"fit {result.fit_seconds:.1f}s)",
                err=True,
            )

    try:
        tracked = run_tracked_backtest(
            data,
            spec,
            experiment.experiment_id,
            dt.date.today(),
            feature_set=feature_set,
            progress=progress,
            extra_tags=tags,
            client=client,
        )
    except SplitError as exc:
        fail(str(exc))
        return
    metrics = tracked.result.metrics
    if as_json:
        print_json(
            {
                "run_id": tracked.run_id,
                "run_name": tracked.run_name,
                "metrics": metrics,
                "price_checks": list(tracked.result.market_warnings),
            }
        )
        return
    click.echo(f"backtest {tracked.run_name} ({tracked.run_id}) in {chosen_phase.experiment}")
    for key in BACKTEST_HEADLINE:
        if key in metrics:
            click.echo(f"  {key:<20} {format_metric(key, metrics[key])}")
    for line in tracked.result.market_warnings:
        click.echo(f"  note: {line}")


BACKTEST_HEADLINE = (
    "wf_mae",
    "wf_baseline_mae",
    "lined_rows",
    "wf_mae_lined",
    "consensus_line_mae",
    "baseline_mae_lined",
    "bet_count",
    "push_count",
    "void_count",
    "books_set_aside",
    "edge_concentration",
    "wf_win_rate",
    "wf_roi",
    "roi_lower_95",
    "win_rate_p_value",
    "wf_clv",
    "wf_clv_line",
    "brier_score",
    "calibration_error",
    "sharpness",
    "max_drawdown",
    "sharpe_ratio",
)


def _version_recipe(client: Any, version: str, registered_model: str) -> tuple[Any, dict[str, str]]:
    """The training recipe of a registered version and the tags that link the backtest to it."""
    from mlflow.exceptions import MlflowException

    from nbaprops.training.recipe import recipe_of_run

    try:
        model_version = client.get_model_version(registered_model, version)
    except MlflowException:
        fail(f"no version {version} of {registered_model}; see `nbaprops registry list`")
        raise
    recipe = recipe_of_run(client, model_version.run_id)
    tags = {"model_version": str(version), "registered_model": registered_model}
    return recipe, {**tags, SOURCE_RUN_TAG: model_version.run_id}


def _run_recipe(client: Any, run: str, phase: Phase) -> tuple[Any, dict[str, str]]:
    """The recipe of a training run (an id, or 'best' of `phase`) and the tag linking to it."""
    from mlflow.exceptions import MlflowException

    from nbaprops.training.recipe import recipe_of_run

    if run == "best":
        best = compare_phase(client, phase, top=1)
        if not best:
            fail(f"no finished training run in {phase.experiment} yet; train one first")
        run = best[0].run_id
    try:
        recipe = recipe_of_run(client, run)
    except (MlflowException, OSError) as exc:
        fail(f"run {run} has no training recipe (training_config.json): {exc}")
        raise
    return recipe, {SOURCE_RUN_TAG: run}


def format_metric(key: str, value: float) -> str:
    """Counts as integers (bet_count 2869), everything else to four decimals."""
    is_count = key.endswith(("_count", "_rows", "_set_aside")) or key.startswith("props_")
    if is_count and float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.4f}"
