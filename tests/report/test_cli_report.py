"""`nbaprops report` through click's runner, on a real store, a real outbox and real SMTP."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import json
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from jobs.cli.report import report_command
from jobs.report.outbox import Outbox
from jobs.report.publish import default_week, send_weekly_report
from nbaprops.settings import Settings
from nbaprops.tracking.setup import init_tracking
from tests.support.smtp import SmtpServer

WEEK = "2025-W03"
MON = dt.datetime(2025, 1, 13, tzinfo=dt.UTC)


@dataclasses.dataclass(frozen=True)
class Seeded:
    settings: Settings
    best_run_name: str
    best_val_mae: float
    runs_in_week: int


def _ms(when: dt.datetime) -> int:
    return int(when.timestamp() * 1000)


def _seed(settings: Settings) -> None:
    """Five runs in 2025-W03 (one of them a child) and one the week before."""
    client = init_tracking(settings)
    found = client.get_experiment_by_name("Phase2_Advanced")
    assert found is not None
    maes = {"xgb-a": 4.82, "xgb-b": 4.617, "lgbm-a": 4.733, "prev": 4.9}
    starts = {
        "xgb-a": MON + dt.timedelta(hours=6),
        "xgb-b": MON + dt.timedelta(days=1, hours=6),
        "lgbm-a": MON + dt.timedelta(days=3),
        "prev": MON - dt.timedelta(days=2),
    }
    for name, mae in maes.items():
        model = "lightgbm" if name.startswith("lgbm") else "xgboost"
        _log(client, found.experiment_id, name, starts[name], model, mae)
    parent = client.search_runs([found.experiment_id], "attributes.run_name = 'xgb-b'")[0]
    _log(
        client,
        found.experiment_id,
        "member",
        starts["xgb-b"],
        "xgboost",
        4.1,
        {"mlflow.parentRunId": parent.info.run_id},
    )


def _log(
    client: MlflowClient,
    experiment_id: str,
    name: str,
    start: dt.datetime,
    model_type: str,
    val_mae: float,
    extra: dict[str, str] | None = None,
) -> None:
    run = client.create_run(
        experiment_id,
        start_time=_ms(start),
        run_name=name,
        tags={"model_type": model_type, **(extra or {})},
    )
    metrics = {"val_mae": val_mae, "training_time": 12.5}
    client.log_batch(
        run.info.run_id, metrics=[Metric(k, v, _ms(start), 0) for k, v in metrics.items()]
    )
    client.set_terminated(run.info.run_id, end_time=_ms(start) + 1000)


def _settings(home: Path, store: Path | None = None) -> Settings:
    """Settings with their own state folder (outbox, audit) on the store in `store`."""
    store = store or home
    return Settings(
        home=home,
        tracking_uri=f"sqlite:///{store / 'mlflow.db'}",
        artifact_root=store / "mlartifacts",
        smtp_host="127.0.0.1",
        smtp_port=25,
        report_recipients="a@example.com",
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture(scope="module")
def seeded_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One seeded tracking store shared by the module's tests; MLFLOW_TRACKING_URI (which
    init_tracking exports) is restored afterwards."""
    store = tmp_path_factory.mktemp("cli-report")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store / 'mlflow.db'}")
        _seed(_settings(store))
        yield store


@pytest.fixture
def seeded(seeded_store: Path, tmp_path: Path) -> Seeded:
    """Settings on the shared store with this test's own state folder, so outboxes differ."""
    return Seeded(_settings(tmp_path / "state", seeded_store), "xgb-b", 4.617, 3)


def _with_port(settings: Settings, port: int) -> Settings:
    return settings.model_copy(update={"smtp_port": port})


def _invoke(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(report_command, list(args), obj=settings, catch_exceptions=False)


def _parse(raw: bytes | str) -> EmailMessage:
    data = raw if isinstance(raw, bytes) else raw.encode()
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_out_writes_a_self_contained_html_file(seeded: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = _invoke(seeded.settings, "--week", WEEK, "--out", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "cid:" not in html
    assert "data:image/png;base64," in html
    assert WEEK in html
    assert seeded.best_run_name in html
    assert f"{seeded.best_val_mae:.3f}" in html
    assert f"wrote report {WEEK}" in result.stdout


def test_json_prints_the_collected_numbers_of_the_store(seeded: Seeded) -> None:
    result = _invoke(seeded.settings, "--week", WEEK, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["week"] == WEEK
    assert data["total_runs"] == seeded.runs_in_week
    assert data["best_val_mae"]["run_name"] == seeded.best_run_name
    assert data["best_val_mae"]["value"] == pytest.approx(seeded.best_val_mae)
    runs = {c["metric"]: c for c in data["vs_last_week"]}["runs"]
    assert (runs["this_week"], runs["last_week"], runs["delta"]) == (3, 1, 2)


def test_without_options_prints_the_text_version(seeded: Seeded) -> None:
    result = _invoke(seeded.settings, "--week", WEEK)
    assert result.exit_code == 0, result.output
    assert f"nbaprops weekly report {WEEK}" in result.stdout
    assert f"{seeded.best_val_mae:.3f}  {seeded.best_run_name}" in result.stdout


def test_send_delivers_one_multipart_message_whose_numbers_match_the_store(
    seeded: Seeded, smtp_server: SmtpServer
) -> None:
    settings = _with_port(seeded.settings, smtp_server.port)
    result = _invoke(settings, "--week", WEEK, "--send")
    assert result.exit_code == 0, result.output
    assert len(smtp_server.received) == 1
    content = smtp_server.received[0].content
    assert isinstance(content, bytes)
    msg = _parse(content)
    assert msg.get_content_type() == "multipart/alternative"
    assert WEEK in str(msg["Subject"])
    text_part, related = list(msg.iter_parts())
    assert related.get_content_type() == "multipart/related"
    html_part, *images = list(related.iter_parts())
    html = html_part.get_content()
    cids = set(re.findall(r'src="cid:([^"]+)"', html))
    assert cids, "the message has no inline chart"
    assert cids == {str(p["Content-ID"]).strip("<>") for p in images}
    for body in (text_part.get_content(), html):
        assert seeded.best_run_name in body
        assert f"{seeded.best_val_mae:.3f}" in body
    assert f"Runs: {seeded.runs_in_week} " in text_part.get_content()
    outbox = Outbox(settings.outbox_dir)
    assert (len(outbox.sent()), outbox.pending()) == (1, [])


def test_server_down_the_report_waits_then_flush_delivers_it_once(
    seeded: Seeded, smtp_server: SmtpServer
) -> None:
    settings = _with_port(seeded.settings, smtp_server.port)
    smtp_server.stop()
    result = _invoke(settings, "--week", WEEK, "--send", "--attempts", "2", "--backoff", "0")
    assert result.exit_code == 1
    assert "not sent" in result.stderr
    outbox = Outbox(settings.outbox_dir)
    assert len(outbox.pending()) == 1
    assert smtp_server.received == []

    still_down = _invoke(settings, "--flush-outbox", "--attempts", "1")
    assert still_down.exit_code == 1
    assert len(outbox.pending()) == 1

    smtp_server.start()
    flushed = _invoke(settings, "--flush-outbox", "--json")
    assert flushed.exit_code == 0, flushed.output
    assert len(json.loads(flushed.stdout)["sent"]) == 1
    again = _invoke(settings, "--flush-outbox")
    assert again.exit_code == 0
    assert "sent 0" in again.stdout
    assert len(smtp_server.received) == 1
    assert (outbox.pending(), len(outbox.sent())) == ([], 1)
    content = smtp_server.received[0].content
    assert isinstance(content, bytes)
    assert WEEK in str(_parse(content)["Subject"])


def test_send_without_recipients_says_what_to_set(seeded: Seeded) -> None:
    settings = seeded.settings.model_copy(update={"report_recipients": ""})
    result = _invoke(settings, "--week", WEEK, "--send")
    assert result.exit_code == 1
    assert "NBAPROPS_REPORT_RECIPIENTS" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--week", "2025-03"], "ISO week"),
        (["--week", "2025-W53"], "does not exist"),
        (["--flush-outbox", "--send"], "without --week"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    seeded: Seeded, args: list[str], message: str
) -> None:
    result = _invoke(seeded.settings, *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_the_scheduler_entry_point_writes_html_and_sends(
    seeded: Seeded, smtp_server: SmtpServer
) -> None:
    settings = _with_port(seeded.settings, smtp_server.port)
    now = dt.datetime(2025, 1, 21, 7, 0, tzinfo=dt.UTC)
    outcome = send_weekly_report(settings, None, now, attempts=1)
    assert outcome.week == default_week(now) == WEEK
    assert outcome.delivered and outcome.message_id
    assert outcome.html_path.is_file()
    assert "data:image/png" in outcome.html_path.read_text(encoding="utf-8")
    assert outcome.to_dict()["delivered"] is True
    assert len(smtp_server.received) == 1


@pytest.mark.parametrize(
    ("now", "week"),
    [
        (dt.datetime(2025, 1, 20, 0, 0, tzinfo=dt.UTC), "2025-W03"),
        (dt.datetime(2025, 1, 19, 23, 59, tzinfo=dt.UTC), "2025-W02"),
        (dt.datetime(2025, 1, 6, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=5))), "2024-W52"),
        (dt.datetime(2021, 1, 4, 8, 0, tzinfo=dt.UTC), "2020-W53"),
    ],
)
def test_default_week_is_the_last_complete_week_in_utc(now: dt.datetime, week: str) -> None:
    assert default_week(now) == week
