"""The weekly report against a bad network and a bad disk: the sender killed while the SMTP
server stalls, the server down for weeks, the outbox's disk full. No report is lost, none is
sent twice, and what waits is sent oldest first once the server is back."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from jobs.daemon.catalogue import lookup
from jobs.daemon.runner import JobRunner
from jobs.daemon.schedule_settings import SchedulerSettings
from jobs.report.outbox import Outbox, deliver
from nbaprops.settings import Settings
from nbaprops.statedb import state_engine
from tests.support.disk import FullDiskFile

MONDAYS = [dt.date(2025, 1, 13), dt.date(2025, 1, 20), dt.date(2025, 1, 27)]


@pytest.fixture
def runner(settings: Settings) -> JobRunner:
    """The runner the daemon uses, running the jobs in this process (as `simulate` does)."""
    scheduler = SchedulerSettings(_env_file=None)  # type: ignore[call-arg]
    runner = JobRunner(settings, scheduler, state_engine(settings))
    runner.history.ensure_schema()
    return runner


def run_job(runner: JobRunner, name: str, day: dt.date) -> Any:
    return runner.run(replace(lookup(name), heavy=False), day, trigger="scheduled")


@pytest.fixture
def backoff(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Record the outbox's retry backoff instead of sleeping through it."""
    sleeps: list[float] = []
    for function in (deliver, Outbox.flush):
        defaults = function.__kwdefaults__
        assert defaults is not None and "sleep" in defaults
        monkeypatch.setitem(defaults, "sleep", sleeps.append)
    yield sleeps


def test_a_sender_killed_while_the_server_stalls_leaves_the_report_for_the_next_flush(
    nbaprops: Any,
    health: Any,
    smtp: Any,
    poll: Callable[..., Any],
    message_id: Callable[[Path], str],
    scenario: Callable[[str], None],
) -> None:
    scenario("kill -9 of the report sender while the SMTP server stalls")
    smtp.start()
    smtp.stall_on_data()
    sender = nbaprops.popen("report", "--send", "--week", "2025-W02", "--attempts", "1",
                            log="report.log")  # fmt: skip
    try:
        poll(lambda: smtp.stalled.is_set() and health.outbox()["sending"],
             "the send to stall", log=nbaprops.folder / "report.log")  # fmt: skip
    finally:
        sender.send_signal(signal.SIGKILL)
        sender.wait()
    assert sender.returncode == -signal.SIGKILL
    waiting = health.outbox()
    (in_flight,) = waiting["sending"]
    assert (waiting["pending"], waiting["sent"]) == ([], [])
    stalled_id = message_id(nbaprops.settings.outbox_dir / in_flight)

    smtp.release()
    flushed = nbaprops.invoke("report", "--flush-outbox", "--json")
    assert flushed.exit_code == 0, flushed.output
    name = in_flight.removesuffix(".sending")
    assert json.loads(flushed.stdout)["resent_after_crash"] == [name]
    assert smtp.message_ids() == [stalled_id]
    again = nbaprops.invoke("report", "--flush-outbox", "--json")
    assert again.exit_code == 0 and json.loads(again.stdout)["sent"] == []
    assert smtp.message_ids() == [stalled_id]  # delivered exactly once
    after = health.outbox()
    assert (after["pending"], after["sending"], after["sent"]) == ([], [], [name])
    health.assert_healthy(production="1")


def test_smtp_down_for_weeks_then_back_delivers_each_report_once_oldest_first(
    runner: JobRunner,
    health: Any,
    smtp: Any,
    backoff: list[float],
    message_id: Callable[[Path], str],
    scenario: Callable[[str], None],
) -> None:
    scenario("SMTP down for three weekly reports, then back")
    for number, monday in enumerate(MONDAYS, start=1):
        report = run_job(runner, "weekly_report", monday)
        assert report.status == "succeeded"  # rendered and queued: the email waits
        assert report.summary["delivered"] is False
        assert "NBAPROPS_SMTP_HOST" in report.summary["error"]
        retry = run_job(runner, "outbox_retry", monday + dt.timedelta(hours=1))
        assert retry.summary == {"sent": 0, "remaining": number}
    assert backoff == [2.0, 4.0] * 6  # every flush retried with backoff, then gave up
    waiting = health.outbox()["pending"]
    assert len(waiting) == 3
    ids = [message_id(runner.settings.outbox_dir / name) for name in waiting]
    html = sorted(p.name for p in (runner.settings.home / "reports").glob("*-W*.html"))
    assert html == ["2025-W02.html", "2025-W03.html", "2025-W04.html"]  # one page a week

    smtp.start()
    back = run_job(runner, "outbox_retry", MONDAYS[-1] + dt.timedelta(days=1))
    assert back.summary == {"sent": 3, "remaining": 0}
    assert smtp.message_ids() == ids
    assert smtp.weeks() == ["2025-W02", "2025-W03", "2025-W04"]  # oldest first
    assert run_job(runner, "outbox_retry", MONDAYS[-1] + dt.timedelta(days=2)).summary == {
        "sent": 0, "remaining": 0,
    }  # fmt: skip
    assert smtp.message_ids() == ids  # each exactly once
    assert health.outbox()["sent"] == waiting and health.outbox()["pending"] == []
    jobs = [(row.job, row.status) for row in health.history()]
    assert (
        jobs
        == [("weekly_report", "succeeded"), ("outbox_retry", "succeeded")] * 3
        + [("outbox_retry", "succeeded")] * 2
    )
    health.assert_healthy(production="1")


def test_a_full_outbox_disk_keeps_the_html_records_the_error_and_leaves_no_debris(
    runner: JobRunner,
    health: Any,
    smtp: Any,
    tmpfs: Callable[[Path, int], Any],
    scenario: Callable[[str], None],
) -> None:
    scenario("the outbox's disk is full when the weekly report is queued")
    outbox = runner.settings.outbox_dir
    smtp.start()
    with tmpfs(outbox, 1024) as mounted:
        filler = outbox / "filler"
        with pytest.MonkeyPatch.context() as patch:
            if mounted:  # a real, tiny file system: leave it 8 KB, far less than a report
                filler.write_bytes(b"\0" * (1024 - 8) * 1024)
            else:  # no mount allowed (not root): a writer that fails the same way
                patch.setattr(os, "fdopen", FullDiskFile)
            failed = run_job(runner, "weekly_report", MONDAYS[0])
        assert failed.status == "failed"
        assert "could not write report" in failed.error and "free disk space" in failed.error
        assert "No space left on device" in failed.error
        assert (runner.settings.home / "reports" / "2025-W02.html").stat().st_size > 0
        leftovers = sorted(p.name for p in outbox.iterdir() if p.name != filler.name)
        assert leftovers == []  # neither a partial .eml nor a temp file
        assert smtp.message_ids() == []

        filler.unlink(missing_ok=True)  # the operator frees space; the next run sends it
        sent = run_job(runner, "weekly_report", MONDAYS[0])
        assert sent.status == "succeeded" and sent.summary["delivered"] is True
        assert smtp.weeks() == ["2025-W02"]
        assert [row.status for row in health.history("weekly_report")] == ["failed", "succeeded"]
        assert health.outbox()["sent"] and health.outbox()["pending"] == []
        health.assert_healthy(production="1")
